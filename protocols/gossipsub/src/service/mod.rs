//! [`Gossipsub`]: the router as a node service. One task owns the [`Router`] and feeds it
//! RPCs from the peers' streams, connection events, the application's commands, verdicts
//! and heartbeats; each peer has a reader task, and a writer task draining its bounded
//! outbound queue ([`QueueLimits`]).
//!
//! Installed with `Node::builder().service(Gossipsub::new(Config::default()))` (the `hyphae`
//! crate), its [`Handle`] comes from `node.service::<Gossipsub>()`:
//!
//! ```no_run
//! async fn chat(gossip: hyphae_gossipsub::Handle) -> Result<(), Box<dyn std::error::Error>> {
//!     let mut room = gossip.subscribe("chat").await?;
//!     gossip.publish("chat", "hello").await?;
//!     while let Some(received) = room.next().await {
//!         println!("{}: {}", received.source, String::from_utf8_lossy(received.data()));
//!     }
//!     Ok(())
//! }
//! ```

mod driver;
mod handle;
mod links;
mod queue;
mod split;
mod streams;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use hyphae_identity::PeerId;
use hyphae_service::{Context, Service};
use tokio::sync::{mpsc, watch};
use tracing::warn;

pub use driver::{MESH_TAG, MESH_VALUE};
pub use handle::{Handle, Received, Stats, Subscription};
pub use queue::QueueLimits;

use crate::{
    Config, ConfigError, Limits, Message, MessageIdFn, PeerScore, PeerScoreParams,
    PeerScoreThresholds, Protocol, Publisher, Router, ScoreParamsError, SignaturePolicy,
    Validation, initial_seqno,
};

/// The application's judge of received messages: it answers [`Validation::Accept`],
/// [`Validation::Reject`] (the sender is penalised) or [`Validation::Ignore`], in its own
/// time, up to [`Config::validation_timeout`]; at most
/// [`Config::max_pending_validations`] messages wait for an answer.
///
/// Any `Fn(PeerId, Message) -> impl Future<Output = Validation>` is one:
/// `|_source, message| async move { Validation::Accept }`.
pub trait Validator: Send + Sync + 'static {
    /// Judges `message`, received from `source`.
    fn validate(
        &self,
        source: PeerId,
        message: Message,
    ) -> Pin<Box<dyn Future<Output = Validation> + Send>>;
}

impl<F, V> Validator for F
where
    F: Fn(PeerId, Message) -> V + Send + Sync + 'static,
    V: Future<Output = Validation> + Send + 'static,
{
    fn validate(
        &self,
        source: PeerId,
        message: Message,
    ) -> Pin<Box<dyn Future<Output = Validation> + Send>> {
        Box::pin(self(source, message))
    }
}

/// Why the service could not be configured as asked.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The router's configuration breaks a constraint.
    #[error("gossipsub configuration: {0}")]
    Config(#[from] ConfigError),
    /// The scoring parameters or thresholds break a constraint.
    #[error("gossipsub scoring: {0}")]
    Scoring(#[from] ScoreParamsError),
}

/// The gossipsub service: `Node::builder().service(Gossipsub::new(config))`.
///
/// By default messages are signed with the node's key and received ones must be
/// (`StrictSign`), ids are go-libp2p's (author ‖ seqno), every message is accepted, no
/// peer is scored, and peers are offered `/meshsub/1.2.0`, `1.1.0`, `1.0.0` and
/// `/floodsub/1.0.0`.
pub struct Gossipsub {
    config: Config,
    policy: SignaturePolicy,
    message_id_fn: Option<MessageIdFn>,
    scoring: Option<PeerScoreParams>,
    validator: Option<Arc<dyn Validator>>,
    queue: QueueLimits,
    limits: Limits,
    protocols: Vec<Protocol>,
    seed: Option<u64>,
}

impl std::fmt::Debug for Gossipsub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gossipsub")
            .field("config", &self.config)
            .field("policy", &self.policy)
            .field("scoring", &self.scoring.is_some())
            .field("validator", &self.validator.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Gossipsub {
    fn default() -> Gossipsub {
        Gossipsub::new(Config::default())
    }
}

impl Gossipsub {
    /// A service with the router configured by `config`.
    pub fn new(config: Config) -> Gossipsub {
        Gossipsub {
            config,
            policy: SignaturePolicy::StrictSign,
            message_id_fn: None,
            scoring: None,
            validator: None,
            queue: QueueLimits::default(),
            limits: Limits::default(),
            protocols: vec![
                Protocol::MeshsubV1_2,
                Protocol::MeshsubV1_1,
                Protocol::MeshsubV1_0,
                Protocol::Floodsub,
            ],
            seed: None,
        }
    }

    /// Signs our messages and demands signatures (`StrictSign`, the default), or neither
    /// (`StrictNoSign`: anonymous messages, as Ethereum's consensus network uses).
    pub fn signature_policy(mut self, policy: SignaturePolicy) -> Gossipsub {
        self.policy = policy;
        self
    }

    /// Computes message ids with `function` instead of the policy's default; every peer of
    /// a topic must use the same one.
    pub fn message_id_fn(mut self, function: MessageIdFn) -> Gossipsub {
        self.message_id_fn = Some(function);
        self
    }

    /// Scores peers with `params` and acts on `thresholds` (gossipsub-v1.1.md "Peer
    /// Scoring"); both are checked when the service starts ([`Gossipsub::check`]).
    pub fn scoring(
        mut self,
        params: PeerScoreParams,
        thresholds: PeerScoreThresholds,
    ) -> Gossipsub {
        self.config.gossip_threshold = thresholds.gossip_threshold;
        self.config.publish_threshold = thresholds.publish_threshold;
        self.config.graylist_threshold = thresholds.graylist_threshold;
        self.config.opportunistic_graft_threshold = thresholds.opportunistic_graft_threshold;
        self.config.accept_px_threshold = thresholds.accept_px_threshold;
        self.scoring = Some(params);
        self
    }

    /// Judges every new message with `validator` before it is delivered and forwarded.
    pub fn validator(mut self, validator: impl Validator) -> Gossipsub {
        self.validator = Some(Arc::new(validator));
        self
    }

    /// Turns on peer exchange ([`Config::do_px`]): PRUNEs for want of room offer other peers
    /// of the topic (with their signed peer records where identify gave us one), and the
    /// peers offered by a peer scoring at least `accept_px_threshold` are dialled, a few at
    /// a time. Off by default, as in go-libp2p and rust-libp2p.
    pub fn peer_exchange(mut self, enabled: bool) -> Gossipsub {
        self.config.do_px = enabled;
        self
    }

    /// Delivers copies of messages already delivered to the subscriptions too, marked
    /// [`Received::is_duplicate`] (for measurements; applications want each message once).
    pub fn deliver_duplicates(mut self) -> Gossipsub {
        self.config.report_duplicates = true;
        self
    }

    /// Bounds each peer's outbound queue.
    pub fn queue_limits(mut self, limits: QueueLimits) -> Gossipsub {
        self.queue = limits;
        self
    }

    /// Reads and writes RPCs within `limits` (by default at most 1 MiB each, as go-libp2p;
    /// raise [`Limits::max_rpc_len`] with [`Config::max_transmit_size`] for larger messages).
    pub fn limits(mut self, limits: Limits) -> Gossipsub {
        self.limits = limits;
        self
    }

    /// Offers only `protocols` to peers, in order of preference (for tests and for networks
    /// that want no floodsub).
    pub fn protocols(mut self, protocols: impl IntoIterator<Item = Protocol>) -> Gossipsub {
        self.protocols = protocols.into_iter().collect();
        self
    }

    /// Seeds the router's random choices, for reproducible tests.
    pub fn seed(mut self, seed: u64) -> Gossipsub {
        self.seed = Some(seed);
        self
    }

    /// Checks the configuration and scoring parameters, as starting the service does (a
    /// service that fails them logs the error and serves nothing).
    pub fn check(&self) -> Result<(), SetupError> {
        self.config.validate()?;
        if let Some(params) = &self.scoring {
            params.validate()?;
        }
        let thresholds = PeerScoreThresholds {
            gossip_threshold: self.config.gossip_threshold,
            publish_threshold: self.config.publish_threshold,
            graylist_threshold: self.config.graylist_threshold,
            opportunistic_graft_threshold: self.config.opportunistic_graft_threshold,
            accept_px_threshold: self.config.accept_px_threshold,
        };
        thresholds.validate()?;
        Ok(())
    }

    fn router(mut self, cx: &Context) -> Result<(Router<PeerId>, driver::Setup), SetupError> {
        self.check()?;
        let now = tokio::time::Instant::now().into_std();
        let publisher = match self.policy {
            SignaturePolicy::StrictSign => {
                Publisher::signing(cx.keypair().clone(), initial_seqno(SystemTime::now()))
            }
            SignaturePolicy::StrictNoSign => Publisher::anonymous(),
        };
        self.config.async_validation = self.validator.is_some();
        let seed = self.seed.unwrap_or_else(|| seed_from(cx));
        let mut router = Router::new(self.config, publisher, seed)?;
        router.set_author_fn(|from| PeerId::from_bytes(from).ok());
        let peerstore = cx.clone();
        router.set_peer_info_fn(move |peer: &PeerId| {
            Some(crate::PeerInfo {
                peer_id: Some(peer.to_bytes()),
                signed_peer_record: peerstore
                    .peerstore()
                    .get(peer)
                    .and_then(|known| known.signed_peer_record),
            })
        });
        if let Some(function) = self.message_id_fn {
            router.set_message_id_fn(function);
        }
        if let Some(params) = self.scoring {
            router.set_score_source(PeerScore::<PeerId>::new(params, now)?);
        }
        let setup = driver::Setup {
            validator: self.validator,
            queue: self.queue,
            limits: self.limits,
            protocols: self.protocols,
        };
        Ok((router, setup))
    }
}

/// Random choices need no secrecy: the peer id and the clock are seed enough.
fn seed_from(cx: &Context) -> u64 {
    let id = cx.local_peer_id().to_bytes();
    let tail = id.len().saturating_sub(8);
    let mut bytes = [0u8; 8];
    for (slot, byte) in bytes.iter_mut().zip(&id[tail..]) {
        *slot = *byte;
    }
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    u64::from_le_bytes(bytes) ^ u64::from(nanos)
}

impl Service for Gossipsub {
    type Handle = Handle;

    fn start(self, cx: Context) -> Handle {
        let (commands, receiver) = mpsc::channel(handle::COMMAND_QUEUE);
        let (changes_tx, changes) = watch::channel(0);
        match self.router(&cx) {
            Ok((router, setup)) => {
                let (driver, inputs) = driver::Driver::new(cx.clone(), router, setup, changes_tx);
                cx.spawn(driver.run(receiver, inputs));
            }
            // The handle's calls then fail with `Stopped`.
            Err(error) => warn!(%error, "gossipsub not started"),
        }
        Handle::new(commands, changes)
    }
}
