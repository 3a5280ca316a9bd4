//! Byte vectors built by hand from the specs' schemas, so that the field numbers and wire
//! types are proven against the specs rather than against our own decoder.

use bytes::Bytes;
use hyphae_gossipsub::{
    ControlExtensions, ControlGraft, ControlIDontWant, ControlIHave, ControlIWant, ControlMessage,
    ControlPrune, Error, Limits, Message, MessageId, PeerInfo, Rpc, SubOpts, decode_frame,
    encode_frame,
};

fn decode(bytes: &[u8]) -> Result<Rpc, Error> {
    let decoded = Rpc::decode(bytes, &Limits::default())?;
    assert_eq!(decoded.skipped, 0);
    Ok(decoded.rpc)
}

#[test]
fn subscribe_and_a_signed_message_encode_as_the_spec_schema_says() {
    let rpc = Rpc {
        subscriptions: vec![SubOpts {
            subscribe: true,
            topic: "foo".into(),
        }],
        publish: vec![Message {
            from: Some(vec![0x00, 0x01]),
            data: Some(Bytes::from_static(b"hi")),
            seqno: Some(vec![0, 0, 0, 0, 0, 0, 0, 7]),
            topic: "foo".into(),
            signature: Some(vec![0xaa]),
            key: Some(vec![0xbb]),
        }],
        ..Rpc::default()
    };
    #[rustfmt::skip]
    let expected = [
        // RPC.subscriptions = 1, length-delimited: tag (1 << 3) | 2
        0x0a, 7,
            0x08, 0x01,             // SubOpts.subscribe = 1, varint: true
            0x12, 3, b'f', b'o', b'o', // SubOpts.topicid = 2: "foo"
        // RPC.publish = 2: tag (2 << 3) | 2
        0x12, 29,
            0x0a, 2, 0x00, 0x01,    // Message.from = 1
            0x12, 2, b'h', b'i',    // Message.data = 2
            0x1a, 8, 0, 0, 0, 0, 0, 0, 0, 7, // Message.seqno = 3, 8 bytes big-endian
            0x22, 3, b'f', b'o', b'o', // Message.topic = 4
            0x2a, 1, 0xaa,          // Message.signature = 5
            0x32, 1, 0xbb,          // Message.key = 6
    ];
    assert_eq!(rpc.encode(), expected);
    assert_eq!(decode(&expected).unwrap(), rpc);

    let frame = encode_frame(&rpc, &Limits::default()).unwrap();
    assert_eq!(frame[0] as usize, expected.len());
    assert_eq!(&frame[1..], expected);
}

#[test]
fn every_control_message_encodes_as_the_spec_schema_says() {
    let rpc = Rpc {
        control: Some(ControlMessage {
            ihave: vec![ControlIHave {
                topic: "t".into(),
                message_ids: vec![MessageId::new([1]), MessageId::new([2])],
            }],
            iwant: vec![ControlIWant {
                message_ids: vec![MessageId::new([3])],
            }],
            graft: vec![ControlGraft { topic: "t".into() }],
            prune: vec![ControlPrune {
                topic: "t".into(),
                peers: vec![PeerInfo {
                    peer_id: Some(vec![4]),
                    signed_peer_record: Some(vec![5]),
                }],
                backoff: Some(60),
            }],
            idontwant: vec![ControlIDontWant {
                message_ids: vec![MessageId::new([6])],
            }],
            extensions: Some(ControlExtensions {
                test_extension: true,
            }),
        }),
        test_extension: true,
        ..Rpc::default()
    };
    #[rustfmt::skip]
    let expected = [
        // RPC.control = 3: tag (3 << 3) | 2
        0x1a, 48,
            // ControlMessage.ihave = 1
            0x0a, 9,
                0x0a, 1, b't',      // ControlIHave.topicID = 1
                0x12, 1, 1,         // ControlIHave.messageIDs = 2
                0x12, 1, 2,
            // ControlMessage.iwant = 2
            0x12, 3,
                0x0a, 1, 3,         // ControlIWant.messageIDs = 1
            // ControlMessage.graft = 3
            0x1a, 3,
                0x0a, 1, b't',      // ControlGraft.topicID = 1
            // ControlMessage.prune = 4
            0x22, 13,
                0x0a, 1, b't',      // ControlPrune.topicID = 1
                0x12, 6,            // ControlPrune.peers = 2
                    0x0a, 1, 4,     // PeerInfo.peerID = 1
                    0x12, 1, 5,     // PeerInfo.signedPeerRecord = 2
                0x18, 60,           // ControlPrune.backoff = 3, varint seconds
            // ControlMessage.idontwant = 5 (v1.2)
            0x2a, 3,
                0x0a, 1, 6,         // ControlIDontWant.messageIDs = 1
            // ControlMessage.extensions = 6 (v1.3)
            0x32, 5,
                // ControlExtensions.testExtension = 6492434, varint: 4-byte field tag
                0x90, 0x91, 0xe2, 0x18, 0x01,
        // RPC.testExtension = 6492434: an empty TestExtension message
        0x92, 0x91, 0xe2, 0x18, 0x00,
    ];
    assert_eq!(rpc.encode(), expected);
    assert_eq!(decode(&expected).unwrap(), rpc);
}

#[test]
fn absent_optional_fields_stay_absent_and_required_ones_read_as_empty() {
    // A message with only a topic, and an unsubscribe whose `subscribe` is left out.
    let bytes = [0x0a, 0x03, 0x12, 0x01, b'x', 0x12, 0x03, 0x22, 0x01, b'x'];
    let rpc = decode(&bytes).unwrap();
    assert_eq!(
        rpc.subscriptions,
        vec![SubOpts {
            subscribe: false,
            topic: "x".into()
        }]
    );
    assert_eq!(
        rpc.publish,
        vec![Message {
            topic: "x".into(),
            ..Message::default()
        }]
    );
    // Present but empty is kept apart from absent: it changes what a signature covers.
    let empty_data = [0x12, 0x05, 0x12, 0x00, 0x22, 0x01, b'x'];
    assert_eq!(
        decode(&empty_data).unwrap().publish[0].data,
        Some(Bytes::new())
    );
}

#[test]
fn unknown_fields_are_skipped_at_every_level() {
    #[rustfmt::skip]
    let bytes = [
        0x38, 0x05,                 // RPC field 7, varint
        0x1a, 14,                   // RPC.control
            0x3a, 2, 0xff, 0xff,    // ControlMessage field 7, bytes
            0x32, 2,                // ControlMessage.extensions
                0x08, 0x01,         // an extension we do not know (field 1)
            0x1a, 4,                // ControlMessage.graft
                0x0a, 1, b't',
                0x15,               // ControlGraft field 2, fixed32 ...
        // ... whose four bytes run past the graft entry: truncated, so an error.
    ];
    assert!(matches!(
        decode(&bytes),
        Err(Error::Protobuf(hyphae_encoding::Error::ProtobufTruncated))
    ));
    #[rustfmt::skip]
    let bytes = [
        0x38, 0x05,                 // RPC field 7, varint
        0xa1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, // RPC field 100, fixed64
        0x1a, 18,                   // RPC.control
            0x3a, 2, 0xff, 0xff,    // ControlMessage field 7, bytes
            0x32, 2,                // ControlMessage.extensions
                0x08, 0x01,         // an extension we do not know (field 1)
            0x1a, 8,                // ControlMessage.graft
                0x0a, 1, b't',
                0x15, 1, 2, 3, 4,   // ControlGraft field 2, fixed32
    ];
    let control = decode(&bytes).unwrap().control.unwrap();
    assert_eq!(control.graft, vec![ControlGraft { topic: "t".into() }]);
    assert_eq!(control.extensions, Some(ControlExtensions::default()));
}

#[test]
fn a_repeated_control_field_is_merged() {
    // Two `control` fields, each with one GRAFT: protobuf merges them into one message.
    let bytes = [
        0x1a, 0x05, 0x1a, 0x03, 0x0a, 0x01, b'a', 0x1a, 0x05, 0x1a, 0x03, 0x0a, 0x01, b'b',
    ];
    let control = decode(&bytes).unwrap().control.unwrap();
    assert_eq!(
        control.graft,
        vec![
            ControlGraft { topic: "a".into() },
            ControlGraft { topic: "b".into() }
        ]
    );
}

#[test]
fn malformed_protobuf_and_wrong_wire_types_are_errors() {
    use hyphae_encoding::Error as Protobuf;
    let error = |bytes: &[u8]| match decode(bytes) {
        Err(Error::Protobuf(error)) => error,
        other => panic!("expected a protobuf error, got {other:?}"),
    };
    assert_eq!(error(&[0x0a, 0x05, 0x08]), Protobuf::ProtobufTruncated);
    assert_eq!(error(&[0x00]), Protobuf::ProtobufFieldNumber(0));
    assert_eq!(error(&[0x0b]), Protobuf::ProtobufWireType(3));
    // `subscriptions` as a varint, and `backoff` inside a PRUNE as bytes.
    assert_eq!(
        error(&[0x08, 0x01]),
        Protobuf::ProtobufUnexpectedWireType {
            field: 1,
            wire_type: 0
        }
    );
    assert_eq!(
        error(&[0x1a, 0x05, 0x22, 0x03, 0x1a, 0x01, 0x00]),
        Protobuf::ProtobufUnexpectedWireType {
            field: 3,
            wire_type: 2
        }
    );
}

#[test]
fn an_empty_rpc_is_an_empty_frame() {
    let limits = Limits::default();
    assert_eq!(encode_frame(&Rpc::default(), &limits).unwrap(), [0x00]);
    let (decoded, consumed) = decode_frame(&[0x00, 0xff], &limits).unwrap().unwrap();
    assert!(decoded.rpc.is_empty());
    assert_eq!(consumed, 1);
}
