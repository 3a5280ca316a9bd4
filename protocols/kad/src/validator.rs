//! Record validation by namespace (kad-dht/README.md, "Entry validation").
//!
//! A record key names its namespace in its first path segment: `/pk/<peer id>` holds a
//! public key, `/ipns/<peer id>` a signed IPNS record. A node checks every record it is
//! asked to store and every record a lookup returns with the validator of that namespace,
//! and picks the best of several conflicting records with the same validator's `select`.
//! A key with no namespace, or one no validator is registered for, is refused: the public
//! DHT (Amino) stores only `/pk` and `/ipns` records.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use hyphae_identity::{PeerId, PublicKey};

use crate::time::Clock;
use crate::{CborError, Ipns};

/// Longest namespace quoted in [`RecordError::UnknownNamespace`]; the key comes from a peer.
const MAX_QUOTED_NAMESPACE_LEN: usize = 64;

/// Checks and ranks the records of one namespace.
///
/// Both methods are pure functions of their arguments (and, for records that expire, of a
/// clock the validator was built with): every node must reach the same verdict.
pub trait Validator: Send + Sync {
    /// Whether `value` is a valid record for `key` (signed by the right key, not expired…).
    fn validate(&self, key: &[u8], value: &[u8]) -> Result<(), RecordError>;

    /// The index in `values` of the best record for `key` (the newest, for IPNS). The
    /// values are usually validated already; the choice must not depend on their order
    /// except between equal values.
    fn select(&self, key: &[u8], values: &[&[u8]]) -> Result<usize, RecordError>;
}

/// The validators of a node, one per namespace.
///
/// The default set holds `pk` and `ipns`, what every node of the public DHT runs.
///
/// ```
/// use hyphae_kad::{AcceptAll, Validators};
///
/// let mut validators = Validators::default();
/// assert!(validators.validate(b"/example/key", b"value").is_err());
/// validators.insert("example", AcceptAll);
/// assert!(validators.validate(b"/example/key", b"value").is_ok());
/// ```
#[derive(Clone)]
pub struct Validators {
    by_namespace: HashMap<String, Arc<dyn Validator>>,
    /// Validates keys of no known namespace, if set (test networks accept everything).
    fallback: Option<Arc<dyn Validator>>,
}

impl Validators {
    /// No validators: every record is refused until one is inserted.
    pub fn empty() -> Validators {
        Validators {
            by_namespace: HashMap::new(),
            fallback: None,
        }
    }

    /// The `pk` and `ipns` validators, with IPNS expiry read from `clock`.
    pub fn new(clock: Clock) -> Validators {
        let mut validators = Validators::empty();
        validators.insert("pk", PublicKeyValidator);
        validators.insert("ipns", Ipns::new(clock));
        validators
    }

    /// Registers `validator` for keys starting with `/<namespace>/`, replacing any other.
    pub fn insert(&mut self, namespace: impl Into<String>, validator: impl Validator + 'static) {
        self.by_namespace
            .insert(namespace.into(), Arc::new(validator));
    }

    /// Registers a shared `validator` for keys starting with `/<namespace>/`.
    pub fn insert_shared(&mut self, namespace: impl Into<String>, validator: Arc<dyn Validator>) {
        self.by_namespace.insert(namespace.into(), validator);
    }

    /// Validates keys outside every registered namespace (and keys with none) with
    /// `validator`: [`AcceptAll`] here makes a test network store anything.
    pub fn set_fallback(&mut self, validator: Option<Arc<dyn Validator>>) {
        self.fallback = validator;
    }

    /// The namespaces with a validator, in no particular order.
    pub fn namespaces(&self) -> impl Iterator<Item = &str> {
        self.by_namespace.keys().map(String::as_str)
    }

    /// Validates a record with the validator of its key's namespace.
    pub fn validate(&self, key: &[u8], value: &[u8]) -> Result<(), RecordError> {
        self.validator_for(key)?.validate(key, value)
    }

    /// Picks the best of `values` for `key` with the validator of its namespace.
    pub fn select(&self, key: &[u8], values: &[&[u8]]) -> Result<usize, RecordError> {
        let validator = self.validator_for(key)?;
        if values.is_empty() {
            return Err(RecordError::NoValues);
        }
        let index = validator.select(key, values)?;
        if index >= values.len() {
            return Err(RecordError::SelectionOutOfRange {
                index,
                len: values.len(),
            });
        }
        Ok(index)
    }

    fn validator_for(&self, key: &[u8]) -> Result<&dyn Validator, RecordError> {
        let found = self.registered_validator_for(key);
        match (&found, &self.fallback) {
            (Err(_), Some(fallback)) => Ok(&**fallback),
            _ => found,
        }
    }

    fn registered_validator_for(&self, key: &[u8]) -> Result<&dyn Validator, RecordError> {
        let namespace = namespace(key).ok_or(RecordError::NoNamespace)?;
        std::str::from_utf8(namespace)
            .ok()
            .and_then(|namespace| self.by_namespace.get(namespace))
            .map(|validator| &**validator)
            .ok_or_else(|| RecordError::UnknownNamespace {
                namespace: String::from_utf8_lossy(
                    &namespace[..namespace.len().min(MAX_QUOTED_NAMESPACE_LEN)],
                )
                .into_owned(),
            })
    }
}

impl Default for Validators {
    /// The `pk` and `ipns` validators on the system clock.
    fn default() -> Validators {
        Validators::new(Clock::system())
    }
}

impl fmt::Debug for Validators {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut namespaces: Vec<&str> = self.namespaces().collect();
        namespaces.sort_unstable();
        f.debug_tuple("Validators").field(&namespaces).finish()
    }
}

/// The namespace of a key: the bytes between a leading `/` and the next `/`, which must
/// both be there (`/pk` alone has none), as go-libp2p-record splits keys.
fn namespace(key: &[u8]) -> Option<&[u8]> {
    let rest = key.strip_prefix(b"/")?;
    let end = rest.iter().position(|&byte| byte == b'/')?;
    (end > 0).then(|| &rest[..end])
}

/// The part of `key` after `/<namespace>/`, parsed as a binary peer id.
pub(crate) fn peer_in_key(
    key: &[u8],
    prefix: &'static str,
    expected: &'static str,
) -> Result<PeerId, RecordError> {
    let id = key
        .strip_prefix(prefix.as_bytes())
        .ok_or(RecordError::WrongNamespace { expected })?;
    PeerId::from_bytes(id).map_err(|_| RecordError::InvalidPeerId)
}

/// The key under which `peer`'s public key is stored: `/pk/` and the binary peer id.
pub fn pk_key(peer: &PeerId) -> Vec<u8> {
    [b"/pk/", peer.as_bytes()].concat()
}

/// The validator of the `pk` namespace: the value is a `PublicKey` protobuf, and valid if
/// the peer id in the key is that key's peer id.
///
/// Every valid value of a key is the same key, so `select` picks the first.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicKeyValidator;

impl Validator for PublicKeyValidator {
    fn validate(&self, key: &[u8], value: &[u8]) -> Result<(), RecordError> {
        let peer = peer_in_key(key, "/pk/", "pk")?;
        let public_key =
            PublicKey::decode_protobuf(value).map_err(RecordError::InvalidPublicKey)?;
        if !peer.is_public_key(&public_key) {
            return Err(RecordError::PeerIdMismatch);
        }
        Ok(())
    }

    fn select(&self, _key: &[u8], values: &[&[u8]]) -> Result<usize, RecordError> {
        first(values)
    }
}

/// A validator that accepts every record and selects the first: for private namespaces
/// whose records need no checking, such as the `example` namespace the interop test suite
/// registers.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl Validator for AcceptAll {
    fn validate(&self, _key: &[u8], _value: &[u8]) -> Result<(), RecordError> {
        Ok(())
    }

    fn select(&self, _key: &[u8], values: &[&[u8]]) -> Result<usize, RecordError> {
        first(values)
    }
}

fn first(values: &[&[u8]]) -> Result<usize, RecordError> {
    if values.is_empty() {
        Err(RecordError::NoValues)
    } else {
        Ok(0)
    }
}

/// Why a record was refused or no record could be selected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The key does not start with `/<namespace>/`.
    #[error("record key has no /<namespace>/ prefix")]
    NoNamespace,
    /// No validator is registered for the key's namespace.
    #[error("no validator for record namespace {namespace:?}")]
    UnknownNamespace {
        /// The namespace (at most 64 bytes of it, invalid UTF-8 replaced).
        namespace: String,
    },
    /// A validator was given a key of another namespace.
    #[error("record key is not in the {expected} namespace")]
    WrongNamespace {
        /// The validator's namespace.
        expected: &'static str,
    },
    /// `select` was given no values.
    #[error("no values to select from")]
    NoValues,
    /// A validator's `select` returned an index past the values it was given.
    #[error("validator selected value {index} of {len}")]
    SelectionOutOfRange {
        /// The index returned.
        index: usize,
        /// How many values there were.
        len: usize,
    },
    /// The key does not end in a binary peer id.
    #[error("record key does not end in a binary peer id")]
    InvalidPeerId,
    /// A public key (the `/pk` value, or an IPNS record's key) does not decode.
    #[error("invalid public key: {0}")]
    InvalidPublicKey(hyphae_identity::Error),
    /// The public key is not the one the peer id in the key names.
    #[error("public key does not match the peer id in the record key")]
    PeerIdMismatch,
    /// An IPNS record is over [`crate::MAX_IPNS_RECORD_LEN`].
    #[error("IPNS record of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The record's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An IPNS record is not a valid `IpnsEntry` protobuf.
    #[error("IPNS record is not a valid protobuf: {0}")]
    Protobuf(prost::DecodeError),
    /// An IPNS record has no (or an empty) `signatureV2`.
    #[error("IPNS record has no signatureV2")]
    MissingSignature,
    /// An IPNS record has no (or empty) `data`; records with only V1 fields are no longer valid.
    #[error("IPNS record has no data")]
    MissingData,
    /// An IPNS record's `data` is not the DAG-CBOR map it must be.
    #[error("IPNS record data is not valid DAG-CBOR: {0}")]
    Cbor(CborError),
    /// An IPNS record's `data` lacks one of its five required entries.
    #[error("IPNS record data has no {0} entry")]
    MissingField(&'static str),
    /// An entry of an IPNS record's `data` has the wrong CBOR type.
    #[error("IPNS record data has a {0} entry of the wrong type")]
    FieldType(&'static str),
    /// The IPNS name is a hash of a key and the record does not carry the key.
    #[error("IPNS record carries no public key and its name does not inline one")]
    NoPublicKey,
    /// An IPNS record's `signatureV2` does not verify.
    #[error("IPNS record signature does not verify")]
    InvalidSignature,
    /// A legacy V1 field of an IPNS record differs from the signed data.
    #[error("IPNS record V1 field {0} differs from its signed data")]
    V1Mismatch(&'static str),
    /// The IPNS validity type is not 0 (end of life), the only one defined.
    #[error("unsupported IPNS validity type {0}")]
    UnsupportedValidityType(u64),
    /// The IPNS validity is not an RFC 3339 timestamp.
    #[error("IPNS validity is not an RFC 3339 timestamp")]
    InvalidValidity,
    /// The IPNS record's end of life has passed.
    #[error("IPNS record has expired")]
    Expired,
    /// Signing a record failed (only RSA signing can).
    #[error("signing the record failed: {0}")]
    Signing(hyphae_identity::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_namespace_is_the_first_path_segment() {
        assert_eq!(namespace(b"/pk/abc"), Some(&b"pk"[..]));
        assert_eq!(namespace(b"/ipns/"), Some(&b"ipns"[..]));
        assert_eq!(namespace(b"/a/b/c"), Some(&b"a"[..]));
        assert_eq!(namespace(b"/pk"), None);
        assert_eq!(namespace(b"//x"), None);
        assert_eq!(namespace(b"pk/x"), None);
        assert_eq!(namespace(b""), None);
    }
}
