//! What a peer sends past the limits: too long is refused before it is buffered, too many
//! is kept up to the bound and the rest skipped and counted.

use hyphae_gossipsub::{
    ControlGraft, ControlIDontWant, ControlIHave, ControlIWant, ControlMessage, ControlPrune,
    DecodedRpc, Error, Limits, Message, MessageId, PeerInfo, Rpc, SubOpts, decode_frame,
    encode_frame,
};

fn ids(count: usize) -> Vec<MessageId> {
    (0..count as u32)
        .map(|n| MessageId::new(n.to_be_bytes()))
        .collect()
}

fn control(control: ControlMessage) -> Rpc {
    Rpc {
        control: Some(control),
        ..Rpc::default()
    }
}

fn decode(rpc: &Rpc, limits: &Limits) -> DecodedRpc {
    Rpc::decode(&rpc.encode(), limits).unwrap()
}

#[test]
fn an_rpc_over_the_limit_is_refused_both_ways() {
    let limits = Limits {
        max_rpc_len: 16,
        ..Limits::default()
    };
    let rpc = Rpc {
        subscriptions: vec![SubOpts {
            subscribe: true,
            topic: "a topic of twenty bytes".into(),
        }],
        ..Rpc::default()
    };
    let len = rpc.encoded_len() as u64;
    assert!(matches!(
        encode_frame(&rpc, &limits),
        Err(Error::TooLarge { max: 16, len: l }) if l == len
    ));
    assert!(matches!(
        Rpc::decode(&rpc.encode(), &limits),
        Err(Error::TooLarge { max: 16, .. })
    ));
}

#[test]
fn a_length_prefix_over_the_limit_fails_before_the_body_arrives() {
    // 1 MiB + 1 announced, not one byte of it sent.
    let prefix = [0x81, 0x80, 0x40];
    assert!(matches!(
        decode_frame(&prefix, &Limits::default()),
        Err(Error::TooLarge {
            len: 1_048_577,
            max: 1_048_576
        })
    ));
    // Exactly the limit is only waited for.
    assert!(matches!(
        decode_frame(&[0x80, 0x80, 0x40], &Limits::default()),
        Ok(None)
    ));
    assert!(matches!(
        decode_frame(&[0x80, 0x00], &Limits::default()),
        Err(Error::Frame(_))
    ));
}

#[test]
fn ihave_ids_past_the_budget_are_skipped_across_entries() {
    let limits = Limits {
        max_ihave_ids: 5,
        ..Limits::default()
    };
    let rpc = control(ControlMessage {
        ihave: vec![
            ControlIHave {
                topic: "a".into(),
                message_ids: ids(3),
            },
            ControlIHave {
                topic: "b".into(),
                message_ids: ids(4),
            },
        ],
        ..ControlMessage::default()
    });
    let decoded = decode(&rpc, &limits);
    let ihave = decoded.rpc.control.unwrap().ihave;
    assert_eq!(ihave[0].message_ids, ids(3));
    assert_eq!(ihave[1].message_ids, ids(2));
    assert_eq!(decoded.skipped, 2);
}

#[test]
fn iwant_and_idontwant_ids_have_budgets_of_their_own() {
    let limits = Limits {
        max_iwant_ids: 2,
        max_idontwant_ids: 3,
        ..Limits::default()
    };
    let rpc = control(ControlMessage {
        iwant: vec![ControlIWant {
            message_ids: ids(10),
        }],
        idontwant: vec![ControlIDontWant {
            message_ids: ids(10),
        }],
        ..ControlMessage::default()
    });
    let decoded = decode(&rpc, &limits);
    let control = decoded.rpc.control.unwrap();
    assert_eq!(control.iwant[0].message_ids, ids(2));
    assert_eq!(control.idontwant[0].message_ids, ids(3));
    assert_eq!(decoded.skipped, 8 + 7);
}

#[test]
fn message_ids_longer_than_the_limit_are_skipped() {
    let limits = Limits {
        max_message_id_len: 4,
        ..Limits::default()
    };
    let rpc = control(ControlMessage {
        iwant: vec![ControlIWant {
            message_ids: vec![MessageId::new([1; 5]), MessageId::new([2; 4])],
        }],
        ..ControlMessage::default()
    });
    let decoded = decode(&rpc, &limits);
    assert_eq!(
        decoded.rpc.control.unwrap().iwant[0].message_ids,
        vec![MessageId::new([2; 4])]
    );
    assert_eq!(decoded.skipped, 1);
}

#[test]
fn subscriptions_and_messages_past_their_bounds_are_skipped() {
    let limits = Limits {
        max_subscriptions: 2,
        max_messages: 1,
        ..Limits::default()
    };
    let subscription = |topic: &str| SubOpts {
        subscribe: true,
        topic: topic.into(),
    };
    let message = |topic: &str| Message {
        topic: topic.into(),
        ..Message::default()
    };
    let rpc = Rpc {
        subscriptions: vec![subscription("a"), subscription("b"), subscription("c")],
        publish: vec![message("a"), message("b"), message("c")],
        ..Rpc::default()
    };
    let decoded = decode(&rpc, &limits);
    assert_eq!(decoded.rpc.subscriptions, rpc.subscriptions[..2]);
    assert_eq!(decoded.rpc.publish, rpc.publish[..1]);
    assert_eq!(decoded.skipped, 1 + 2);
}

#[test]
fn control_entries_past_the_bound_are_skipped_per_kind() {
    let limits = Limits {
        max_control_entries: 2,
        ..Limits::default()
    };
    let graft = |topic: &str| ControlGraft {
        topic: topic.into(),
    };
    let rpc = control(ControlMessage {
        graft: vec![graft("a"), graft("b"), graft("c")],
        iwant: vec![ControlIWant::default(); 5],
        ..ControlMessage::default()
    });
    let decoded = decode(&rpc, &limits);
    let control = decoded.rpc.control.unwrap();
    assert_eq!(control.graft, vec![graft("a"), graft("b")]);
    assert_eq!(control.iwant.len(), 2);
    assert_eq!(decoded.skipped, 1 + 3);
}

#[test]
fn peer_exchange_peers_past_the_budget_are_skipped_across_prunes() {
    let limits = Limits {
        max_prune_peers: 3,
        ..Limits::default()
    };
    let peer = |id: u8| PeerInfo {
        peer_id: Some(vec![id]),
        signed_peer_record: None,
    };
    let prune = |topic: &str| ControlPrune {
        topic: topic.into(),
        peers: vec![peer(1), peer(2)],
        backoff: Some(60),
    };
    let rpc = control(ControlMessage {
        prune: vec![prune("a"), prune("b")],
        ..ControlMessage::default()
    });
    let decoded = decode(&rpc, &limits);
    let prunes = decoded.rpc.control.unwrap().prune;
    assert_eq!(prunes[0].peers, vec![peer(1), peer(2)]);
    assert_eq!(prunes[1].peers, vec![peer(1)]);
    assert_eq!(prunes[1].backoff, Some(60));
    assert_eq!(decoded.skipped, 1);
}

#[test]
fn entries_with_a_topic_too_long_or_not_utf8_are_skipped() {
    let limits = Limits {
        max_topic_len: 3,
        max_ihave_ids: 1,
        ..Limits::default()
    };
    let rpc = control(ControlMessage {
        ihave: vec![
            ControlIHave {
                topic: "long".into(),
                message_ids: ids(1),
            },
            ControlIHave {
                topic: "ok".into(),
                message_ids: ids(1),
            },
        ],
        ..ControlMessage::default()
    });
    let decoded = decode(&rpc, &limits);
    // The skipped entry's id did not use up the budget.
    assert_eq!(
        decoded.rpc.control.unwrap().ihave,
        vec![ControlIHave {
            topic: "ok".into(),
            message_ids: ids(1)
        }]
    );
    assert_eq!(decoded.skipped, 1);

    // A subscription to the topic 0xff, and a message in it.
    let not_utf8 = [0x0a, 0x03, 0x12, 0x01, 0xff, 0x12, 0x03, 0x22, 0x01, 0xff];
    let decoded = Rpc::decode(&not_utf8, &Limits::default()).unwrap();
    assert!(decoded.rpc.is_empty());
    assert_eq!(decoded.skipped, 2);
}

#[test]
fn empty_entries_cannot_outgrow_the_bounds() {
    // The cheapest entries on the wire: two bytes per empty IWANT in one 1 MiB RPC.
    let limits = Limits::default();
    let mut control = Vec::new();
    while control.len() + 2 < limits.max_rpc_len - 8 {
        control.extend_from_slice(&[0x12, 0x00]);
    }
    let mut body = vec![0x1a];
    hyphae_encoding::varint::encode_to_vec(control.len() as u64, &mut body);
    body.extend_from_slice(&control);
    let decoded = Rpc::decode(&body, &limits).unwrap();
    let iwant = decoded.rpc.control.unwrap().iwant;
    assert_eq!(iwant.len(), limits.max_control_entries);
    assert_eq!(
        decoded.skipped,
        control.len() / 2 - limits.max_control_entries
    );
}
