//! The gossipsub router's sans-IO core ([`hyphae_gossipsub::Router`]) fed its peers' RPCs.

use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Config, Direction, Event, Limits, Protocol, Publisher, Router, Validation, decode_frame,
};

/// The router's peers, one per protocol it speaks; a step names one by its index.
const PEERS: [(u32, Protocol); 4] = [
    (0, Protocol::MeshsubV1_2),
    (1, Protocol::MeshsubV1_1),
    (2, Protocol::MeshsubV1_0),
    (3, Protocol::Floodsub),
];
/// The topic the router joins before the first step.
pub(crate) const JOINED: &str = "blocks";

/// Bounds small enough that a fuzzer reaches them.
fn config() -> Config {
    Config {
        max_topics_per_peer: 4,
        max_idontwant_per_peer: 16,
        max_queued_rpcs_per_peer: 16,
        max_queued_events: 32,
        max_pending_validations: 8,
        async_validation: true,
        do_px: true,
        ..Config::default()
    }
}

/// A router joined to [`JOINED`] with four peers (meshsub 1.2, 1.1, 1.0 and floodsub), fed
/// a sequence of steps. Each step is a step byte and a framed RPC: the byte's low two bits
/// pick a peer, bits 2 and 3 the action:
///
/// - 0: the peer sends the RPC;
/// - 1: the peer sends the RPC, then the high four bits times 100 ms pass and a heartbeat
///   runs, our outbound RPCs left queued (a peer that does not read);
/// - 2: as 1, with our outbound RPCs sent;
/// - 3: the peer leaves and comes back (the RPC is read and dropped).
///
/// Messages awaiting validation are judged by their first data byte (accept, reject,
/// ignore, or left to time out). Checked after every step: what the router keeps per peer
/// (topics, IDONTWANTs, queued RPCs), its topics, its pending validations and its meshes
/// stay within the configured bounds.
pub fn gossipsub_router(data: &[u8]) {
    run(data);
}

/// Runs [`gossipsub_router`]'s steps; returns the router they leave and the messages it
/// delivered.
fn run(data: &[u8]) -> (Router<u32>, usize) {
    let config = config();
    let limits = Limits::default();
    let mut router: Router<u32> =
        Router::new(config.clone(), Publisher::anonymous(), 1).expect("valid config");
    let mut now = Instant::now();
    router.join(JOINED, now);
    for (peer, protocol) in PEERS {
        router.add_peer(peer, protocol, Direction::Inbound);
    }
    let mut rest = data;
    let mut delivered = 0;
    while let Some((&step, tail)) = rest.split_first() {
        let Ok(Some((decoded, used))) = decode_frame(tail, &limits) else {
            break;
        };
        rest = &tail[used..];
        let (peer, protocol) = PEERS[usize::from(step % 4)];
        let action = (step >> 2) & 3;
        if action == 3 {
            router.remove_peer(&peer, now);
            assert_eq!(router.dont_want_len(&peer), 0);
            assert_eq!(router.peer_topics(&peer).count(), 0);
            router.add_peer(peer, protocol, Direction::Outbound);
        } else {
            router.handle_rpc(&peer, decoded.rpc, now);
        }
        if action == 1 || action == 2 {
            now += Duration::from_millis(100 * u64::from(step >> 4));
            router.heartbeat(now);
        }
        if action != 1 {
            while router.poll_outbound().is_some() {}
        }
        delivered += judge(&mut router, now);
        check_bounds(&router, &config);
    }
    (router, delivered)
}

/// Gives a verdict on every message awaiting one, from its first data byte; returns how
/// many messages the router delivered.
fn judge(router: &mut Router<u32>, now: Instant) -> usize {
    let mut delivered = 0;
    while let Some(event) = router.poll_event() {
        let (id, message) = match event {
            Event::Validate { id, message, .. } => (id, message),
            Event::Message { .. } => {
                delivered += 1;
                continue;
            }
            _ => continue,
        };
        let verdict = match message.data.as_ref().and_then(|data| data.first()) {
            Some(byte) if byte % 4 == 0 => Validation::Reject,
            Some(byte) if byte % 4 == 1 => Validation::Ignore,
            Some(byte) if byte % 4 == 2 => continue, // left to time out
            _ => Validation::Accept,
        };
        router.report_validation(&id, verdict, now);
    }
    delivered
}

fn check_bounds(router: &Router<u32>, config: &Config) {
    for (peer, _) in PEERS {
        assert!(router.peer_topics(&peer).count() <= config.max_topics_per_peer);
        assert!(router.dont_want_len(&peer) <= config.max_idontwant_per_peer);
        assert!(router.queued_rpcs(&peer) <= config.max_queued_rpcs_per_peer);
    }
    assert!(router.pending_validations() <= config.max_pending_validations);
    // Our one topic, plus at most max_topics_per_peer per peer, in each of the three tables
    // (subscriptions, meshes, fanouts).
    assert!(router.topics_tracked() <= 3 * (1 + PEERS.len() * config.max_topics_per_peer));
    assert!(router.mesh_peers(JOINED).count() <= PEERS.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session seed must reach past the decoder: peers in the mesh, and the message
    /// judged acceptable delivered.
    #[test]
    fn the_session_seed_fills_the_mesh_and_delivers_a_message() {
        let session = crate::seeds::named("gossipsub_router", "session");
        let (router, delivered) = run(&session);
        assert!(router.mesh_peers(JOINED).count() >= 1);
        assert_eq!(delivered, 1);
    }
}
