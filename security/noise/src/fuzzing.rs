//! Entry points for the fuzz targets in `fuzz/`, not a stable API.
//!
//! The handshake payload is decoded only after the AEAD opened it, so arbitrary handshake
//! messages never reach its decoder; these functions expose it on its own.

use hyphae_identity::{Keypair, PeerId};

use crate::{DH_LEN, Error, payload};

/// Decodes a handshake payload and checks its signature over `remote_static`, as the
/// handshake does with the payload of the peer's message; returns who signed it.
pub fn verify_payload(bytes: &[u8], remote_static: &[u8; DH_LEN]) -> Result<PeerId, Error> {
    payload::verify(bytes, remote_static).map(|remote| remote.peer_id)
}

/// Encodes the payload `identity` sends with the static key `static_key` (seed inputs).
pub fn encode_payload(identity: &Keypair, static_key: &[u8; DH_LEN]) -> Result<Vec<u8>, Error> {
    payload::encode(identity, static_key, None)
}
