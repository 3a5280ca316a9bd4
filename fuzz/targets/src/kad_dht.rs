//! The Kademlia node's sans-IO core ([`hyphae_kad::Dht`]) fed a peer's messages: requests it
//! serves, and answers to the lookups it runs.

use std::time::{Duration, Instant, SystemTime};

use hyphae_identity::{Keypair, PeerId};
use hyphae_kad::{
    AcceptAll, Config, Dht, Failure, Limits, MemoryStore, Mode, RequestId, StoreLimits,
    decode_frame, encode_frame,
};
use hyphae_multiaddr::Multiaddr;

/// Peers the node knows from the start; a step names one by its index.
const PEERS: u8 = 4;

/// What a step does with its message: the bits 2 and 3 of its step byte.
const SERVE: u8 = 0;
const ANSWER: u8 = 1;
const FAIL: u8 = 2;

/// Limits small enough that a fuzzer reaches them.
pub(crate) fn limits() -> Limits {
    Limits {
        max_message_len: 64 * 1024,
        max_peers: 8,
        max_addrs_per_peer: 4,
        max_addr_len: 256,
    }
}

fn store_limits() -> StoreLimits {
    StoreLimits {
        max_records: 8,
        max_provider_keys: 8,
        max_providers_per_key: 4,
        max_total_bytes: 64 * 1024,
        ..StoreLimits::default()
    }
}

/// The `index`th peer the node knows.
pub(crate) fn known_peer(index: u8) -> PeerId {
    Keypair::ed25519_from_secret(&[index.wrapping_add(100); 32]).peer_id()
}

/// A server-mode node that knows [`PEERS`] peers, runs a lookup of its own and stores
/// records of the `example` namespace, fed a sequence of steps. Each step is a step byte and
/// a framed message: the byte's low two bits pick a known peer, bits 2 and 3 the action:
///
/// - 0: the peer sends the message as a request; the answer must fit in a frame;
/// - 1: the message answers the oldest request the node has out (to any peer);
/// - 2: that request fails instead (the message is read and dropped);
/// - 3: the high four bits times 10 s pass and the node's timers run.
///
/// Checked after every step: the routing table and the store stay within their bounds.
pub fn kad_dht(data: &[u8]) {
    run(data);
}

/// Runs [`kad_dht`]'s steps; returns the node they leave and the peers it sent requests.
fn run(data: &[u8]) -> (Dht, Vec<PeerId>) {
    let limits = limits();
    let config = Config::default();
    let mut now = Instant::now();
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let local = Keypair::ed25519_from_secret(&[99; 32]).peer_id();
    let store = MemoryStore::new(store_limits());
    let mut dht = Dht::new(
        local,
        config.clone(),
        Mode::Server,
        Box::new(store),
        now,
        wall,
        1,
    );
    dht.validators_mut().insert("example", AcceptAll);
    for index in 0..PEERS {
        let addr: Multiaddr = format!("/ip4/192.0.2.{index}/tcp/4001")
            .parse()
            .expect("address");
        dht.add_peer(known_peer(index), vec![addr], now);
    }
    let _ = dht.get_closest_peers(b"target".to_vec(), now);
    let mut waiting: Vec<RequestId> = Vec::new();
    let mut asked = Vec::new();
    let mut rest = data;
    while let Some((&step, tail)) = rest.split_first() {
        let Ok(Some((message, used))) = decode_frame(tail, &limits) else {
            break;
        };
        rest = &tail[used..];
        let peer = known_peer(step % PEERS);
        match (step >> 2) & 3 {
            SERVE => {
                if let Ok(Some(answer)) = dht.handle_request(peer, message, now) {
                    encode_frame(&answer, &Limits::default()).expect("an answer fits a frame");
                }
            }
            ANSWER if !waiting.is_empty() => dht.handle_response(waiting.remove(0), message, now),
            FAIL if !waiting.is_empty() => {
                dht.handle_failure(waiting.remove(0), Failure::Invalid, now);
            }
            ANSWER | FAIL => {}
            _ => {
                now += Duration::from_secs(10 * u64::from(step >> 4));
                dht.handle_timeout(now);
            }
        }
        while let Some(transmit) = dht.poll_transmit() {
            asked.push(transmit.peer);
            if transmit.expects_response {
                waiting.push(transmit.request);
            } else {
                dht.handle_delivered(transmit.request, now);
            }
        }
        while dht.poll_event().is_some() {}
        assert!(dht.routing_table().len() <= 256 * config.k);
        assert!(dht.store().records().count() <= store_limits().max_records);
    }
    (dht, asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session seed must reach past the decoder: a record stored, and an answer that
    /// led the lookup to a peer it names.
    #[test]
    fn the_session_seed_stores_a_record_and_follows_an_answer() {
        let session = crate::seeds::named("kad_dht", "session");
        let (dht, asked) = run(&session);
        let key = b"/example/key".as_slice();
        assert!(dht.store().records().any(|record| record.key == key));
        let stranger = Keypair::ed25519_from_secret(&[42; 32]).peer_id();
        assert!(asked.contains(&stranger));
    }
}
