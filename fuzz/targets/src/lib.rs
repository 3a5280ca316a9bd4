//! The bodies of hyphae's fuzz targets: one function per decoder or sans-IO core that reads
//! peer input, each taking the raw bytes a fuzzer (or a corpus file) supplies.
//!
//! They live in a plain library so that they run on stable: the libFuzzer wrappers in
//! `fuzz/fuzz_targets/` (nightly, `cargo fuzz`) call them, and `tests/replay.rs` feeds them
//! every file under `fuzz/corpus/<target>/` in CI. A function panics only on a bug: a decoder
//! that panicked, or an invariant it broke (a round trip that changed the value, a bound
//! that was passed).

mod dns;
mod encoding;
mod gossipsub;
mod gossipsub_router;
mod identify;
mod identity;
mod kad;
mod kad_dht;
mod multiaddr;
mod multistream;
mod muxers;
mod noise;
mod request_response;
mod rng;
pub mod seeds;
mod socket;
mod tls;
mod websocket;

pub use dns::{DNS_NAME, dns_response};
pub use encoding::{frame, varint};
pub use gossipsub::gossipsub_rpc;
pub use gossipsub_router::gossipsub_router;
pub use identify::{identify, identify_peer};
pub use identity::{peer_id, peer_record, public_key, signed_envelope};
pub use kad::{ipns_record, kad_message};
pub use kad_dht::kad_dht;
pub use multiaddr::{multiaddr_binary, multiaddr_text};
pub use multistream::{multistream_dialer, multistream_listener};
pub use muxers::{mplex_session, yamux_session};
pub use noise::{noise_initiator, noise_payload, noise_responder, noise_transport};
pub use request_response::request_response;
pub use tls::tls_certificate;
pub use websocket::{websocket_frames, websocket_handshake};

/// A target: takes the raw input, panics only on a bug.
pub type Target = fn(&[u8]);

/// Every target by name: the name is its corpus directory and its `cargo fuzz` target.
pub const TARGETS: &[(&str, Target)] = &[
    ("varint", varint),
    ("frame", frame),
    ("multiaddr_text", multiaddr_text),
    ("multiaddr_binary", multiaddr_binary),
    ("peer_id", peer_id),
    ("public_key", public_key),
    ("signed_envelope", signed_envelope),
    ("peer_record", peer_record),
    ("multistream_dialer", multistream_dialer),
    ("multistream_listener", multistream_listener),
    ("noise_initiator", noise_initiator),
    ("noise_responder", noise_responder),
    ("noise_payload", noise_payload),
    ("noise_transport", noise_transport),
    ("yamux_session", yamux_session),
    ("mplex_session", mplex_session),
    ("tls_certificate", tls_certificate),
    ("websocket_frames", websocket_frames),
    ("websocket_handshake", websocket_handshake),
    ("dns_response", dns_response),
    ("identify", identify),
    ("kad_message", kad_message),
    ("kad_dht", kad_dht),
    ("ipns_record", ipns_record),
    ("gossipsub_rpc", gossipsub_rpc),
    ("gossipsub_router", gossipsub_router),
    ("request_response", request_response),
];

/// Splits `data` into the chunks a peer's writes might arrive in: the first byte picks the
/// chunk length (1 to 64), so a fuzzer explores both byte-at-a-time and bulk delivery.
pub(crate) fn chunked(data: &[u8]) -> (u8, std::slice::Chunks<'_, u8>) {
    match data.split_first() {
        Some((&control, rest)) => (control, rest.chunks(usize::from(control % 64) + 1)),
        None => (0, [].chunks(1)),
    }
}
