//! ECDSA keys on NIST P-256: PKIX (SubjectPublicKeyInfo) DER public keys, SEC1 `ECPrivateKey`
//! DER private keys (PKCS#8 also accepted on import), DER signatures over SHA-256.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::elliptic_curve::Generate;
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey};
use zeroize::Zeroizing;

use crate::{Error, KeyType};

#[derive(Clone)]
pub(crate) struct Keypair(SigningKey);

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PublicKey(VerifyingKey);

impl Keypair {
    pub(crate) fn generate() -> Keypair {
        Keypair(SigningKey::generate_from_rng(&mut crate::os_rng()))
    }

    pub(crate) fn from_private_key_data(data: &[u8]) -> Result<Keypair, Error> {
        let secret = p256::SecretKey::from_sec1_der(data)
            .or_else(|_| p256::SecretKey::from_pkcs8_der(data))
            .map_err(|_| Error::InvalidPrivateKey {
                key_type: KeyType::Ecdsa,
                reason: "not a SEC1 or PKCS#8 DER P-256 private key".into(),
            })?;
        Ok(Keypair(SigningKey::from(secret)))
    }

    pub(crate) fn private_key_data(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        p256::SecretKey::from(self.0.as_nonzero_scalar())
            .to_sec1_der()
            .map_err(|error| Error::Crypto {
                key_type: KeyType::Ecdsa,
                operation: "private key encoding",
                reason: error.to_string(),
            })
    }

    pub(crate) fn public(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: DerSignature = self.0.sign(message);
        signature.as_bytes().to_vec()
    }
}

impl PublicKey {
    pub(crate) fn from_data(data: &[u8]) -> Result<PublicKey, Error> {
        VerifyingKey::from_public_key_der(data)
            .map(PublicKey)
            .map_err(|_| Error::InvalidPublicKey {
                key_type: KeyType::Ecdsa,
                reason: "not a PKIX DER P-256 public key".into(),
            })
    }

    pub(crate) fn to_data(&self) -> Vec<u8> {
        // Encoding a valid P-256 point as SubjectPublicKeyInfo cannot fail; an empty result
        // would make every peer id derivation and verification fail loudly, not silently.
        self.0
            .to_public_key_der()
            .map(|document| document.as_bytes().to_vec())
            .unwrap_or_default()
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        DerSignature::from_bytes(signature)
            .is_ok_and(|signature| self.0.verify(message, &signature).is_ok())
    }
}
