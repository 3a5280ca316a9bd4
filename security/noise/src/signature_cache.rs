//! Static-key signatures verified lately, so that a peer reconnecting with the same static
//! key and signature (a node that keeps its [`StaticKey`](crate::StaticKey)) is not checked
//! again: an Ed25519 verification is a good part of a handshake's work.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use hyphae_core::recent::Recent;
use sha2::{Digest, Sha256};

/// Verifications remembered; the oldest is forgotten first. 32 bytes each.
pub(crate) const CAPACITY: usize = 1024;

/// The verified (identity key, signature, static key) triples of recent handshakes, by their
/// SHA-256 digest: the same three byte strings always verify the same way, so a triple
/// verified once needs no second check. Shared by the handshakes of one
/// [`Config`](crate::Config); cheap to clone.
#[derive(Clone)]
pub struct SignatureCache {
    inner: Arc<Mutex<Recent<[u8; 32], ()>>>,
}

impl Default for SignatureCache {
    fn default() -> SignatureCache {
        SignatureCache {
            inner: Arc::new(Mutex::new(Recent::new(CAPACITY))),
        }
    }
}

impl SignatureCache {
    /// Whether `key` was seen to sign `static_key` with `signature`.
    pub(crate) fn contains(&self, key: &[u8], signature: &[u8], static_key: &[u8]) -> bool {
        self.lock().contains(&digest(key, signature, static_key))
    }

    /// Remembers that `key` signed `static_key` with `signature`.
    pub(crate) fn insert(&self, key: &[u8], signature: &[u8], static_key: &[u8]) {
        self.lock().insert(digest(key, signature, static_key), ());
    }

    /// Verifications remembered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent<[u8; 32], ()>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One digest of the three byte strings, each length-prefixed so that no two triples share
/// an encoding.
fn digest(key: &[u8], signature: &[u8], static_key: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [key, signature, static_key] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

impl fmt::Debug for SignatureCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureCache")
            .field("verified", &self.len())
            .finish()
    }
}

/// Caches are equal when they are the same cache.
impl PartialEq for SignatureCache {
    fn eq(&self, other: &SignatureCache) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for SignatureCache {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_exact_triples_and_forgets_the_oldest_when_full() {
        let cache = SignatureCache::default();
        cache.insert(b"key", b"signature", b"static");
        assert!(cache.contains(b"key", b"signature", b"static"));
        assert!(!cache.contains(b"key", b"signature", b"other static"));
        assert!(!cache.contains(b"keysig", b"nature", b"static"));
        for n in 0..CAPACITY as u32 {
            cache.insert(b"key", &n.to_be_bytes(), b"static");
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(!cache.contains(b"key", b"signature", b"static"));
        assert!(cache.contains(b"key", &0u32.to_be_bytes(), b"static"));
    }
}
