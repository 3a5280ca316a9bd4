//! The router's parameters and their defaults, in one place.
//!
//! The first group is named as the specs name them: gossipsub-v1.0.md, "Parameters", and
//! gossipsub-v1.1.md, "PRUNE Backoff and Peer Exchange", "Overview of New Parameters" and
//! "Spam Protection Measures". Where a spec asks for a limit but gives no value, the value is
//! go-libp2p-pubsub's (`gossipsub.go`, `GossipSub*`), which rust-libp2p shares and deployed
//! networks run. The second group is hyphae's own: hard caps on the router's bookkeeping, so
//! that no peer, nor many peers together, can grow it without bound.

use std::time::Duration;

/// Time between heartbeats (v1.0 "Parameters", `heartbeat_interval`).
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// Heartbeat windows the message cache keeps (v1.0 "Parameters", `mcache_len`); go-libp2p's
/// `GossipSubHistoryLength`.
pub const MCACHE_LEN: usize = 5;

/// Most recent windows whose ids go into IHAVE gossip (v1.0 "Parameters", `mcache_gossip`);
/// go-libp2p's `GossipSubHistoryGossip`.
pub const MCACHE_GOSSIP: usize = 3;

/// How long a message id counts as seen (v1.0 "Parameters", `seen_ttl`), as go-libp2p's
/// `TimeCacheDuration`. rust-libp2p defaults to 60 s; the longer time guards against
/// duplicates delayed by slow links.
pub const SEEN_TTL: Duration = Duration::from_secs(120);

/// How often one peer's IWANT for one message is answered (v1.1 "Spam Protection Measures"
/// asks for a limit); go-libp2p's `GossipSubGossipRetransmission`.
pub const GOSSIP_RETRANSMISSION: u32 = 3;

/// How long neither side of a PRUNE may GRAFT again (v1.1 "PRUNE Backoff and Peer
/// Exchange", `PruneBackoff`).
pub const PRUNE_BACKOFF: Duration = Duration::from_secs(60);

/// The backoff we ask for in the PRUNEs we send when leaving a topic, short so that we can
/// rejoin soon (v1.1 "Overview of New Parameters", `UnsubscribeBackoff`, added in r8).
pub const UNSUBSCRIBE_BACKOFF: Duration = Duration::from_secs(10);

/// Heartbeats we wait past a backoff before grafting again, so that a GRAFT sent as the
/// backoff ends does not reach a peer whose clock, or whose PRUNE's delivery, makes it
/// early (v1.1 "PRUNE Backoff and Peer Exchange": "plus some slack"; libp2p/specs#289).
/// go-libp2p waits 2 heartbeat intervals; rust-libp2p's `backoff_slack` is 1.
pub const BACKOFF_SLACK: u32 = 2;

/// Most IHAVEs taken from one peer per heartbeat; more are ignored (v1.1 "Spam Protection
/// Measures"); go-libp2p's `GossipSubMaxIHaveMessages`.
pub const MAX_IHAVE_MESSAGES: usize = 10;

/// Most message ids asked of one peer by IWANT per heartbeat (v1.1 "Spam Protection
/// Measures"); go-libp2p's `GossipSubMaxIHaveLength`.
pub const MAX_IHAVE_LENGTH: usize = 5000;

/// How long a peer has to deliver a message we asked it for by IWANT before the promise
/// its IHAVE made counts as broken (v1.1 "Spam Protection Measures"); go-libp2p's
/// `GossipSubIWantFollowupTime`.
pub const IWANT_FOLLOWUP_TIME: Duration = Duration::from_secs(3);

/// Most messages the message cache holds at once, the oldest leaving first.
///
/// Messages normally leave after [`MCACHE_LEN`] heartbeats; this caps a burst. 100 000 is
/// 20 000 messages a heartbeat, several times an Ethereum node's load.
pub const MAX_CACHED_MESSAGES: usize = 100_000;

/// Most message ids the seen cache holds, the oldest leaving first (before [`SEEN_TTL`]).
///
/// A message id costs about 150 bytes here with ids of 20 to 40 bytes (about 600 with the
/// 256-byte ids [`Limits`](crate::Limits) admits), so the cap is 150 MB at most for typical
/// ids. It holds [`SEEN_TTL`] of 8 000 messages a second; an id that leaves early may be
/// delivered again if it comes back.
pub const MAX_SEEN_MESSAGES: usize = 1_000_000;

/// Longest backoff we keep, whatever a PRUNE asks for.
///
/// `ControlPrune.backoff` is a u64 of seconds chosen by the peer; rust-libp2p before 0.49.4
/// turned a huge one into an `Instant` overflow and crashed (GHSA-gc42-3jg7-rxr2). One day
/// is far beyond any backoff an implementation sends (1 minute by default), so honest
/// requests are honoured, and an hour-long one still is (rust-libp2p now caps at 1 hour).
pub const MAX_BACKOFF: Duration = Duration::from_secs(24 * 60 * 60);

/// Most (topic, peer) backoffs held at once; a new one beyond it is not recorded.
///
/// Backoffs outlive connections, so that a peer cannot reset one by reconnecting; peers that
/// come and go under fresh ids could otherwise pile them up for [`MAX_BACKOFF`].
pub const MAX_BACKOFFS: usize = 100_000;
