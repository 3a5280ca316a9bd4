use std::fmt;

use prost::Message;
use zeroize::{Zeroize, Zeroizing};

use crate::{Error, KeyType, PeerId, PublicKey, ecdsa, ed25519, proto, rsa, secp256k1};

/// A private key with its public half: signs for a node and gives it its [`PeerId`].
///
/// Secret material is zeroized when the keypair is dropped.
#[derive(Clone)]
pub struct Keypair(Inner);

#[derive(Clone)]
enum Inner {
    Ed25519(ed25519::Keypair),
    Secp256k1(secp256k1::Keypair),
    Ecdsa(ecdsa::Keypair),
    Rsa(rsa::Keypair),
}

impl Keypair {
    /// Generates a fresh key of `key_type` from the operating system's CSPRNG.
    ///
    /// RSA keys have 2048 bits and take a moment to generate; the other types are instant.
    pub fn generate(key_type: KeyType) -> Result<Keypair, Error> {
        Ok(Keypair(match key_type {
            KeyType::Ed25519 => Inner::Ed25519(ed25519::Keypair::generate()),
            KeyType::Secp256k1 => Inner::Secp256k1(secp256k1::Keypair::generate()),
            KeyType::Ecdsa => Inner::Ecdsa(ecdsa::Keypair::generate()),
            KeyType::Rsa => Inner::Rsa(rsa::Keypair::generate()?),
        }))
    }

    /// Generates a fresh Ed25519 key, the default libp2p identity.
    pub fn generate_ed25519() -> Keypair {
        Keypair(Inner::Ed25519(ed25519::Keypair::generate()))
    }

    /// The Ed25519 key whose 32-byte secret is `secret`: deterministic identities for tests
    /// and tools. The caller is responsible for the secret's secrecy.
    pub fn ed25519_from_secret(secret: &[u8; 32]) -> Keypair {
        Keypair(Inner::Ed25519(ed25519::Keypair::from_secret(secret)))
    }

    /// The type of this key.
    pub fn key_type(&self) -> KeyType {
        match &self.0 {
            Inner::Ed25519(_) => KeyType::Ed25519,
            Inner::Secp256k1(_) => KeyType::Secp256k1,
            Inner::Ecdsa(_) => KeyType::Ecdsa,
            Inner::Rsa(_) => KeyType::Rsa,
        }
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        match &self.0 {
            Inner::Ed25519(key) => PublicKey::ed25519(key.public()),
            Inner::Secp256k1(key) => PublicKey::secp256k1(key.public()),
            Inner::Ecdsa(key) => PublicKey::ecdsa(key.public()),
            Inner::Rsa(key) => PublicKey::rsa(key.public()),
        }
    }

    /// The peer id of this key.
    pub fn peer_id(&self) -> PeerId {
        self.public().to_peer_id()
    }

    /// Signs `message` with this key type's libp2p signing method.
    ///
    /// Only RSA signing can fail.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.0 {
            Inner::Ed25519(key) => Ok(key.sign(message)),
            Inner::Secp256k1(key) => Ok(key.sign(message)),
            Inner::Ecdsa(key) => Ok(key.sign(message)),
            Inner::Rsa(key) => key.sign(message),
        }
    }

    /// Encodes the key as a `PrivateKey` protobuf, the format of libp2p key files.
    pub fn to_protobuf_encoding(&self) -> Result<Zeroizing<Vec<u8>>, Error> {
        let data = match &self.0 {
            Inner::Ed25519(key) => key.private_key_data(),
            Inner::Secp256k1(key) => key.private_key_data(),
            Inner::Ecdsa(key) => key.private_key_data()?,
            Inner::Rsa(key) => key.private_key_data()?,
        };
        let mut message = proto::PrivateKey {
            key_type: Some(self.key_type().protobuf_value()),
            data: Some(data.to_vec()),
        };
        let encoded = Zeroizing::new(message.encode_to_vec());
        message.data.zeroize();
        Ok(encoded)
    }

    /// Decodes a `PrivateKey` protobuf, checking that the key is valid for its type.
    pub fn from_protobuf_encoding(bytes: &[u8]) -> Result<Keypair, Error> {
        let mut message = proto::PrivateKey::decode(bytes).map_err(|error| Error::Protobuf {
            message: "PrivateKey",
            error,
        })?;
        let keypair = Keypair::from_proto(&message);
        message.data.zeroize();
        keypair
    }

    fn from_proto(message: &proto::PrivateKey) -> Result<Keypair, Error> {
        let (key_type, data) = message.fields().map_err(|field| Error::MissingField {
            message: "PrivateKey",
            field,
        })?;
        Ok(Keypair(match KeyType::from_protobuf_value(key_type)? {
            KeyType::Ed25519 => Inner::Ed25519(ed25519::Keypair::from_private_key_data(data)?),
            KeyType::Secp256k1 => {
                Inner::Secp256k1(secp256k1::Keypair::from_private_key_data(data)?)
            }
            KeyType::Ecdsa => Inner::Ecdsa(ecdsa::Keypair::from_private_key_data(data)?),
            KeyType::Rsa => Inner::Rsa(rsa::Keypair::from_private_key_data(data)?),
        }))
    }
}

impl fmt::Debug for Keypair {
    /// Shows the key type and peer id, never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("key_type", &self.key_type())
            .field("peer_id", &self.peer_id())
            .finish_non_exhaustive()
    }
}
