use std::path::PathBuf;

use crate::KeyType;

/// Why a key, peer id or envelope could not be used.
///
/// Messages include their underlying cause, so no variant reports it again as `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a valid protobuf message of the expected kind.
    #[error("malformed {message} protobuf: {error}")]
    Protobuf {
        /// Which message was being decoded.
        message: &'static str,
        /// What the protobuf decoder found.
        error: prost::DecodeError,
    },
    /// A required protobuf field is absent.
    #[error("{message} protobuf lacks its required {field} field")]
    MissingField {
        /// Which message was being decoded.
        message: &'static str,
        /// The absent field.
        field: &'static str,
    },
    /// The `KeyType` protobuf field holds a value libp2p does not define.
    #[error("unknown key type {0} (libp2p defines 0 = RSA, 1 = Ed25519, 2 = Secp256k1, 3 = ECDSA)")]
    UnknownKeyType(i32),
    /// A key type name was not one of `ed25519`, `secp256k1`, `ecdsa`, `rsa`.
    #[error("unknown key type {0:?}: expected ed25519, secp256k1, ecdsa or rsa")]
    UnknownKeyTypeName(String),
    /// A public key's data is not a valid key of its type.
    #[error("invalid {key_type} public key: {reason}")]
    InvalidPublicKey {
        /// The type the key claims to be.
        key_type: KeyType,
        /// What is wrong with it.
        reason: String,
    },
    /// A private key's data is not a valid key of its type.
    #[error("invalid {key_type} private key: {reason}")]
    InvalidPrivateKey {
        /// The type the key claims to be.
        key_type: KeyType,
        /// What is wrong with it.
        reason: String,
    },
    /// Producing a key or a signature failed (RSA key generation or signing).
    #[error("{key_type} {operation} failed: {reason}")]
    Crypto {
        /// The key type in use.
        key_type: KeyType,
        /// What was being done.
        operation: &'static str,
        /// The underlying library's message.
        reason: String,
    },
    /// Peer id bytes are not a well-formed multihash.
    #[error("invalid peer id multihash: {0}")]
    PeerIdMultihash(hyphae_encoding::Error),
    /// A peer id uses a multihash other than identity or sha2-256.
    #[error(
        "peer id uses multihash code {0:#x}; only identity (0x00) and sha2-256 (0x12) are valid"
    )]
    UnsupportedPeerIdHash(u64),
    /// A peer id's digest has a length its hash does not allow.
    #[error("peer id {hash} digest of {len} bytes is invalid")]
    PeerIdDigestLength {
        /// `identity` or `sha2-256`.
        hash: &'static str,
        /// The digest length found.
        len: usize,
    },
    /// Peer id text is neither base58btc nor a multibase CID.
    #[error("invalid peer id text {text:?}: {reason}")]
    PeerIdText {
        /// The text that was parsed (truncated if long).
        text: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A signed envelope's payload type is not the one the caller expects.
    #[error("envelope payload type is {actual:02x?}, expected {expected:02x?}")]
    PayloadTypeMismatch {
        /// The type the caller expects.
        expected: Vec<u8>,
        /// The type the envelope carries.
        actual: Vec<u8>,
    },
    /// A signed envelope has no `public_key` field.
    #[error("envelope has no public key")]
    EnvelopeWithoutKey,
    /// A signature does not verify under the key and domain.
    #[error("signature does not verify")]
    InvalidSignature,
    /// A key file could not be read or written.
    #[error("key file {}: {error}", path.display())]
    KeyFileIo {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        error: std::io::Error,
    },
    /// A key file was read but does not hold a usable private key.
    #[error("key file {}: {error}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with its contents.
        error: Box<Error>,
    },
    /// A key file is not in the protobuf `PrivateKey` format at all.
    #[error("key file {}: {reason}", path.display())]
    KeyFileFormat {
        /// The file.
        path: PathBuf,
        /// What the file looks like instead.
        reason: String,
    },
}
