//! Certificates verified lately. Decoding a peer's certificate checks two signatures (its
//! self-signature and the identity key's over the certificate key, tls/tls.md), and a
//! handshake looks at the certificate twice: rustls asks for the chain, then separately for
//! the `CertificateVerify` signature made with the certificate's key. Remembering what a
//! certificate decoded to spares the second look, and the whole check for a peer that
//! reconnects with the certificate it had (a node keeps one for its life, as hyphae and
//! rust-libp2p do).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use hyphae_core::recent::Recent;
use ring::digest::{SHA256, digest};

use crate::CertificateError;
use crate::certificate::{self, P2pCertificate};

/// Certificates remembered; the oldest is forgotten first. A few hundred bytes each.
pub(crate) const CAPACITY: usize = 1024;

/// Decoded and verified certificates by the SHA-256 digest of their DER bytes: the same
/// bytes always decode and verify the same way. Whether a certificate is valid at the
/// handshake's time is checked on every use, not remembered. Shared by the handshakes of
/// one [`Config`](crate::Config); cheap to clone.
#[derive(Clone)]
pub(crate) struct VerifiedCertificates {
    inner: Arc<Mutex<Recent<[u8; 32], P2pCertificate>>>,
}

impl Default for VerifiedCertificates {
    fn default() -> VerifiedCertificates {
        VerifiedCertificates {
            inner: Arc::new(Mutex::new(Recent::new(CAPACITY))),
        }
    }
}

impl VerifiedCertificates {
    /// What `der` decodes to, checked as [`certificate::parse`] checks it, from memory if
    /// these bytes passed before.
    pub(crate) fn parse(&self, der: &[u8]) -> Result<P2pCertificate, CertificateError> {
        let key = digest_of(der);
        if let Some(known) = self.lock().get(&key) {
            return Ok(known.clone());
        }
        let certificate = certificate::parse(der)?;
        self.lock().insert(key, certificate.clone());
        Ok(certificate)
    }

    /// Certificates remembered.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent<[u8; 32], P2pCertificate>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The SHA-256 digest of a certificate's DER bytes: its key in the cache.
fn digest_of(der: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, der).as_ref());
    key
}

impl fmt::Debug for VerifiedCertificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedCertificates")
            .field("remembered", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use hyphae_identity::Keypair;

    use super::*;

    fn certificate() -> Vec<u8> {
        certificate::generate(&Keypair::generate_ed25519())
            .unwrap()
            .certificate
    }

    #[test]
    fn remembers_what_verified_and_forgets_the_oldest_when_full() {
        let verified = VerifiedCertificates::default();
        let first = certificate();
        let peer = verified.parse(&first).unwrap().peer_id();
        assert_eq!(verified.parse(&first).unwrap().peer_id(), peer);
        assert_eq!(verified.len(), 1);
        for _ in 0..CAPACITY {
            verified.parse(&certificate()).unwrap();
        }
        assert_eq!(verified.len(), CAPACITY);
        assert!(!verified.lock().contains(&digest_of(&first)));
    }

    #[test]
    fn a_certificate_that_fails_is_not_remembered_and_fails_again() {
        let verified = VerifiedCertificates::default();
        let mut tampered = certificate();
        let last = tampered.len() - 1;
        tampered[last] ^= 1; // the self-signature's last byte
        assert!(verified.parse(&tampered).is_err());
        assert!(verified.parse(&tampered).is_err());
        assert_eq!(verified.len(), 0);
    }
}
