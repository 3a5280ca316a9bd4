//! The libp2p handshake payload (noise/README.md, "The libp2p Handshake Payload"): the
//! identity key and its signature over our Noise static key, plus extensions.
//!
//! ```protobuf
//! message NoiseExtensions {
//!     repeated bytes webtransport_certhashes = 1;
//!     repeated string stream_muxers = 2;
//! }
//! message NoiseHandshakePayload {
//!     optional bytes identity_key = 1;
//!     optional bytes identity_sig = 2;
//!     optional NoiseExtensions extensions = 4;
//! }
//! ```
//!
//! A payload is bounded by the 65535-byte Noise message that carries it, so decoding it
//! allocates at most that much.

use hyphae_identity::{Keypair, PeerId, PublicKey};
use prost::Message;

use crate::{DH_LEN, Error, STATIC_KEY_DOMAIN, SignatureCache};

/// `NoiseHandshakePayload`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HandshakePayload {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub(crate) identity_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) identity_sig: Option<Vec<u8>>,
    #[prost(message, optional, tag = "4")]
    pub(crate) extensions: Option<Extensions>,
}

/// `NoiseExtensions`.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct Extensions {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub(crate) webtransport_certhashes: Vec<Vec<u8>>,
    #[prost(string, repeated, tag = "2")]
    pub(crate) stream_muxers: Vec<String>,
}

impl Extensions {
    /// Extensions worth sending, or `None` when there is nothing to announce.
    pub(crate) fn non_empty(self) -> Option<Extensions> {
        (!self.webtransport_certhashes.is_empty() || !self.stream_muxers.is_empty()).then_some(self)
    }
}

/// The message an identity key signs: the domain string, then the static X25519 key.
fn signed_message(static_key: &[u8; DH_LEN]) -> Vec<u8> {
    let mut message = Vec::with_capacity(STATIC_KEY_DOMAIN.len() + DH_LEN);
    message.extend_from_slice(STATIC_KEY_DOMAIN.as_bytes());
    message.extend_from_slice(static_key);
    message
}

/// `identity`'s signature over `static_key`, as the payload carries it.
pub(crate) fn sign_static_key(
    identity: &Keypair,
    static_key: &[u8; DH_LEN],
) -> Result<Vec<u8>, Error> {
    identity
        .sign(&signed_message(static_key))
        .map_err(Error::Signing)
}

/// Encodes our payload: `identity`'s public key, its signature over `static_key`, and
/// `extensions` if any.
pub(crate) fn encode(
    identity: &Keypair,
    static_key: &[u8; DH_LEN],
    extensions: Option<Extensions>,
) -> Result<Vec<u8>, Error> {
    let signature = sign_static_key(identity, static_key)?;
    Ok(encode_signed(identity, signature, extensions))
}

/// Encodes our payload with a `signature` over our static key made before.
pub(crate) fn encode_signed(
    identity: &Keypair,
    signature: Vec<u8>,
    extensions: Option<Extensions>,
) -> Vec<u8> {
    let payload = HandshakePayload {
        identity_key: Some(identity.public().encode_protobuf()),
        identity_sig: Some(signature),
        extensions,
    };
    payload.encode_to_vec()
}

/// Who the peer proved to be, and what it announced.
#[derive(Debug, Clone)]
pub(crate) struct RemoteIdentity {
    pub(crate) public_key: PublicKey,
    pub(crate) peer_id: PeerId,
    pub(crate) extensions: Extensions,
}

/// Decodes the peer's payload and checks that its identity key signed `remote_static`, the
/// static key the peer used in this handshake.
pub(crate) fn verify(bytes: &[u8], remote_static: &[u8; DH_LEN]) -> Result<RemoteIdentity, Error> {
    verify_with(bytes, remote_static, None)
}

/// [`verify`], skipping the signature check for a triple `cache` saw verified, and adding
/// the ones it checks.
pub(crate) fn verify_with(
    bytes: &[u8],
    remote_static: &[u8; DH_LEN],
    cache: Option<&SignatureCache>,
) -> Result<RemoteIdentity, Error> {
    let payload = HandshakePayload::decode(bytes).map_err(Error::InvalidPayload)?;
    let key = payload
        .identity_key
        .ok_or(Error::MissingPayloadField("identity_key"))?;
    let signature = payload
        .identity_sig
        .ok_or(Error::MissingPayloadField("identity_sig"))?;
    let public_key = PublicKey::decode_protobuf(&key).map_err(Error::InvalidIdentityKey)?;
    let known = cache.is_some_and(|cache| cache.contains(&key, &signature, remote_static));
    if !known {
        if !public_key.verify(&signed_message(remote_static), &signature) {
            return Err(Error::InvalidSignature);
        }
        if let Some(cache) = cache {
            cache.insert(&key, &signature, remote_static);
        }
    }
    Ok(RemoteIdentity {
        peer_id: public_key.to_peer_id(),
        public_key,
        extensions: payload.extensions.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_payload_verifies_against_its_static_key_only() {
        let identity = Keypair::generate_ed25519();
        let static_key = [5u8; DH_LEN];
        let extensions = Extensions {
            webtransport_certhashes: vec![vec![0x12, 0x20, 1, 2]],
            stream_muxers: vec!["/yamux/1.0.0".into()],
        };
        let bytes = encode(&identity, &static_key, Some(extensions.clone())).unwrap();
        let remote = verify(&bytes, &static_key).unwrap();
        assert_eq!(remote.peer_id, identity.peer_id());
        assert_eq!(remote.public_key, identity.public());
        assert_eq!(remote.extensions, extensions);
        assert!(matches!(
            verify(&bytes, &[6u8; DH_LEN]),
            Err(Error::InvalidSignature)
        ));
    }

    #[test]
    fn rejects_payloads_without_key_or_signature() {
        let missing_key = HandshakePayload {
            identity_key: None,
            identity_sig: Some(vec![1]),
            extensions: None,
        };
        assert!(matches!(
            verify(&missing_key.encode_to_vec(), &[0; DH_LEN]),
            Err(Error::MissingPayloadField("identity_key"))
        ));
        let missing_sig = HandshakePayload {
            identity_key: Some(Keypair::generate_ed25519().public().encode_protobuf()),
            identity_sig: None,
            extensions: None,
        };
        assert!(matches!(
            verify(&missing_sig.encode_to_vec(), &[0; DH_LEN]),
            Err(Error::MissingPayloadField("identity_sig"))
        ));
        let bad_key = HandshakePayload {
            identity_key: Some(vec![8, 1, 18, 3, 1, 2, 3]),
            identity_sig: Some(vec![1]),
            extensions: None,
        };
        assert!(matches!(
            verify(&bad_key.encode_to_vec(), &[0; DH_LEN]),
            Err(Error::InvalidIdentityKey(_))
        ));
        assert!(matches!(
            verify(&[0xff, 0xff], &[0; DH_LEN]),
            Err(Error::InvalidPayload(_))
        ));
    }

    #[test]
    fn only_non_empty_extensions_are_sent() {
        assert_eq!(Extensions::default().non_empty(), None);
        let muxers = Extensions {
            stream_muxers: vec!["/mplex/6.7.0".into()],
            ..Extensions::default()
        };
        assert_eq!(muxers.clone().non_empty(), Some(muxers));
    }
}
