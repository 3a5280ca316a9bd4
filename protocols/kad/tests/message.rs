//! The Kademlia wire format as other implementations write and read it: hand-built byte
//! vectors, limits, framing, and properties checked against an independent protobuf model
//! of the spec's schema (with rust-libp2p's two extra record fields).

use hyphae_encoding::Error;
use hyphae_identity::{Keypair, PeerId};
use hyphae_kad::{
    ConnectionType, DecodeError, EncodeError, Limits, MAX_PEER_ENTRY_LEN, Message, MessageType,
    PeerInfo, Record, decode_frame, encode_frame,
};
use hyphae_multiaddr::Multiaddr;
use proptest::prelude::*;
use prost::Message as _;

/// The schema of kad-dht/README.md, compiled as proto3 like go-libp2p and rust-libp2p do.
mod model {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Message {
        #[prost(int32, tag = "1")]
        pub(crate) r#type: i32,
        #[prost(bytes = "vec", tag = "2")]
        pub(crate) key: Vec<u8>,
        #[prost(message, optional, tag = "3")]
        pub(crate) record: Option<Record>,
        #[prost(message, repeated, tag = "8")]
        pub(crate) closer_peers: Vec<Peer>,
        #[prost(message, repeated, tag = "9")]
        pub(crate) provider_peers: Vec<Peer>,
        #[prost(int32, tag = "10")]
        pub(crate) cluster_level_raw: i32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Record {
        #[prost(bytes = "vec", tag = "1")]
        pub(crate) key: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub(crate) value: Vec<u8>,
        /// A string in the schema; bytes here so that the model accepts what we test with.
        #[prost(bytes = "vec", tag = "5")]
        pub(crate) time_received: Vec<u8>,
        /// rust-libp2p's non-standard publisher peer id.
        #[prost(bytes = "vec", tag = "666")]
        pub(crate) publisher: Vec<u8>,
        /// rust-libp2p's non-standard TTL in seconds.
        #[prost(uint32, tag = "777")]
        pub(crate) ttl: u32,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub(crate) struct Peer {
        #[prost(bytes = "vec", tag = "1")]
        pub(crate) id: Vec<u8>,
        #[prost(bytes = "vec", repeated, tag = "2")]
        pub(crate) addrs: Vec<Vec<u8>>,
        #[prost(int32, tag = "3")]
        pub(crate) connection: i32,
    }
}

fn peer(seed: u8) -> PeerId {
    Keypair::ed25519_from_secret(&[seed; 32]).peer_id()
}

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

fn decode(body: &[u8]) -> Result<Message, DecodeError> {
    Message::decode(body, &Limits::default())
}

#[test]
fn a_put_value_request_has_no_type_field_on_the_wire() {
    let request = Message::put_value(Record::new(b"k".to_vec(), b"v".to_vec()));
    // key = "k"; record { key = "k", value = "v" }: no field 1, since PUT_VALUE is 0.
    let expected = [
        0x12, 0x01, b'k', 0x1a, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v',
    ];
    assert_eq!(request.encode(), expected);
    let decoded = decode(&expected).unwrap();
    assert_eq!(decoded.kind, MessageType::PutValue);
    assert_eq!(decoded, request);
}

#[test]
fn an_empty_body_is_a_put_value_with_nothing_in_it() {
    let decoded = decode(&[]).unwrap();
    assert_eq!(decoded, Message::new(MessageType::PutValue, Vec::new()));
}

#[test]
fn a_find_node_request_is_its_type_and_key() {
    let key = peer(1).to_bytes();
    let mut expected = vec![0x08, 0x04, 0x12, key.len() as u8];
    expected.extend_from_slice(&key);
    assert_eq!(Message::find_node(key.clone()).encode(), expected);
    assert_eq!(decode(&expected).unwrap(), Message::find_node(key));
}

#[test]
fn a_record_with_rust_libp2p_publisher_and_ttl_fields_decodes() {
    let record = [
        0x0a, 0x01, b'k', // key
        0x12, 0x01, b'v', // value
        0xd2, 0x29, 0x02, 0xab, 0xcd, // 666 publisher, bytes
        0xc8, 0x30, 0x90, 0x1c, // 777 ttl = 3600
        0x2a, 0x14, // 5 timeReceived
    ];
    let time = b"2026-12-02T15:04:05Z";
    let mut body = vec![0x08, 0x01, 0x1a, (record.len() + time.len()) as u8];
    body.extend_from_slice(&record);
    body.extend_from_slice(time);

    let decoded = decode(&body).unwrap();
    assert_eq!(decoded.kind, MessageType::GetValue);
    let expected = Record {
        time_received: Some("2026-12-02T15:04:05Z".into()),
        ..Record::new(b"k".to_vec(), b"v".to_vec())
    };
    assert_eq!(decoded.record, Some(expected));
    let model = model::Message::decode(&body[..]).unwrap();
    assert_eq!(model.record.unwrap().ttl, 3600);
}

#[test]
fn not_connected_peers_carry_no_connection_field() {
    let id = peer(2);
    let id_len = id.as_bytes().len();
    let mut listed = PeerInfo::new(id, vec![]);
    let body = Message::find_node_response(vec![listed.clone()]).encode();
    // type FIND_NODE, then closerPeers { id }: no key, no connection.
    let mut expected = vec![0x08, 0x04, 0x42, (id_len + 2) as u8, 0x0a, id_len as u8];
    expected.extend_from_slice(id.as_bytes());
    assert_eq!(body, expected);

    listed.connection = ConnectionType::Connected;
    let body = Message::find_node_response(vec![listed]).encode();
    assert_eq!(body[2..4], [0x42, (id_len + 4) as u8]);
    assert_eq!(body[body.len() - 2..], [0x18, 0x01]);
}

#[test]
fn unknown_connection_values_read_as_not_connected() {
    let model = model::Message {
        r#type: 4,
        closer_peers: vec![model::Peer {
            id: peer(3).to_bytes(),
            addrs: vec![],
            connection: 7,
        }],
        ..model::Message::default()
    };
    let decoded = decode(&model.encode_to_vec()).unwrap();
    assert_eq!(
        decoded.closer_peers[0].connection,
        ConnectionType::NotConnected
    );
}

#[test]
fn an_unknown_message_type_is_an_error() {
    assert_eq!(
        decode(&[0x08, 0x06]),
        Err(DecodeError::UnknownMessageType(6))
    );
    let minus_one = [
        0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
    ];
    assert_eq!(decode(&minus_one), Err(DecodeError::UnknownMessageType(-1)));
}

#[test]
fn unknown_fields_of_every_wire_type_are_ignored() {
    let body = [
        0x50, 0x01, // 10 clusterLevelRaw = 1, as go-libp2p sends it
        0x08, 0x03, // type GET_PROVIDERS
        0xa5, 0x06, 1, 2, 3, 4, // 100, fixed32
        0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, // 100, fixed64
        0xa2, 0x06, 0x02, 0xff, 0xff, // 100, bytes
    ];
    assert_eq!(decode(&body).unwrap().kind, MessageType::GetProviders);
}

#[test]
fn malformed_protobuf_is_an_error() {
    let protobuf = |error| Err(DecodeError::Protobuf(error));
    assert_eq!(
        decode(&[0x12, 0x05, b'k']),
        protobuf(Error::ProtobufTruncated)
    );
    assert_eq!(decode(&[0x08]), protobuf(Error::ProtobufTruncated));
    assert_eq!(
        decode(&[0x00, 0x00]),
        protobuf(Error::ProtobufFieldNumber(0))
    );
    assert_eq!(decode(&[0x0b]), protobuf(Error::ProtobufWireType(3)));
    // The key as a varint.
    let wrong_type = Error::ProtobufUnexpectedWireType {
        field: 2,
        wire_type: 0,
    };
    assert_eq!(decode(&[0x10, 0x01]), protobuf(wrong_type));
    assert_eq!(
        decode(&[
            0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02
        ]),
        protobuf(Error::VarintOverflow)
    );
}

#[test]
fn keys_are_arbitrary_bytes() {
    for key in [vec![], vec![0xff; 3], b"/not/a/cid".to_vec(), vec![0; 1000]] {
        let request = Message::get_providers(key.clone());
        assert_eq!(decode(&request.encode()).unwrap().key, key);
    }
}

#[test]
fn peers_whose_id_does_not_parse_are_skipped() {
    let model = model::Message {
        r#type: 4,
        closer_peers: vec![
            model::Peer {
                id: b"not a multihash".to_vec(),
                ..model::Peer::default()
            },
            model::Peer::default(),
            model::Peer {
                id: peer(4).to_bytes(),
                ..model::Peer::default()
            },
        ],
        ..model::Message::default()
    };
    let decoded = decode(&model.encode_to_vec()).unwrap();
    assert_eq!(decoded.closer_peers, vec![PeerInfo::new(peer(4), vec![])]);
}

#[test]
fn addresses_that_do_not_parse_or_are_too_long_are_skipped() {
    let good = addr("/ip4/192.0.2.1/tcp/4001");
    let long = addr(&format!("/dns4/{}.example/tcp/1", "a".repeat(240)));
    let limits = Limits {
        max_addr_len: 200,
        ..Limits::default()
    };
    let model = model::Message {
        r#type: 4,
        closer_peers: vec![model::Peer {
            id: peer(5).to_bytes(),
            // An unknown protocol code, a truncated address, then a good and a long one.
            addrs: vec![
                vec![0xef, 0xff, 0x03, 0x00],
                vec![0x04, 192],
                good.to_vec(),
                long.to_vec(),
            ],
            connection: 1,
        }],
        ..model::Message::default()
    };
    let decoded = Message::decode(&model.encode_to_vec(), &limits).unwrap();
    assert_eq!(decoded.closer_peers[0].addrs, vec![good]);
    assert_eq!(
        decoded.closer_peers[0].connection,
        ConnectionType::Connected
    );
}

#[test]
fn peers_and_addresses_past_their_limits_are_dropped_not_refused() {
    let limits = Limits {
        max_peers: 3,
        max_addrs_per_peer: 2,
        ..Limits::default()
    };
    let addrs: Vec<Multiaddr> = (1..=4)
        .map(|port| addr(&format!("/ip4/192.0.2.1/tcp/{port}")))
        .collect();
    let listed = PeerInfo::new(peer(6), addrs.clone());
    let mut response =
        Message::get_providers_response(b"key".to_vec(), vec![listed.clone(); 5], vec![]);
    let mut body = response.encode();
    // Entries past the limit are skipped unread: even a malformed one.
    body.extend_from_slice(&[0x4a, 0x02, 0x0a, 0x7f]);

    let decoded = Message::decode(&body, &limits).unwrap();
    assert_eq!(decoded.provider_peers.len(), 3);
    assert_eq!(decoded.provider_peers[0].addrs, addrs[..2]);
    response.provider_peers.truncate(3);
    for provider in &mut response.provider_peers {
        provider.addrs.truncate(2);
    }
    assert_eq!(decoded, response);
}

/// A peer with 200 addresses of about 60 bytes: 12 KiB, over the entry bound.
fn peer_with_many_addresses() -> PeerInfo {
    let addrs = (0..200)
        .map(|index| {
            addr(&format!(
                "/dns4/host-{index:04}.{}.example/tcp/4001",
                "x".repeat(32)
            ))
        })
        .collect();
    PeerInfo::new(peer(7), addrs)
}

#[test]
fn a_sent_peer_entry_is_trimmed_to_8_kib_from_its_last_address() {
    let listed = peer_with_many_addresses();
    let body = Message::find_node_response(vec![listed.clone()]).encode();
    let model = model::Message::decode(&body[..]).unwrap();
    let entry = &model.closer_peers[0];
    assert!(entry.encoded_len() <= MAX_PEER_ENTRY_LEN);
    assert!(
        entry.encoded_len() > MAX_PEER_ENTRY_LEN - 100,
        "trimmed no more than needed"
    );
    assert_eq!(entry.id, listed.id.to_bytes());
    let kept: Vec<Vec<u8>> = listed.addrs[..entry.addrs.len()]
        .iter()
        .map(Multiaddr::to_vec)
        .collect();
    assert_eq!(entry.addrs, kept);
}

#[test]
fn a_received_peer_entry_is_trimmed_to_8_kib_too() {
    let listed = peer_with_many_addresses();
    let model = model::Message {
        r#type: 4,
        closer_peers: vec![model::Peer {
            id: listed.id.to_bytes(),
            addrs: listed.addrs.iter().map(Multiaddr::to_vec).collect(),
            connection: 0,
        }],
        ..model::Message::default()
    };
    let limits = Limits {
        max_addrs_per_peer: 1000,
        ..Limits::default()
    };
    let decoded = Message::decode(&model.encode_to_vec(), &limits).unwrap();
    let kept = decoded.closer_peers[0].addrs.len();
    assert!(kept > 100 && kept < 200, "{kept} addresses kept");
    // What we read is what we would have sent.
    let sent = Message::find_node_response(vec![listed]).encode();
    assert_eq!(Message::decode(&sent, &limits).unwrap(), decoded);
}

#[test]
fn a_frame_is_its_length_then_its_body() {
    let request = Message::get_value(b"/pk/key".to_vec());
    let frame = encode_frame(&request, &Limits::default()).unwrap();
    let body = request.encode();
    assert_eq!(frame[0] as usize, body.len());
    assert_eq!(frame[1..], body[..]);
}

#[test]
fn decode_frame_waits_for_the_whole_frame_and_reports_what_it_used() {
    let limits = Limits::default();
    let first = Message::find_node(vec![0xaa; 200]);
    let second = Message::ping();
    let mut stream = encode_frame(&first, &limits).unwrap();
    let first_len = stream.len();
    assert_eq!(stream[..2], [0xcd, 0x01], "a two-byte length prefix");
    stream.extend(encode_frame(&second, &limits).unwrap());

    for end in 0..first_len {
        assert_eq!(
            decode_frame(&stream[..end], &limits),
            Ok(None),
            "{end} bytes"
        );
    }
    let (decoded, used) = decode_frame(&stream, &limits).unwrap().unwrap();
    assert_eq!((decoded, used), (first, first_len));
    let (decoded, used) = decode_frame(&stream[first_len..], &limits)
        .unwrap()
        .unwrap();
    assert_eq!((decoded, used), (second, stream.len() - first_len));
}

#[test]
fn a_length_prefix_over_the_limit_is_refused_before_the_body_arrives() {
    let limits = Limits::default();
    let max = limits.max_message_len;
    let mut prefix = Vec::new();
    hyphae_encoding::varint::encode_to_vec(max as u64 + 1, &mut prefix);
    let too_large = DecodeError::TooLarge {
        len: max as u64 + 1,
        max,
    };
    assert_eq!(decode_frame(&prefix, &limits), Err(too_large));

    // Exactly the limit is fine: wait for the body.
    prefix.clear();
    hyphae_encoding::varint::encode_to_vec(max as u64, &mut prefix);
    assert_eq!(decode_frame(&prefix, &limits), Ok(None));
}

#[test]
fn an_incomplete_length_prefix_already_over_the_limit_is_refused() {
    let limits = Limits {
        max_message_len: 1000,
        ..Limits::default()
    };
    // Two bytes that continue: the length is at least 2^14.
    assert!(matches!(
        decode_frame(&[0x80, 0x80], &limits),
        Err(DecodeError::TooLarge { len: 16_384, .. })
    ));
    assert_eq!(decode_frame(&[0x80], &limits), Ok(None));
}

#[test]
fn a_malformed_length_prefix_is_refused() {
    assert_eq!(
        decode_frame(&[0x81, 0x00], &Limits::default()),
        Err(DecodeError::LengthPrefix)
    );
    assert_eq!(
        decode_frame(&[0xff; 11], &Limits::default()),
        Err(DecodeError::LengthPrefix)
    );
}

#[test]
fn a_message_over_the_limit_is_refused_when_encoding_not_sent() {
    let limits = Limits {
        max_message_len: 100,
        ..Limits::default()
    };
    let request = Message::put_value(Record::new(b"k".to_vec(), vec![0; 200]));
    let len = request.encode().len();
    assert_eq!(
        encode_frame(&request, &limits),
        Err(EncodeError::TooLarge { len, max: 100 })
    );
    assert!(matches!(
        Message::decode(&request.encode(), &limits),
        Err(DecodeError::TooLarge { .. })
    ));
}

fn any_peer() -> impl Strategy<Value = PeerInfo> {
    (
        0u8..4,
        proptest::collection::vec(1u16..=u16::MAX, 0..4),
        0usize..4,
    )
        .prop_map(|(seed, ports, connection)| PeerInfo {
            id: peer(seed),
            addrs: ports
                .iter()
                .map(|port| addr(&format!("/ip6/::1/udp/{port}/quic-v1")))
                .collect(),
            connection: [
                ConnectionType::NotConnected,
                ConnectionType::Connected,
                ConnectionType::CanConnect,
                ConnectionType::CannotConnect,
            ][connection],
        })
}

fn any_message() -> impl Strategy<Value = Message> {
    let kinds = [
        MessageType::PutValue,
        MessageType::GetValue,
        MessageType::AddProvider,
        MessageType::GetProviders,
        MessageType::FindNode,
        MessageType::Ping,
    ];
    let record = (
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(any::<u8>(), 0..100),
        proptest::option::of("[0-9TZ:.+-]{1,40}"),
    )
        .prop_map(|(key, value, time_received)| Record {
            key,
            value,
            time_received,
        });
    (
        0usize..kinds.len(),
        proptest::collection::vec(any::<u8>(), 0..60),
        proptest::option::of(record),
        proptest::collection::vec(any_peer(), 0..8),
        proptest::collection::vec(any_peer(), 0..8),
    )
        .prop_map(
            move |(kind, key, record, closer_peers, provider_peers)| Message {
                kind: kinds[kind],
                key,
                record,
                closer_peers,
                provider_peers,
            },
        )
}

/// Bytes a peer might send as an id or an address: valid ones, or noise.
fn id_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (0u8..4).prop_map(|seed| peer(seed).to_bytes()),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn addr_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (1u16..=u16::MAX).prop_map(|port| addr(&format!("/ip4/10.0.0.1/tcp/{port}")).to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    ]
}

fn any_model_peer() -> impl Strategy<Value = model::Peer> {
    (
        id_bytes(),
        proptest::collection::vec(addr_bytes(), 0..5),
        any::<i32>(),
    )
        .prop_map(|(id, addrs, connection)| model::Peer {
            id,
            addrs,
            connection,
        })
}

fn any_model_message() -> impl Strategy<Value = model::Message> {
    let record = (
        proptest::collection::vec(any::<u8>(), 0..20),
        proptest::collection::vec(any::<u8>(), 0..20),
        proptest::collection::vec(any::<u8>(), 0..80),
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<u32>(),
    )
        .prop_map(
            |(key, value, time_received, publisher, ttl)| model::Record {
                key,
                value,
                time_received,
                publisher,
                ttl,
            },
        );
    (
        0i32..6,
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::option::of(record),
        proptest::collection::vec(any_model_peer(), 0..6),
        proptest::collection::vec(any_model_peer(), 0..6),
        any::<i32>(),
    )
        .prop_map(
            |(r#type, key, record, closer_peers, provider_peers, cluster_level_raw)| {
                model::Message {
                    r#type,
                    key,
                    record,
                    closer_peers,
                    provider_peers,
                    cluster_level_raw,
                }
            },
        )
}

/// What our decoder should make of a peer entry the model wrote.
fn expected_peer(model: &model::Peer) -> Option<PeerInfo> {
    let id = PeerId::from_bytes(&model.id).ok()?;
    let addrs = model
        .addrs
        .iter()
        .filter_map(|bytes| Multiaddr::try_from(&bytes[..]).ok())
        .collect();
    let connection = match model.connection {
        1 => ConnectionType::Connected,
        2 => ConnectionType::CanConnect,
        3 => ConnectionType::CannotConnect,
        _ => ConnectionType::NotConnected,
    };
    Some(PeerInfo {
        id,
        addrs,
        connection,
    })
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
        let _ = decode_frame(&bytes, &Limits::default());
    }

    #[test]
    fn decoding_a_corrupted_message_never_panics(
        message in any_message(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut body = message.encode();
        if !body.is_empty() {
            for (index, byte) in flips {
                let at = index.index(body.len());
                body[at] ^= byte;
            }
        }
        let _ = decode(&body);
    }

    #[test]
    fn encoding_then_decoding_gives_the_same_message(message in any_message()) {
        prop_assert_eq!(decode(&message.encode()), Ok(message.clone()));
        let frame = encode_frame(&message, &Limits::default()).unwrap();
        prop_assert_eq!(decode_frame(&frame, &Limits::default()), Ok(Some((message, frame.len()))));
    }

    #[test]
    fn what_the_schema_model_writes_we_read_skipping_what_does_not_parse(model in any_model_message()) {
        let decoded = decode(&model.encode_to_vec()).unwrap();
        prop_assert_eq!(decoded.kind, [
            MessageType::PutValue,
            MessageType::GetValue,
            MessageType::AddProvider,
            MessageType::GetProviders,
            MessageType::FindNode,
            MessageType::Ping,
        ][model.r#type as usize]);
        prop_assert_eq!(&decoded.key, &model.key);
        let expected_record = model.record.as_ref().map(|record| Record {
            key: record.key.clone(),
            value: record.value.clone(),
            time_received: String::from_utf8(record.time_received.clone())
                .ok()
                .filter(|time| !time.is_empty() && time.len() <= 64),
        });
        prop_assert_eq!(decoded.record, expected_record);
        let closer: Vec<PeerInfo> = model.closer_peers.iter().filter_map(expected_peer).collect();
        prop_assert_eq!(decoded.closer_peers, closer);
        let providers: Vec<PeerInfo> = model.provider_peers.iter().filter_map(expected_peer).collect();
        prop_assert_eq!(decoded.provider_peers, providers);
    }

    #[test]
    fn what_we_write_the_schema_model_reads(message in any_message()) {
        let model = model::Message::decode(&message.encode()[..]).unwrap();
        prop_assert_eq!(model.key, message.key);
        prop_assert_eq!(model.closer_peers.len(), message.closer_peers.len());
        prop_assert_eq!(model.provider_peers.len(), message.provider_peers.len());
        prop_assert_eq!(model.record.is_some(), message.record.is_some());
    }
}

#[test]
fn a_peers_addresses_lose_its_own_trailing_id_and_those_naming_another_peer_go() {
    let (peer, other) = (PeerId::random(), PeerId::random());
    let info = PeerInfo::new(
        peer,
        vec![
            addr(&format!("/ip4/127.0.0.1/tcp/4001/p2p/{peer}")),
            addr("/ip4/10.0.0.1/udp/4001/quic-v1"),
            addr(&format!("/ip4/10.0.0.2/tcp/4001/p2p/{other}")),
            addr(&format!("/ip4/10.0.0.3/tcp/4001/p2p/{other}/p2p-circuit")),
            addr(&format!(
                "/ip4/10.0.0.3/tcp/4001/p2p/{other}/p2p-circuit/p2p/{peer}"
            )),
        ],
    );
    let plain: Vec<String> = info
        .with_plain_addrs()
        .addrs
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        plain,
        [
            "/ip4/127.0.0.1/tcp/4001".to_owned(),
            "/ip4/10.0.0.1/udp/4001/quic-v1".to_owned(),
            format!("/ip4/10.0.0.3/tcp/4001/p2p/{other}/p2p-circuit"),
            format!("/ip4/10.0.0.3/tcp/4001/p2p/{other}/p2p-circuit"),
        ]
    );
}
