//! Entry points for the fuzz targets in `fuzz/`, not a stable API.
//!
//! The handshake payload is decoded only after the AEAD opened it, so arbitrary handshake
//! messages never reach its decoder; these functions expose it on its own. The transport
//! phase needs a finished handshake; [`stream`] starts one from given keys.

use bytes::BytesMut;
use hyphae_identity::{Keypair, PeerId};

use crate::cipher::CipherState;
use crate::{Ciphers, DH_LEN, Decryptor, Encryptor, Error, NoiseStream, payload};

/// Decodes a handshake payload and checks its signature over `remote_static`, as the
/// handshake does with the payload of the peer's message; returns who signed it.
pub fn verify_payload(bytes: &[u8], remote_static: &[u8; DH_LEN]) -> Result<PeerId, Error> {
    payload::verify(bytes, remote_static).map(|remote| remote.peer_id)
}

/// Encodes the payload `identity` sends with the static key `static_key` (seed inputs).
pub fn encode_payload(identity: &Keypair, static_key: &[u8; DH_LEN]) -> Result<Vec<u8>, Error> {
    payload::encode(identity, static_key, None)
}

/// A session over `io` in its transport phase with the given keys: it seals what is written
/// with `send_key` and reads frames the peer sealed with `receive_key`.
pub fn stream<T>(io: T, send_key: &[u8; 32], receive_key: &[u8; 32]) -> NoiseStream<T> {
    let ciphers = Ciphers {
        encryptor: Encryptor::new(CipherState::for_transport(send_key)),
        decryptor: Decryptor::new(CipherState::for_transport(receive_key)),
    };
    NoiseStream::new(io, ciphers, BytesMut::new())
}

/// The encryptor of a peer that seals with `key` (seed inputs for [`stream`]).
pub fn encryptor(key: &[u8; 32]) -> Encryptor {
    Encryptor::new(CipherState::for_transport(key))
}
