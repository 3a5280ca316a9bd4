//! Signed peer records (RFC/0003-routing-records.md in libp2p/specs): a peer's own, signed,
//! sequence-numbered list of its addresses, carried in a signed envelope.
//!
//! The RFC text names the domain `libp2p-routing-state`; go-libp2p, rust-libp2p and
//! js-libp2p all use domain `libp2p-peer-record` and payload type `0x0301` (the multicodec of
//! `libp2p-peer-record`), so that is what we sign and accept.

use hyphae_identity::{Keypair, PeerId, SignedEnvelope};
use hyphae_multiaddr::Multiaddr;
use prost::Message;

use crate::Error;

/// The signing domain of peer records.
pub const DOMAIN: &str = "libp2p-peer-record";
/// The envelope payload type of peer records: the multicodec `0x0301` as a varint.
pub const PAYLOAD_TYPE: &[u8] = &[0x03, 0x01];
/// Most addresses a record may carry; go-libp2p's CVE-2023-40583 came from records of
/// unbounded size being stored for remote peers.
pub const MAX_ADDRESSES: usize = 64;

/// A verified peer record: the addresses a peer claims, signed by that peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    peer_id: PeerId,
    seq: u64,
    addresses: Vec<Multiaddr>,
    envelope: SignedEnvelope,
}

impl PeerRecord {
    /// Signs a record of `addresses` for `keypair`'s peer. `seq` must grow with every new
    /// record of the same peer (a timestamp works); peers keep only the highest they saw.
    pub fn new(
        keypair: &Keypair,
        addresses: Vec<Multiaddr>,
        seq: u64,
    ) -> Result<PeerRecord, Error> {
        if addresses.len() > MAX_ADDRESSES {
            return Err(Error::TooManyRecordAddresses {
                count: addresses.len(),
                max: MAX_ADDRESSES,
            });
        }
        let peer_id = keypair.peer_id();
        let payload = proto::PeerRecord {
            peer_id: peer_id.to_bytes(),
            seq,
            addresses: addresses
                .iter()
                .map(|addr| proto::AddressInfo {
                    multiaddr: addr.to_vec(),
                })
                .collect(),
        }
        .encode_to_vec();
        let envelope = SignedEnvelope::seal(keypair, DOMAIN, PAYLOAD_TYPE, payload)?;
        Ok(PeerRecord {
            peer_id,
            seq,
            addresses,
            envelope,
        })
    }

    /// Verifies and decodes a record from its signed envelope.
    ///
    /// The envelope must verify for the peer record domain and type, and the record's peer
    /// id must be the signer's.
    pub fn from_envelope(envelope: SignedEnvelope) -> Result<PeerRecord, Error> {
        let payload = envelope.open(DOMAIN, PAYLOAD_TYPE)?;
        let record = proto::PeerRecord::decode(payload).map_err(Error::PeerRecordProtobuf)?;
        let peer_id = PeerId::from_bytes(&record.peer_id)?;
        let signer = envelope.signer().to_peer_id();
        if peer_id != signer {
            return Err(Error::PeerRecordSignerMismatch {
                record: peer_id,
                signer,
            });
        }
        if record.addresses.len() > MAX_ADDRESSES {
            return Err(Error::TooManyRecordAddresses {
                count: record.addresses.len(),
                max: MAX_ADDRESSES,
            });
        }
        let addresses = record
            .addresses
            .into_iter()
            .map(|info| Multiaddr::try_from(info.multiaddr))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PeerRecord {
            peer_id,
            seq: record.seq,
            addresses,
            envelope,
        })
    }

    /// Decodes and verifies a record from the bytes of its signed envelope.
    pub fn decode(bytes: &[u8]) -> Result<PeerRecord, Error> {
        PeerRecord::from_envelope(SignedEnvelope::decode(bytes)?)
    }

    /// The bytes of the signed envelope, as sent in identify's `signedPeerRecord`.
    pub fn encode(&self) -> Vec<u8> {
        self.envelope.encode()
    }

    /// The peer the record describes (and that signed it).
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The sequence number; higher is newer.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The addresses the peer claims.
    pub fn addresses(&self) -> &[Multiaddr] {
        &self.addresses
    }

    /// The signed envelope the record came in.
    pub fn envelope(&self) -> &SignedEnvelope {
        &self.envelope
    }
}

mod proto {
    /// `message PeerRecord { bytes peer_id = 1; uint64 seq = 2;
    /// repeated AddressInfo addresses = 3; }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct PeerRecord {
        #[prost(bytes = "vec", tag = "1")]
        pub(super) peer_id: Vec<u8>,
        #[prost(uint64, tag = "2")]
        pub(super) seq: u64,
        #[prost(message, repeated, tag = "3")]
        pub(super) addresses: Vec<AddressInfo>,
    }

    /// `message AddressInfo { bytes multiaddr = 1; }`
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct AddressInfo {
        #[prost(bytes = "vec", tag = "1")]
        pub(super) multiaddr: Vec<u8>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addrs() -> Vec<Multiaddr> {
        vec![
            "/ip4/127.0.0.1/tcp/4001".parse().unwrap(),
            "/ip6/::1/udp/4001/quic-v1".parse().unwrap(),
        ]
    }

    #[test]
    fn round_trips_through_its_envelope() {
        let keypair = Keypair::generate_ed25519();
        let record = PeerRecord::new(&keypair, addrs(), 42).unwrap();
        let decoded = PeerRecord::decode(&record.encode()).unwrap();
        assert_eq!(decoded.peer_id(), keypair.peer_id());
        assert_eq!(decoded.seq(), 42);
        assert_eq!(decoded.addresses(), &addrs()[..]);
        assert_eq!(decoded, record);
    }

    #[test]
    fn rejects_a_record_for_another_peer() {
        let signer = Keypair::generate_ed25519();
        let victim = PeerId::random();
        let payload = proto::PeerRecord {
            peer_id: victim.to_bytes(),
            seq: 1,
            addresses: vec![],
        }
        .encode_to_vec();
        let envelope = SignedEnvelope::seal(&signer, DOMAIN, PAYLOAD_TYPE, payload).unwrap();
        assert!(matches!(
            PeerRecord::from_envelope(envelope),
            Err(Error::PeerRecordSignerMismatch { record, .. }) if record == victim
        ));
    }

    #[test]
    fn rejects_other_domains_and_types() {
        let keypair = Keypair::generate_ed25519();
        let record = PeerRecord::new(&keypair, addrs(), 1).unwrap();
        let payload = record.envelope().payload_unverified().to_vec();
        let legacy = SignedEnvelope::seal(
            &keypair,
            "libp2p-routing-state",
            PAYLOAD_TYPE,
            payload.clone(),
        )
        .unwrap();
        assert!(PeerRecord::from_envelope(legacy).is_err());
        let other_type = SignedEnvelope::seal(&keypair, DOMAIN, b"/other", payload).unwrap();
        assert!(PeerRecord::from_envelope(other_type).is_err());
    }

    #[test]
    fn bounds_the_number_of_addresses() {
        let keypair = Keypair::generate_ed25519();
        let many = vec![addrs()[0].clone(); MAX_ADDRESSES + 1];
        assert!(matches!(
            PeerRecord::new(&keypair, many.clone(), 1),
            Err(Error::TooManyRecordAddresses { .. })
        ));
        let payload = proto::PeerRecord {
            peer_id: keypair.peer_id().to_bytes(),
            seq: 1,
            addresses: many
                .iter()
                .map(|addr| proto::AddressInfo {
                    multiaddr: addr.to_vec(),
                })
                .collect(),
        }
        .encode_to_vec();
        let envelope = SignedEnvelope::seal(&keypair, DOMAIN, PAYLOAD_TYPE, payload).unwrap();
        assert!(matches!(
            PeerRecord::from_envelope(envelope),
            Err(Error::TooManyRecordAddresses { .. })
        ));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = PeerRecord::decode(&bytes);
        }
    }
}
