//! secp256k1 keys with Bitcoin encodings: 33-byte compressed public keys, 32-byte private
//! scalars, DER signatures over the SHA-256 of the message.

use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use k256::elliptic_curve::Generate;
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
        let error = |reason: String| Error::InvalidPrivateKey {
            key_type: KeyType::Secp256k1,
            reason,
        };
        if data.len() != 32 {
            return Err(error(format!("expected 32 bytes, found {}", data.len())));
        }
        SigningKey::from_slice(data)
            .map(Keypair)
            .map_err(|_| error("scalar is zero or not below the curve order".into()))
    }

    pub(crate) fn private_key_data(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.0.to_bytes().to_vec())
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
    /// Accepts compressed (33-byte) and uncompressed (65-byte) SEC1 points; always re-encodes
    /// compressed, as other implementations do when deriving peer ids.
    pub(crate) fn from_data(data: &[u8]) -> Result<PublicKey, Error> {
        VerifyingKey::from_sec1_bytes(data)
            .map(PublicKey)
            .map_err(|_| Error::InvalidPublicKey {
                key_type: KeyType::Secp256k1,
                reason: format!("{} bytes are not a SEC1-encoded curve point", data.len()),
            })
    }

    pub(crate) fn to_data(&self) -> Vec<u8> {
        self.0.to_sec1_point(true).as_bytes().to_vec()
    }

    /// Accepts high-S signatures too (normalising them), as Bitcoin-style verifiers in other
    /// libp2p implementations do.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        Signature::from_der(signature)
            .is_ok_and(|signature| self.0.verify(message, &signature.normalize_s()).is_ok())
    }
}
