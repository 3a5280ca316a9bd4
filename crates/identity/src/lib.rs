//! libp2p identities: the four key types, [`PeerId`], and signed envelopes.
//!
//! Spec: `peer-ids/peer-ids.md` (keys, their protobuf encodings, peer ids and their text
//! forms), `RFC/0001-text-peerid-cid.md` (CID text form) and `RFC/0002-signed-envelopes.md`,
//! all in the libp2p/specs repository.
//!
//! ```
//! use hyphae_identity::{KeyType, Keypair};
//!
//! let keypair = Keypair::generate(KeyType::Ed25519)?;
//! let signature = keypair.sign(b"hello")?;
//! assert!(keypair.public().verify(b"hello", &signature));
//! assert!(keypair.peer_id().to_string().starts_with("12D3KooW"));
//! # Ok::<(), hyphae_identity::Error>(())
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod ecdsa;
mod ed25519;
mod envelope;
mod error;
mod key_file;
mod key_type;
mod keypair;
mod peer_id;
mod proto;
mod public_key;
mod rsa;
mod secp256k1;
#[cfg(feature = "serde")]
mod serde;

pub use envelope::SignedEnvelope;
pub use error::Error;
pub use key_type::KeyType;
pub use keypair::Keypair;
pub use peer_id::PeerId;
pub use public_key::PublicKey;

/// The operating system's CSPRNG, the only source of key material and signing randomness.
fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
