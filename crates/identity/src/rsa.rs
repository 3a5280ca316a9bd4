//! RSA keys: PKIX DER public keys, PKCS#1 DER private keys, RSASSA-PKCS1-v1.5 signatures over
//! SHA-256. Keys must have 2048 to 8192 bits, the range go-libp2p also enforces.

use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, sha2::Sha256};
use sha2::Digest;
use zeroize::Zeroizing;

use crate::{Error, KeyType};

/// Smallest modulus accepted, in bits.
pub(crate) const MIN_BITS: usize = 2048;
/// Largest modulus accepted, in bits.
pub(crate) const MAX_BITS: usize = 8192;
/// Modulus size of generated keys, in bits.
pub(crate) const GENERATED_BITS: usize = 2048;

#[derive(Clone)]
pub(crate) struct Keypair(rsa::PrivateKey);

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PublicKey(rsa::PublicKey);

fn check_size(bits: usize) -> Result<(), String> {
    if (MIN_BITS..=MAX_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(format!(
            "{bits}-bit modulus is outside the accepted {MIN_BITS} to {MAX_BITS} bits"
        ))
    }
}

fn crypto_error(operation: &'static str, error: impl ToString) -> Error {
    Error::Crypto {
        key_type: KeyType::Rsa,
        operation,
        reason: error.to_string(),
    }
}

impl Keypair {
    pub(crate) fn generate() -> Result<Keypair, Error> {
        rsa::PrivateKey::new(&mut getrandom::SysRng, GENERATED_BITS)
            .map(Keypair)
            .map_err(|error| crypto_error("key generation", error))
    }

    pub(crate) fn from_private_key_data(data: &[u8]) -> Result<Keypair, Error> {
        let error = |reason: String| Error::InvalidPrivateKey {
            key_type: KeyType::Rsa,
            reason,
        };
        let key = rsa::PrivateKey::from_pkcs1_der(data)
            .map_err(|cause| error(format!("not a PKCS#1 DER private key: {cause}")))?;
        check_size(key.size() * 8).map_err(error)?;
        key.validate()
            .map_err(|cause| error(format!("inconsistent key: {cause}")))?;
        Ok(Keypair(key))
    }

    pub(crate) fn private_key_data(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let document = self
            .0
            .to_pkcs1_der()
            .map_err(|error| crypto_error("private key encoding", error))?;
        Ok(Zeroizing::new(document.as_bytes().to_vec()))
    }

    pub(crate) fn public(&self) -> PublicKey {
        PublicKey(self.0.to_public_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let digest = Sha256::digest(message);
        // Blinded signing: the random blinding factor hides the private exponent's timing.
        self.0
            .sign_with_rng(
                &mut getrandom::SysRng,
                Pkcs1v15Sign::new::<Sha256>(),
                &digest,
            )
            .map_err(|error| crypto_error("signing", error))
    }
}

impl PublicKey {
    pub(crate) fn from_data(data: &[u8]) -> Result<PublicKey, Error> {
        let error = |reason: String| Error::InvalidPublicKey {
            key_type: KeyType::Rsa,
            reason,
        };
        let key = rsa::PublicKey::from_public_key_der(data)
            .map_err(|cause| error(format!("not a PKIX DER public key: {cause}")))?;
        check_size(key.size() * 8).map_err(error)?;
        Ok(PublicKey(key))
    }

    pub(crate) fn to_data(&self) -> Vec<u8> {
        // SubjectPublicKeyInfo encoding of a key we already hold cannot fail; see ecdsa.rs.
        self.0
            .to_public_key_der()
            .map(|document| document.as_bytes().to_vec())
            .unwrap_or_default()
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let digest = Sha256::digest(message);
        self.0
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            .is_ok()
    }
}
