use std::io;

use hyphae_identity::PeerId;

/// Why a Noise handshake failed or a Noise message could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A ciphertext did not authenticate: it was altered, truncated, replayed or encrypted
    /// under another key.
    #[error("decryption failed: the message does not authenticate")]
    Decrypt,
    /// A cipher has used its last nonce (2^64 - 2): the spec requires the connection to end
    /// rather than reuse a nonce.
    #[error("the cipher's nonces are exhausted; the connection must be closed")]
    NonceExhausted,
    /// A handshake message is shorter than the keys and tags its position in the pattern
    /// requires.
    #[error("handshake message {message} is {len} bytes, shorter than the minimum of {min}")]
    HandshakeMessageTooShort {
        /// Which message of the XX pattern (1, 2 or 3).
        message: u8,
        /// Its length.
        len: usize,
        /// The least a valid message of that position can be.
        min: usize,
    },
    /// The peer's ephemeral or static X25519 key has small order, so a Diffie-Hellman with it
    /// yields a value the peer knows in advance.
    #[error("the peer's X25519 key has low order (non-contributory Diffie-Hellman)")]
    LowOrderKey,
    /// A handshake message we would send, or a plaintext given to the encryptor, does not fit
    /// in one Noise message.
    #[error("message of {len} bytes exceeds the Noise limit of {max}")]
    MessageTooLarge {
        /// The length the message would have.
        len: usize,
        /// The largest allowed.
        max: usize,
    },
    /// A transport frame is too short to hold the 16-byte authentication tag.
    #[error("transport frame of {len} bytes is shorter than the 16-byte tag")]
    FrameTooShort {
        /// The announced frame length.
        len: usize,
    },
    /// The decrypted handshake payload is not a valid `NoiseHandshakePayload` protobuf.
    #[error("malformed handshake payload: {0}")]
    InvalidPayload(prost::DecodeError),
    /// The peer's handshake payload lacks a required field.
    #[error("handshake payload lacks its {0} field")]
    MissingPayloadField(&'static str),
    /// The peer's identity key could not be decoded.
    #[error("invalid identity key in the handshake payload: {0}")]
    InvalidIdentityKey(hyphae_identity::Error),
    /// The peer's identity key did not sign its Noise static key.
    #[error("the peer's identity signature over its Noise static key does not verify")]
    InvalidSignature,
    /// The peer authenticated as someone other than the peer we meant to reach.
    #[error("expected peer {expected}, but the remote authenticated as {actual}")]
    PeerIdMismatch {
        /// The peer id we dialled (from the `/p2p/` address).
        expected: PeerId,
        /// The peer id the remote proved it holds.
        actual: PeerId,
    },
    /// Both sides listed stream muxers in the handshake but none in common; the inlined
    /// muxer negotiation spec requires the handshake to fail.
    #[error("no stream muxer in common: initiator offers {initiator:?}, responder {responder:?}")]
    NoCommonMuxer {
        /// The initiator's muxers, in its order of preference.
        initiator: Vec<String>,
        /// The responder's muxers.
        responder: Vec<String>,
    },
    /// Signing our Noise static key with the identity key failed (RSA only).
    #[error("signing the Noise static key failed: {0}")]
    Signing(hyphae_identity::Error),
    /// The cryptographic library refused an operation that cannot fail on valid lengths
    /// (key setup, sealing); seeing it means a bug, not a hostile peer.
    #[error("cryptographic backend failed: {0}")]
    Crypto(&'static str),
    /// The handshake state machine was used out of order, e.g. finished before the last
    /// message, or used again after an error.
    #[error("handshake used out of order: {0}")]
    OutOfOrder(&'static str),
    /// The connection closed before the handshake completed.
    #[error("connection closed during the Noise handshake")]
    ConnectionClosed,
    /// Reading or writing the underlying connection failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<Error> for io::Error {
    /// Transport-phase failures reach `AsyncRead`/`AsyncWrite` callers as I/O errors whose
    /// inner error is the [`Error`] (`io::Error::get_ref` then `downcast_ref`).
    fn from(error: Error) -> io::Error {
        match error {
            Error::Io(error) => error,
            Error::ConnectionClosed => io::Error::new(io::ErrorKind::UnexpectedEof, error),
            error => io::Error::new(io::ErrorKind::InvalidData, error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn an_io_failure_is_printed_once_in_the_error_chain() {
        let error = Error::from(io::Error::new(io::ErrorKind::BrokenPipe, "pipe broke"));
        assert_eq!(error.to_string(), "pipe broke");
        assert!(error.source().is_none());
    }
}
