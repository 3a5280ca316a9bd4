//! The attack suite: known attacks on libp2p nodes, each run for a bounded time against a
//! node on loopback while an honest peer keeps asking to be served.
//!
//! Every attack is a future that runs until dropped (dropping it aborts every task it
//! spawned) and counts what it sent in [`Counters`], so that a run shows it reached the node.
//! The attacks come from other implementations' advisories (issue 15, SPEC-NOTES-2 §4):
//!
//! - [`yamux`]: frames larger than the window, window credit overflow, streams never read,
//!   pings never read;
//! - [`sockets`]: slow and silent handshakes (held, or churned), frames trickled a byte at a
//!   time;
//! - [`flood`]: complete connections from many fresh identities, bloated identify pushes;
//! - [`quic`]: QUIC Initial packets from fresh connection ids, never followed up.
//!
//! [`probe`] is the honest peer and [`measure`] reads what the node spends.

pub mod flood;
pub mod measure;
pub mod probe;
pub mod quic;
pub mod sockets;
pub mod wire;
pub mod yamux;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyphae::{Multiaddr, PeerId};
use tokio::task::JoinSet;

pub use wire::Counters;

/// The node under attack.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its TCP listener.
    pub tcp: SocketAddr,
    /// Its QUIC listener.
    pub quic: SocketAddr,
    /// Its identity.
    pub peer: PeerId,
    /// The TCP address with `/p2p/<peer>`, as the honest peer dials it.
    pub tcp_addr: Multiaddr,
    /// The QUIC address with `/p2p/<peer>`.
    pub quic_addr: Multiaddr,
}

/// The attacks, in the order the suite runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Attack {
    /// Complete Noise + Yamux connections from thousands of fresh identities, held idle.
    IdentityFlood,
    /// Many streams opened with ping and identify requests whose answers are never read.
    StreamsNeverRead,
    /// Yamux pings and ping-protocol requests sent flat out, answers never read.
    UnreadPings,
    /// Yamux Data frames (with SYN) announcing more than the stream's receive window.
    YamuxOversizedSyn,
    /// Yamux Window Update frames whose credits overflow a 32-bit window.
    YamuxWindowOverflow,
    /// TCP sockets that send nothing, or a byte every two seconds, during the handshake.
    SlowHandshakes,
    /// The sockets of `slow-handshakes`, reconnecting at once whenever dropped.
    HandshakeChurn,
    /// Secured connections sending their Yamux frames one byte per Noise record.
    Trickle,
    /// Identify pushes listing thousands of protocols and addresses.
    IdentifyBloat,
    /// QUIC v1 Initial packets with a ClientHello from fresh connection ids, abandoned.
    QuicInitialFlood,
}

impl Attack {
    /// Every attack.
    pub const ALL: [Attack; 10] = [
        Attack::IdentityFlood,
        Attack::StreamsNeverRead,
        Attack::UnreadPings,
        Attack::YamuxOversizedSyn,
        Attack::YamuxWindowOverflow,
        Attack::SlowHandshakes,
        Attack::HandshakeChurn,
        Attack::Trickle,
        Attack::IdentifyBloat,
        Attack::QuicInitialFlood,
    ];

    /// The name on the command line and in the results.
    pub fn name(self) -> &'static str {
        match self {
            Attack::IdentityFlood => "identity-flood",
            Attack::StreamsNeverRead => "streams-never-read",
            Attack::UnreadPings => "unread-pings",
            Attack::YamuxOversizedSyn => "yamux-oversized-syn",
            Attack::YamuxWindowOverflow => "yamux-window-overflow",
            Attack::SlowHandshakes => "slow-handshakes",
            Attack::HandshakeChurn => "handshake-churn",
            Attack::Trickle => "trickle",
            Attack::IdentifyBloat => "identify-bloat",
            Attack::QuicInitialFlood => "quic-initial-flood",
        }
    }

    /// What the counters' `units` count for this attack.
    pub fn unit(self) -> &'static str {
        match self {
            Attack::IdentityFlood => "connections completed",
            Attack::StreamsNeverRead => "streams opened",
            Attack::UnreadPings => "pings sent",
            Attack::YamuxOversizedSyn => "oversized frames",
            Attack::YamuxWindowOverflow => "overflowing updates",
            Attack::SlowHandshakes | Attack::HandshakeChurn => "bytes dripped",
            Attack::Trickle => "one-byte records",
            Attack::IdentifyBloat => "bloated pushes",
            Attack::QuicInitialFlood => "Initial packets",
        }
    }

    /// The address the honest peer dials during this attack: QUIC for the QUIC attack (the
    /// transport under attack), TCP otherwise.
    pub fn honest_addr(self, target: &Target) -> Multiaddr {
        match self {
            Attack::QuicInitialFlood => target.quic_addr.clone(),
            _ => target.tcp_addr.clone(),
        }
    }

    /// Runs the attack on `target` until the returned future is dropped.
    pub async fn run(self, target: Target, counters: Arc<Counters>) {
        match self {
            Attack::IdentityFlood => flood::identity_flood(target, counters).await,
            Attack::StreamsNeverRead => yamux::streams_never_read(target, counters).await,
            Attack::UnreadPings => yamux::unread_pings(target, counters).await,
            Attack::YamuxOversizedSyn => yamux::oversized_syn(target, counters).await,
            Attack::YamuxWindowOverflow => yamux::window_overflow(target, counters).await,
            Attack::SlowHandshakes => sockets::slow_handshakes(target, counters).await,
            Attack::HandshakeChurn => sockets::handshake_churn(target, counters).await,
            Attack::Trickle => sockets::trickle(target, counters).await,
            Attack::IdentifyBloat => flood::identify_bloat(target, counters).await,
            Attack::QuicInitialFlood => quic::initial_flood(target, counters).await,
        }
    }
}

/// Runs `workers` copies of `work` until dropped, each starting again whenever its round
/// ends. Round `r` of worker `w` gets index `w + r * workers` (a fresh source address and
/// stream of work each round). A round that fails counts as cut off by the node; a short
/// pause after it keeps a refusing node from turning the loop into a spin.
pub async fn workers<F, Fut>(workers: u64, target: Target, counters: Arc<Counters>, work: F)
where
    F: Fn(u64, Target, Arc<Counters>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let work = Arc::new(work);
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let (work, target, counters) = (Arc::clone(&work), target.clone(), Arc::clone(&counters));
        tasks.spawn(async move {
            for round in 0.. {
                let index = worker + round * workers;
                if work(index, target.clone(), Arc::clone(&counters))
                    .await
                    .is_err()
                {
                    Counters::add(&counters.cut_off, 1);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}
