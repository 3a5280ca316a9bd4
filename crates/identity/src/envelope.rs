//! Signed envelopes (RFC/0002-signed-envelopes.md): a payload signed together with a domain
//! string and a payload type, so a signature made for one purpose cannot be replayed for
//! another.

use hyphae_encoding::varint;
use prost::Message;

use crate::{Error, Keypair, PublicKey, proto};

/// A payload, its type, and the signature of the key that sealed it.
///
/// Decoding does not verify; [`open`](SignedEnvelope::open) does, for a given domain and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedEnvelope {
    signer: PublicKey,
    payload_type: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl SignedEnvelope {
    /// Signs `payload` of `payload_type` for use in `domain`.
    ///
    /// ```
    /// use hyphae_identity::{Keypair, SignedEnvelope};
    ///
    /// let key = Keypair::generate_ed25519();
    /// let sealed = SignedEnvelope::seal(&key, "my-domain", b"\x03\x01", b"hi".to_vec())?;
    /// let opened = SignedEnvelope::decode(&sealed.encode())?;
    /// assert_eq!(opened.open("my-domain", b"\x03\x01")?, b"hi");
    /// assert!(opened.open("other-domain", b"\x03\x01").is_err());
    /// # Ok::<(), hyphae_identity::Error>(())
    /// ```
    pub fn seal(
        keypair: &Keypair,
        domain: &str,
        payload_type: &[u8],
        payload: Vec<u8>,
    ) -> Result<SignedEnvelope, Error> {
        let signature = keypair.sign(&signed_bytes(domain, payload_type, &payload))?;
        Ok(SignedEnvelope {
            signer: keypair.public(),
            payload_type: payload_type.to_vec(),
            payload,
            signature,
        })
    }

    /// Decodes the `Envelope` protobuf without verifying the signature.
    pub fn decode(bytes: &[u8]) -> Result<SignedEnvelope, Error> {
        let message = proto::Envelope::decode(bytes).map_err(|error| Error::Protobuf {
            message: "Envelope",
            error,
        })?;
        let key = message.public_key.ok_or(Error::EnvelopeWithoutKey)?;
        let signer = PublicKey::from_proto(&key)?;
        Ok(SignedEnvelope {
            signer,
            payload_type: message.payload_type,
            payload: message.payload,
            signature: message.signature,
        })
    }

    /// Encodes the `Envelope` protobuf.
    pub fn encode(&self) -> Vec<u8> {
        proto::Envelope {
            public_key: Some(self.signer.to_proto()),
            payload_type: self.payload_type.clone(),
            payload: self.payload.clone(),
            signature: self.signature.clone(),
        }
        .encode_to_vec()
    }

    /// Verifies the envelope for `domain` and `payload_type` and returns the payload.
    pub fn open(&self, domain: &str, payload_type: &[u8]) -> Result<&[u8], Error> {
        if self.payload_type != payload_type {
            return Err(Error::PayloadTypeMismatch {
                expected: payload_type.to_vec(),
                actual: self.payload_type.clone(),
            });
        }
        let signed = signed_bytes(domain, &self.payload_type, &self.payload);
        if !self.signer.verify(&signed, &self.signature) {
            return Err(Error::InvalidSignature);
        }
        Ok(&self.payload)
    }

    /// The key that signed the envelope (authentic only once [`open`](Self::open) succeeded).
    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    /// The payload type the envelope claims.
    pub fn payload_type(&self) -> &[u8] {
        &self.payload_type
    }

    /// The payload, unverified; prefer [`open`](Self::open).
    pub fn payload_unverified(&self) -> &[u8] {
        &self.payload
    }
}

/// What is signed: each of domain, type and payload prefixed by its varint length.
fn signed_bytes(domain: &str, payload_type: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut bytes =
        Vec::with_capacity(domain.len() + payload_type.len() + payload.len() + 3 * varint::MAX_LEN);
    for part in [domain.as_bytes(), payload_type, payload] {
        varint::encode_to_vec(part.len() as u64, &mut bytes);
        bytes.extend_from_slice(part);
    }
    bytes
}
