//! The libp2p Noise security handshake, protocol id `/noise`: mutual authentication of two
//! peers by their libp2p identity keys and an encrypted channel between them.
//!
//! Spec: `noise/README.md` (handshake, payload, wire format) and
//! `connections/inlined-muxer-negotiation.md` (stream muxer negotiated inside the
//! handshake), in the libp2p/specs repository; the cryptography is
//! `Noise_XX_25519_ChaChaPoly_SHA256` of the Noise Protocol Framework, revision 34.
//!
//! - [`upgrade_outbound`] / [`upgrade_inbound`] run the handshake over a tokio byte stream
//!   and return the peer's identity ([`Output`]) and a [`NoiseStream`] that encrypts what
//!   you write and decrypts what you read;
//! - [`Handshake`] is the same handshake as a sans-IO state machine (bytes in, bytes out,
//!   randomness passed in), and [`Encryptor`] / [`Decryptor`] the transport-phase ciphers,
//!   for other I/O models and for WebTransport / WebRTC, which use Noise only to
//!   authenticate.
//!
//! Deliberate choices where the spec leaves room:
//! - the static X25519 key is a [`StaticKey`] made and signed once when a node starts and
//!   kept in memory only (the `hyphae` node sets one in its [`Config`]), or, without one, a
//!   fresh key per handshake; both are what the spec allows, and the first saves each
//!   connection a key generation and an identity signature;
//! - a [`SignatureCache`] (which the node also sets) remembers the peers' static-key
//!   signatures it verified, so a peer reconnecting with the same static key is not
//!   verified again;
//! - peer keys of small order are rejected ([`Error::LowOrderKey`]);
//! - message 1's payload is ignored, as it is unencrypted and carries nothing in libp2p;
//! - inlined muxer negotiation yields `None` when either side lists no muxers (the peer does
//!   not negotiate inline, so multistream-select follows) and fails the handshake when both
//!   list muxers but none in common, as the spec requires.
//!
//! The handshake has no timeout of its own: callers bound it (e.g. `tokio::time::timeout`).
//!
//! Primitives: X25519 from `x25519-dalek`, SHA-256 and HKDF from RustCrypto, and
//! ChaCha20-Poly1305 from `ring`, whose assembly ran the transport loop 1.7 times as fast as
//! RustCrypto's `chacha20poly1305` here. With the `openssl` feature, CPUs with AVX-512 seal
//! and open bulk frames with the system OpenSSL's ChaCha20-Poly1305 instead, 1.3 times as
//! fast as ring on them (it needs OpenSSL's headers to build: `libssl-dev` and `pkg-config`
//! on Debian).
//! `benches/throughput.rs` compares the ciphers, and this crate with rust-libp2p's
//! `libp2p-noise` (built on `snow`).

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod aead;
mod cipher;
mod config;
mod error;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod in_place;
mod pattern;
mod payload;
mod read_memory;
mod signature_cache;
mod static_key;
mod stream;
mod symmetric;
mod transport;
mod upgrade;

pub use config::Config;
pub use error::Error;
pub use handshake::{Handshake, Output};
pub use pattern::Role;
pub use read_memory::{MAX_MEMORY_RETRY, MIN_MEMORY_RETRY};
pub use signature_cache::SignatureCache;
pub use static_key::StaticKey;
pub use stream::NoiseStream;
pub use transport::{Ciphers, Decryptor, Encryptor};
pub use upgrade::{upgrade_inbound, upgrade_outbound};

/// The protocol id negotiated with multistream-select (noise/README.md, "Negotiation").
pub const PROTOCOL_ID: &str = "/noise";

/// The Noise protocol name, hashed into every handshake (noise/README.md, "Noise Protocol
/// Name").
pub const PROTOCOL_NAME: &str = "Noise_XX_25519_ChaChaPoly_SHA256";

/// The largest Noise message, handshake or transport (Noise Protocol Framework section 3;
/// noise/README.md, "Wire Format"): what a frame's 16-bit length prefix can announce.
pub const MAX_MESSAGE_LEN: usize = 65535;

/// Bytes of the ChaChaPoly authentication tag that ends every encrypted message.
pub const TAG_LEN: usize = 16;

/// The most plaintext one transport frame carries: [`MAX_MESSAGE_LEN`] less the tag.
pub const MAX_PLAINTEXT_LEN: usize = MAX_MESSAGE_LEN - TAG_LEN;

/// Bytes of an X25519 public key (`DHLEN`, framework section 12.1).
pub(crate) const DH_LEN: usize = 32;

/// What the identity key signs, followed by the Noise static public key (noise/README.md,
/// "The libp2p Handshake Payload").
pub(crate) const STATIC_KEY_DOMAIN: &str = "noise-libp2p-static-key:";

/// The operating system's CSPRNG, the source of every static and ephemeral key the tokio
/// driver uses.
fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
