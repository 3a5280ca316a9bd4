//! The identify message (identify/README.md in libp2p/specs), plus field 8
//! `signedPeerRecord`, which go-libp2p, rust-libp2p and js-libp2p all send though the spec
//! text does not list it.

use hyphae_core::PeerRecord;
use hyphae_identity::{PeerId, PublicKey};
use hyphae_multiaddr::Multiaddr;
use prost::Message;

use crate::Error;

/// Largest identify message we read. js-libp2p allows 8 KiB; rust-libp2p sends at most 4 KiB.
pub const MAX_MESSAGE_LEN: usize = 8 * 1024;
/// Largest identify message we send, so rust-libp2p peers (4 KiB limit) accept it.
pub const MAX_SENT_MESSAGE_LEN: usize = 4096;
/// Most listen addresses and protocols kept from one message; the rest are ignored.
pub const MAX_LISTED: usize = 128;

/// What a peer tells about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Info {
    /// The peer's public key (always present in a full identify answer).
    pub public_key: Option<PublicKey>,
    /// The family of protocols the peer speaks, e.g. `ipfs/0.1.0`.
    pub protocol_version: Option<String>,
    /// The implementation and version, e.g. `hyphae/0.1.0`.
    pub agent_version: Option<String>,
    /// Addresses the peer listens on.
    pub listen_addrs: Vec<Multiaddr>,
    /// Protocols the peer accepts streams for.
    pub protocols: Vec<String>,
    /// Our address as the peer sees it.
    pub observed_addr: Option<Multiaddr>,
    /// The peer's signed peer record, verified.
    pub signed_peer_record: Option<PeerRecord>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Identify {
    #[prost(bytes = "vec", optional, tag = "1")]
    public_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    listen_addrs: Vec<Vec<u8>>,
    #[prost(string, repeated, tag = "3")]
    protocols: Vec<String>,
    #[prost(bytes = "vec", optional, tag = "4")]
    observed_addr: Option<Vec<u8>>,
    #[prost(string, optional, tag = "5")]
    protocol_version: Option<String>,
    #[prost(string, optional, tag = "6")]
    agent_version: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    signed_peer_record: Option<Vec<u8>>,
}

impl Info {
    /// Encodes the message, leaving out listen addresses from the end if it would not fit
    /// in [`MAX_SENT_MESSAGE_LEN`] bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut message = Identify {
            public_key: self.public_key.as_ref().map(PublicKey::encode_protobuf),
            listen_addrs: self.listen_addrs.iter().map(Multiaddr::to_vec).collect(),
            protocols: self.protocols.clone(),
            observed_addr: self.observed_addr.as_ref().map(Multiaddr::to_vec),
            protocol_version: self.protocol_version.clone(),
            agent_version: self.agent_version.clone(),
            signed_peer_record: self.signed_peer_record.as_ref().map(PeerRecord::encode),
        };
        while message.encoded_len() > MAX_SENT_MESSAGE_LEN {
            if message.signed_peer_record.take().is_some() {
                continue;
            }
            if message.listen_addrs.pop().is_none() && message.protocols.pop().is_none() {
                break;
            }
        }
        message.encode_to_vec()
    }

    /// Decodes a message received from `peer`.
    ///
    /// Entries a peer got wrong (an unparsable address, a record that does not verify or is
    /// for another peer) are dropped rather than failing the whole message, as other
    /// implementations do; a public key that is not `peer`'s is an error.
    pub fn decode(bytes: &[u8], peer: PeerId) -> Result<Info, Error> {
        Info::decode_knowing(bytes, peer, None)
    }

    /// [`Info::decode`], taking the signed peer record as `known` without checking its
    /// signature again if the message carries exactly its bytes: `known` must be a record
    /// verified before (every [`PeerRecord`] is, being made only by signing or verifying).
    pub fn decode_knowing(
        bytes: &[u8],
        peer: PeerId,
        known: Option<&PeerRecord>,
    ) -> Result<Info, Error> {
        if bytes.len() > MAX_MESSAGE_LEN {
            return Err(Error::MessageTooLarge {
                len: bytes.len(),
                max: MAX_MESSAGE_LEN,
            });
        }
        let message = Identify::decode(bytes).map_err(Error::Malformed)?;
        let public_key = match message.public_key {
            Some(bytes) => {
                let key = PublicKey::decode_protobuf(&bytes).map_err(Error::PublicKey)?;
                if !peer.is_public_key(&key) {
                    return Err(Error::PeerIdMismatch {
                        expected: peer,
                        actual: key.to_peer_id(),
                    });
                }
                Some(key)
            }
            None => None,
        };
        let signed_peer_record = message
            .signed_peer_record
            .and_then(|bytes| match known {
                Some(known) if known.encode() == bytes => Some(known.clone()),
                _ => PeerRecord::decode(&bytes).ok(),
            })
            .filter(|record| record.peer_id() == peer);
        Ok(Info {
            public_key,
            protocol_version: message.protocol_version,
            agent_version: message.agent_version,
            listen_addrs: message
                .listen_addrs
                .into_iter()
                .take(MAX_LISTED)
                .filter_map(|bytes| Multiaddr::try_from(bytes).ok())
                .collect(),
            protocols: message.protocols.into_iter().take(MAX_LISTED).collect(),
            observed_addr: message
                .observed_addr
                .and_then(|bytes| Multiaddr::try_from(bytes).ok()),
            signed_peer_record,
        })
    }
}
