//! Ed25519 keys: raw 32-byte public keys; private keys stored as `secret || public` (64 bytes),
//! with the legacy `secret || public || public` (96 bytes) accepted on import.

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use crate::{Error, KeyType};

const SECRET_LEN: usize = 32;
const PUBLIC_LEN: usize = 32;

#[derive(Clone)]
pub(crate) struct Keypair(SigningKey);

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PublicKey(VerifyingKey);

fn private_error(reason: impl Into<String>) -> Error {
    Error::InvalidPrivateKey {
        key_type: KeyType::Ed25519,
        reason: reason.into(),
    }
}

impl Keypair {
    pub(crate) fn generate() -> Keypair {
        Keypair(SigningKey::generate(&mut crate::os_rng()))
    }

    pub(crate) fn from_secret(secret: &[u8; SECRET_LEN]) -> Keypair {
        Keypair(SigningKey::from_bytes(secret))
    }

    pub(crate) fn from_private_key_data(data: &[u8]) -> Result<Keypair, Error> {
        let (secret, public) = match data.len() {
            64 => data.split_at(SECRET_LEN),
            96 => {
                let (first, second) = data[SECRET_LEN..].split_at(PUBLIC_LEN);
                if first != second {
                    return Err(private_error(
                        "legacy 96-byte key holds two different public keys",
                    ));
                }
                (&data[..SECRET_LEN], first)
            }
            32 => {
                return Err(private_error(
                    "32 bytes is the length of a public key; a private key has 64",
                ));
            }
            len => return Err(private_error(format!("expected 64 bytes, found {len}"))),
        };
        let mut secret_bytes = Zeroizing::new([0u8; SECRET_LEN]);
        secret_bytes.copy_from_slice(secret);
        let keypair = Keypair::from_secret(&secret_bytes);
        if keypair.0.verifying_key().as_bytes() != public {
            return Err(private_error(
                "the stored public key does not belong to the secret key",
            ));
        }
        Ok(keypair)
    }

    pub(crate) fn private_key_data(&self) -> Zeroizing<Vec<u8>> {
        let mut data = Zeroizing::new(Vec::with_capacity(SECRET_LEN + PUBLIC_LEN));
        data.extend_from_slice(self.0.as_bytes());
        data.extend_from_slice(self.0.verifying_key().as_bytes());
        data
    }

    pub(crate) fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.0.sign(message).to_bytes().to_vec()
    }
}

impl PublicKey {
    pub(crate) fn from_data(data: &[u8]) -> Result<PublicKey, Error> {
        let error = |reason: String| Error::InvalidPublicKey {
            key_type: KeyType::Ed25519,
            reason,
        };
        let bytes: &[u8; PUBLIC_LEN] = data
            .try_into()
            .map_err(|_| error(format!("expected 32 bytes, found {}", data.len())))?;
        VerifyingKey::from_bytes(bytes)
            .map(PublicKey)
            .map_err(|_| error("not a point on the curve".into()))
    }

    pub(crate) fn to_data(&self) -> Vec<u8> {
        self.0.as_bytes().to_vec()
    }

    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        ed25519_dalek::Signature::from_slice(signature)
            .is_ok_and(|signature| self.0.verify_strict(message, &signature).is_ok())
    }
}
