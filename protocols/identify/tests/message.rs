//! The identify message decoder: what it keeps, drops and refuses, and that no input makes
//! it panic.

use hyphae_core::PeerRecord;
use hyphae_identify::{Error, Info, MAX_LISTED, MAX_MESSAGE_LEN, MAX_SENT_MESSAGE_LEN};
use hyphae_identity::{Keypair, PeerId};
use hyphae_multiaddr::Multiaddr;
use proptest::prelude::*;

fn addr(port: u16) -> Multiaddr {
    format!("/ip4/192.0.2.1/tcp/{port}").parse().unwrap()
}

fn full_info(keypair: &Keypair) -> Info {
    let addrs = vec![addr(1), "/ip6/::1/udp/2/quic-v1".parse().unwrap()];
    Info {
        public_key: Some(keypair.public()),
        protocol_version: Some("ipfs/0.1.0".into()),
        agent_version: Some("hyphae/test".into()),
        listen_addrs: addrs.clone(),
        protocols: vec!["/ipfs/ping/1.0.0".into(), "/ipfs/id/1.0.0".into()],
        observed_addr: Some(addr(9)),
        signed_peer_record: Some(PeerRecord::new(keypair, addrs, 7).unwrap()),
    }
}

/// A protobuf field: tag, wire type, then the bytes (length-delimited fields only).
fn field(tag: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![(tag << 3) | 2, bytes.len() as u8];
    out.extend_from_slice(bytes);
    out
}

#[test]
fn round_trips_every_field() {
    let keypair = Keypair::generate_ed25519();
    let info = full_info(&keypair);
    let decoded = Info::decode(&info.encode(), keypair.peer_id()).unwrap();
    assert_eq!(decoded, info);
}

#[test]
fn an_empty_message_is_a_valid_partial_push() {
    let decoded = Info::decode(&[], PeerId::random()).unwrap();
    assert_eq!(decoded, Info::default());
}

#[test]
fn refuses_a_key_that_is_not_the_peers() {
    let keypair = Keypair::generate_ed25519();
    let other = PeerId::random();
    let error = Info::decode(&full_info(&keypair).encode(), other).unwrap_err();
    assert!(
        matches!(error, Error::PeerIdMismatch { expected, actual }
            if expected == other && actual == keypair.peer_id()),
        "{error}"
    );
}

#[test]
fn refuses_an_invalid_key() {
    let bytes = field(1, b"not a key");
    assert!(matches!(
        Info::decode(&bytes, PeerId::random()),
        Err(Error::PublicKey(_))
    ));
}

#[test]
fn refuses_a_message_over_the_limit_before_parsing_it() {
    let bytes = vec![0u8; MAX_MESSAGE_LEN + 1];
    assert!(matches!(
        Info::decode(&bytes, PeerId::random()),
        Err(Error::MessageTooLarge { len, max }) if len == MAX_MESSAGE_LEN + 1 && max == MAX_MESSAGE_LEN
    ));
}

#[test]
fn refuses_bytes_that_are_not_protobuf() {
    // Field 3 (protocols) claims 100 bytes and has 2.
    assert!(matches!(
        Info::decode(&[0x1a, 100, b'a', b'b'], PeerId::random()),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn drops_unparsable_addresses_and_keeps_the_rest() {
    let mut bytes = field(2, &addr(1).to_vec());
    bytes.extend(field(2, &[0xff, 0xff, 0xff]));
    bytes.extend(field(2, &addr(2).to_vec()));
    bytes.extend(field(4, &[0xff]));
    let decoded = Info::decode(&bytes, PeerId::random()).unwrap();
    assert_eq!(decoded.listen_addrs, vec![addr(1), addr(2)]);
    assert_eq!(decoded.observed_addr, None);
}

#[test]
fn drops_a_record_signed_by_another_peer() {
    let keypair = Keypair::generate_ed25519();
    let stranger = Keypair::generate_ed25519();
    let mut info = full_info(&keypair);
    info.signed_peer_record = Some(PeerRecord::new(&stranger, vec![addr(3)], 1).unwrap());
    let decoded = Info::decode(&info.encode(), keypair.peer_id()).unwrap();
    assert_eq!(decoded.signed_peer_record, None);
    assert_eq!(decoded.listen_addrs, info.listen_addrs);
}

#[test]
fn keeps_at_most_max_listed_protocols() {
    let bytes: Vec<u8> = (0..MAX_LISTED + 10)
        .flat_map(|i| field(3, format!("/p/{i}").as_bytes()))
        .collect();
    let decoded = Info::decode(&bytes, PeerId::random()).unwrap();
    assert_eq!(decoded.protocols.len(), MAX_LISTED);
    assert_eq!(decoded.protocols[0], "/p/0");
}

#[test]
fn ignores_unknown_fields() {
    let mut bytes = field(3, b"/a");
    bytes.extend(field(15, b"future"));
    let decoded = Info::decode(&bytes, PeerId::random()).unwrap();
    assert_eq!(decoded.protocols, vec!["/a".to_owned()]);
}

#[test]
fn encoding_leaves_out_addresses_to_fit_what_peers_accept() {
    let keypair = Keypair::generate_ed25519();
    let mut info = full_info(&keypair);
    info.listen_addrs = (0..400).map(addr).collect();
    let bytes = info.encode();
    assert!(bytes.len() <= MAX_SENT_MESSAGE_LEN, "{} bytes", bytes.len());
    let decoded = Info::decode(&bytes, keypair.peer_id()).unwrap();
    assert_eq!(decoded.protocols, info.protocols);
    assert!(!decoded.listen_addrs.is_empty());
    assert_eq!(
        decoded.listen_addrs[..],
        info.listen_addrs[..decoded.listen_addrs.len()]
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Info::decode(&bytes, PeerId::random());
    }

    #[test]
    fn arbitrary_fields_never_panic(
        fields in proptest::collection::vec((1u8..16, proptest::collection::vec(any::<u8>(), 0..64)), 0..32)
    ) {
        let bytes: Vec<u8> = fields.iter().flat_map(|(tag, value)| field(*tag, value)).collect();
        let _ = Info::decode(&bytes, PeerId::random());
    }

    #[test]
    fn protocols_and_addresses_round_trip(
        protocols in proptest::collection::vec("/[a-z0-9/.]{1,30}", 0..20),
        ports in proptest::collection::vec(any::<u16>(), 0..20),
    ) {
        let info = Info {
            protocols,
            listen_addrs: ports.into_iter().map(addr).collect(),
            ..Info::default()
        };
        let decoded = Info::decode(&info.encode(), PeerId::random()).unwrap();
        prop_assert_eq!(decoded, info);
    }
}

#[test]
fn keeps_at_most_max_listed_addresses_of_a_message_full_of_them() {
    // As many addresses as fit in one message: over a thousand.
    let mut bytes = Vec::new();
    let mut port = 0u16;
    loop {
        let next = field(2, &addr(port).to_vec());
        if bytes.len() + next.len() > MAX_MESSAGE_LEN {
            break;
        }
        bytes.extend(next);
        port += 1;
    }
    assert!(usize::from(port) > 5 * MAX_LISTED, "{port} addresses");
    let decoded = Info::decode(&bytes, PeerId::random()).unwrap();
    assert_eq!(decoded.listen_addrs.len(), MAX_LISTED);
    assert_eq!(decoded.listen_addrs[0], addr(0));
}

#[test]
fn a_known_record_stands_in_only_for_its_own_bytes() {
    let keypair = Keypair::generate_ed25519();
    let peer = keypair.peer_id();
    let info = full_info(&keypair);
    let known = info.signed_peer_record.clone().unwrap();
    // The same record: the known one is taken.
    let decoded = Info::decode_knowing(&info.encode(), peer, Some(&known)).unwrap();
    assert_eq!(decoded.signed_peer_record.as_ref(), Some(&known));
    // A newer record: it is read (and verified) from the message.
    let mut newer = full_info(&keypair);
    newer.signed_peer_record = Some(PeerRecord::new(&keypair, vec![addr(4)], 8).unwrap());
    let decoded = Info::decode_knowing(&newer.encode(), peer, Some(&known)).unwrap();
    assert_eq!(decoded.signed_peer_record, newer.signed_peer_record);
    // A record whose signature fails is dropped, known record or not.
    let mut bytes = newer.signed_peer_record.as_ref().unwrap().encode();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let mut message = Info {
        signed_peer_record: None,
        ..full_info(&keypair)
    }
    .encode();
    // Field 8, length-delimited, with a two-byte varint length (the envelope is 128 to
    // 16383 bytes long).
    assert!((128..16384).contains(&bytes.len()));
    message.extend([
        (8 << 3) | 2,
        (bytes.len() as u8) | 0x80,
        (bytes.len() >> 7) as u8,
    ]);
    message.extend(&bytes);
    let decoded = Info::decode_knowing(&message, peer, Some(&known)).unwrap();
    assert_eq!(decoded.signed_peer_record, None);
}
