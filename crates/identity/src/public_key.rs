use std::fmt;

use prost::Message;

use crate::{Error, KeyType, PeerId, ecdsa, ed25519, proto, rsa, secp256k1};

/// A public key of any libp2p key type: verifies signatures and names a peer.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Inner);

#[derive(Clone, PartialEq, Eq)]
enum Inner {
    Ed25519(ed25519::PublicKey),
    Secp256k1(secp256k1::PublicKey),
    Ecdsa(ecdsa::PublicKey),
    Rsa(rsa::PublicKey),
}

impl PublicKey {
    pub(crate) fn ed25519(key: ed25519::PublicKey) -> PublicKey {
        PublicKey(Inner::Ed25519(key))
    }

    pub(crate) fn secp256k1(key: secp256k1::PublicKey) -> PublicKey {
        PublicKey(Inner::Secp256k1(key))
    }

    pub(crate) fn ecdsa(key: ecdsa::PublicKey) -> PublicKey {
        PublicKey(Inner::Ecdsa(key))
    }

    pub(crate) fn rsa(key: rsa::PublicKey) -> PublicKey {
        PublicKey(Inner::Rsa(key))
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

    /// Checks `signature` over `message` with this key's libp2p signing method.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.0 {
            Inner::Ed25519(key) => key.verify(message, signature),
            Inner::Secp256k1(key) => key.verify(message, signature),
            Inner::Ecdsa(key) => key.verify(message, signature),
            Inner::Rsa(key) => key.verify(message, signature),
        }
    }

    /// The key's own encoding, the `Data` field of the `PublicKey` protobuf.
    fn data(&self) -> Vec<u8> {
        match &self.0 {
            Inner::Ed25519(key) => key.to_data(),
            Inner::Secp256k1(key) => key.to_data(),
            Inner::Ecdsa(key) => key.to_data(),
            Inner::Rsa(key) => key.to_data(),
        }
    }

    /// Encodes the key as the deterministic `PublicKey` protobuf that peer ids are derived from
    /// and that peers exchange.
    pub fn encode_protobuf(&self) -> Vec<u8> {
        self.to_proto().encode_to_vec()
    }

    /// Decodes a `PublicKey` protobuf.
    pub fn decode_protobuf(bytes: &[u8]) -> Result<PublicKey, Error> {
        let message = proto::PublicKey::decode(bytes).map_err(|error| Error::Protobuf {
            message: "PublicKey",
            error,
        })?;
        PublicKey::from_proto(&message)
    }

    pub(crate) fn to_proto(&self) -> proto::PublicKey {
        proto::PublicKey {
            key_type: Some(self.key_type().protobuf_value()),
            data: Some(self.data()),
        }
    }

    pub(crate) fn from_proto(message: &proto::PublicKey) -> Result<PublicKey, Error> {
        let (key_type, data) = message.fields().map_err(|field| Error::MissingField {
            message: "PublicKey",
            field,
        })?;
        Ok(match KeyType::from_protobuf_value(key_type)? {
            KeyType::Ed25519 => PublicKey::ed25519(ed25519::PublicKey::from_data(data)?),
            KeyType::Secp256k1 => PublicKey::secp256k1(secp256k1::PublicKey::from_data(data)?),
            KeyType::Ecdsa => PublicKey::ecdsa(ecdsa::PublicKey::from_data(data)?),
            KeyType::Rsa => PublicKey::rsa(rsa::PublicKey::from_data(data)?),
        })
    }

    /// The peer id this key names.
    pub fn to_peer_id(&self) -> PeerId {
        PeerId::from_public_key(self)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("key_type", &self.key_type())
            .field("peer_id", &self.to_peer_id())
            .finish()
    }
}
