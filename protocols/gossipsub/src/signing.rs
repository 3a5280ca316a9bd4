//! Message signing and its verification, pubsub/README.md "Message Signing".
//!
//! The signature covers `"libp2p-pubsub:"` followed by the protobuf encoding of the message
//! without its `signature` and `key` fields. The current spec text says only the signature
//! is left out, but go-libp2p-pubsub and rust-libp2p both sign and verify with the key left
//! out too (the key is added after signing), and they are the contract; with the key in, no
//! message of theirs would verify here.
//!
//! The encoding is rebuilt from the decoded message, in field-number order as protobuf
//! encoders write it, as go and rust verify. Two consequences, shared with rust-libp2p: a
//! signer that wrote its fields in another order, or added fields our schema does not know
//! (the spec says they are signed too; our decoder drops them), fails verification.

use hyphae_encoding::multihash;
use hyphae_identity::{Keypair, PeerId, PublicKey};

use crate::Error;
use crate::encode::Encode;
use crate::rpc::Message;

/// What the signed bytes start with (pubsub/README.md, "Message Signing").
pub(crate) const SIGNING_PREFIX: &[u8] = b"libp2p-pubsub:";

/// The bytes a message's signature covers: the prefix, then the message's protobuf encoding
/// without `signature` and `key`.
pub(crate) fn signed_bytes(message: &Message) -> Vec<u8> {
    let unsigned = Message {
        from: message.from.clone(),
        data: message.data.clone(),
        seqno: message.seqno.clone(),
        topic: message.topic.clone(),
        signature: None,
        key: None,
    };
    let mut bytes = Vec::with_capacity(SIGNING_PREFIX.len() + unsigned.encoded_len());
    bytes.extend_from_slice(SIGNING_PREFIX);
    unsigned.encode_to(&mut bytes);
    bytes
}

/// Signs `message` with `keypair`, setting its `signature`, and its `key` to `key`: the
/// encoded public key when the peer id does not inline it, else `None`.
pub(crate) fn sign(
    message: &mut Message,
    keypair: &Keypair,
    key: Option<&[u8]>,
) -> Result<(), Error> {
    let signature = keypair.sign(&signed_bytes(message)).map_err(Error::Sign)?;
    message.signature = Some(signature);
    message.key = key.map(<[u8]>::to_vec);
    Ok(())
}

/// The encoded public key a message of this keypair must carry in `key`: `Some` only when
/// the peer id is a hash of the key (RSA, ECDSA) rather than the key itself.
pub(crate) fn key_to_carry(keypair: &Keypair) -> Option<Vec<u8>> {
    let public = keypair.public();
    match public.to_peer_id().public_key() {
        Some(_) => None,
        None => Some(public.encode_protobuf()),
    }
}

/// The key that verifies messages of `author`: the carried `key`, which must be the one the
/// peer id names, or else the key the peer id inlines.
pub(crate) fn author_key(author: &PeerId, key: Option<&[u8]>) -> Result<PublicKey, Error> {
    if let Some(key) = key {
        let key = PublicKey::decode_protobuf(key).map_err(Error::InvalidKey)?;
        if !author.is_public_key(&key) {
            return Err(Error::KeyMismatch {
                author: *author,
                key_owner: key.to_peer_id(),
            });
        }
        return Ok(key);
    }
    match multihash::split(author.as_bytes()) {
        // Not `PeerId::public_key`, which would hide why an inlined key does not decode.
        Ok((multihash::IDENTITY, encoded)) => {
            PublicKey::decode_protobuf(encoded).map_err(Error::InvalidKey)
        }
        _ => Err(Error::MissingKey { author: *author }),
    }
}

/// Checks that `signature` is `author`'s over `message`, with the key `author_key` finds.
pub(crate) fn verify(message: &Message, author: &PeerId, signature: &[u8]) -> Result<(), Error> {
    let key = author_key(author, message.key.as_deref())?;
    if key.verify(&signed_bytes(message), signature) {
        Ok(())
    } else {
        Err(Error::InvalidSignature { author: *author })
    }
}
