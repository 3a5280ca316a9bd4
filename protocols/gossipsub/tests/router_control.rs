//! One router driven by hand-written RPCs: GRAFT, PRUNE and backoff, IDONTWANT, IWANT,
//! leaving topics and peers.

use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Config, ControlGraft, ControlIDontWant, ControlIWant, ControlMessage, ControlPrune, Direction,
    Message, MessageId, MessageIdFn, Protocol, Publisher, Router, Rpc, SubOpts,
};

const TOPIC: &str = "blocks";

fn router(config: Config) -> Router<u32> {
    Router::new(config, Publisher::anonymous(), 7).expect("valid config")
}

/// A router with peers `1..=count` subscribed to [`TOPIC`], before it joins.
fn router_with_peers(config: Config, count: u32, protocol: Protocol, now: Instant) -> Router<u32> {
    let mut router = router(config);
    for peer in 1..=count {
        router.add_peer(peer, protocol, Direction::Outbound);
        router.handle_rpc(&peer, subscribe(TOPIC), now);
    }
    router
}

fn subscribe(topic: &str) -> Rpc {
    Rpc {
        subscriptions: vec![SubOpts {
            subscribe: true,
            topic: topic.into(),
        }],
        ..Rpc::default()
    }
}

fn control(control: ControlMessage) -> Rpc {
    Rpc {
        control: Some(control),
        ..Rpc::default()
    }
}

fn message(data: &[u8]) -> Message {
    Message {
        data: Some(data.to_vec().into()),
        topic: TOPIC.into(),
        ..Message::default()
    }
}

fn drain(router: &mut Router<u32>) -> Vec<(u32, Rpc)> {
    std::iter::from_fn(|| router.poll_outbound()).collect()
}

fn grafts_to(sent: &[(u32, Rpc)], peer: u32) -> usize {
    sent.iter()
        .filter(|(to, _)| *to == peer)
        .filter_map(|(_, rpc)| rpc.control.as_ref())
        .map(|control| control.graft.len())
        .sum()
}

fn prunes_to(sent: &[(u32, Rpc)], peer: u32) -> Vec<ControlPrune> {
    sent.iter()
        .filter(|(to, _)| *to == peer)
        .filter_map(|(_, rpc)| rpc.control.as_ref())
        .flat_map(|control| control.prune.clone())
        .collect()
}

fn messages_to(sent: &[(u32, Rpc)], peer: u32) -> usize {
    sent.iter()
        .filter(|(to, _)| *to == peer)
        .map(|(_, rpc)| rpc.publish.len())
        .sum()
}

#[test]
fn joining_grafts_subscribed_peers_and_announces_the_subscription() {
    let now = Instant::now();
    let mut router = router_with_peers(Config::default(), 3, Protocol::MeshsubV1_1, now);
    router.join(TOPIC, now);
    let sent = drain(&mut router);
    for peer in 1..=3 {
        assert_eq!(grafts_to(&sent, peer), 1);
    }
    assert_eq!(router.mesh_peers(TOPIC).count(), 3);
    assert!(
        sent.iter()
            .any(|(_, rpc)| rpc.subscriptions == subscribe(TOPIC).subscriptions)
    );
}

#[test]
fn a_pruned_peer_is_not_grafted_again_within_its_backoff() {
    let start = Instant::now();
    let mut router = router_with_peers(Config::default(), 1, Protocol::MeshsubV1_1, start);
    router.join(TOPIC, start);
    drain(&mut router);
    let prune = ControlMessage {
        prune: vec![ControlPrune {
            topic: TOPIC.into(),
            peers: Vec::new(),
            backoff: Some(30),
        }],
        ..ControlMessage::default()
    };
    router.handle_rpc(&1, control(prune), start);
    assert_eq!(router.mesh_peers(TOPIC).count(), 0);
    // The mesh is below D_lo at every heartbeat, but peer 1 backs off for 30 s plus slack.
    for second in 1..=31 {
        router.heartbeat(start + Duration::from_secs(second));
        assert_eq!(grafts_to(&drain(&mut router), 1), 0, "at {second} s");
    }
    let mut grafted_at = None;
    for second in 32..=40 {
        router.heartbeat(start + Duration::from_secs(second));
        if grafts_to(&drain(&mut router), 1) > 0 {
            grafted_at = Some(second);
            break;
        }
    }
    assert!(
        grafted_at.is_some_and(|second| second <= 33),
        "{grafted_at:?}"
    );
}

#[test]
fn a_graft_during_backoff_is_answered_with_prune() {
    let now = Instant::now();
    let mut router = router_with_peers(Config::default(), 1, Protocol::MeshsubV1_1, now);
    router.join(TOPIC, now);
    router.leave(TOPIC, now);
    router.join(TOPIC, now);
    drain(&mut router);
    let graft = ControlMessage {
        graft: vec![ControlGraft {
            topic: TOPIC.into(),
        }],
        ..ControlMessage::default()
    };
    router.handle_rpc(&1, control(graft), now + Duration::from_secs(1));
    let prunes = prunes_to(&drain(&mut router), 1);
    assert_eq!(prunes.len(), 1);
    assert_eq!(prunes[0].backoff, Some(60));
    assert_eq!(router.mesh_peers(TOPIC).count(), 0);
}

#[test]
fn a_graft_for_a_topic_not_joined_is_ignored() {
    let now = Instant::now();
    let mut router = router_with_peers(Config::default(), 1, Protocol::MeshsubV1_1, now);
    let graft = ControlMessage {
        graft: vec![ControlGraft {
            topic: "elsewhere".into(),
        }],
        ..ControlMessage::default()
    };
    router.handle_rpc(&1, control(graft), now);
    assert!(drain(&mut router).is_empty());
    assert_eq!(router.mesh_peers("elsewhere").count(), 0);
}

#[test]
fn idontwant_suppresses_forwarding_to_that_peer() {
    let now = Instant::now();
    let mut router = router_with_peers(Config::default(), 3, Protocol::MeshsubV1_2, now);
    router.join(TOPIC, now);
    drain(&mut router);
    let message = message(b"payload");
    let id = MessageIdFn::default_for(Publisher::anonymous().policy()).message_id(&message);
    let idontwant = ControlMessage {
        idontwant: vec![ControlIDontWant {
            message_ids: vec![id],
        }],
        ..ControlMessage::default()
    };
    router.handle_rpc(&3, control(idontwant), now);
    router.handle_rpc(
        &1,
        Rpc {
            publish: vec![message],
            ..Rpc::default()
        },
        now,
    );
    let sent = drain(&mut router);
    assert_eq!(messages_to(&sent, 1), 0, "not back to its source");
    assert_eq!(messages_to(&sent, 2), 1);
    assert_eq!(messages_to(&sent, 3), 0, "peer 3 said it does not want it");
}

#[test]
fn large_messages_make_us_send_idontwant_to_meshsub_1_2_peers_only() {
    let now = Instant::now();
    let mut router = router(Config::default());
    for (peer, protocol) in [
        (1, Protocol::MeshsubV1_2),
        (2, Protocol::MeshsubV1_2),
        (3, Protocol::MeshsubV1_1),
    ] {
        router.add_peer(peer, protocol, Direction::Outbound);
        router.handle_rpc(&peer, subscribe(TOPIC), now);
    }
    router.join(TOPIC, now);
    drain(&mut router);
    let publish = |data: &[u8]| Rpc {
        publish: vec![message(data)],
        ..Rpc::default()
    };
    let idontwants = |sent: &[(u32, Rpc)], peer: u32| {
        sent.iter()
            .filter(|(to, _)| *to == peer)
            .filter_map(|(_, rpc)| rpc.control.as_ref())
            .map(|control| control.idontwant.len())
            .sum::<usize>()
    };
    router.handle_rpc(&1, publish(&[1; 999]), now);
    let sent = drain(&mut router);
    assert_eq!(idontwants(&sent, 2), 0, "below the threshold");
    router.handle_rpc(&1, publish(&[2; 1000]), now);
    let sent = drain(&mut router);
    assert_eq!(idontwants(&sent, 1), 0, "not to the source");
    assert_eq!(idontwants(&sent, 2), 1);
    assert_eq!(
        idontwants(&sent, 3),
        0,
        "meshsub 1.1 does not know IDONTWANT"
    );
}

#[test]
fn iwant_is_answered_at_most_gossip_retransmission_times() {
    let now = Instant::now();
    let config = Config::default();
    let times = config.gossip_retransmission as usize;
    let mut router = router_with_peers(config, 1, Protocol::MeshsubV1_1, now);
    router.join(TOPIC, now);
    let id = router
        .publish(TOPIC, b"cached".to_vec(), now)
        .expect("published");
    drain(&mut router);
    let iwant = ControlMessage {
        iwant: vec![ControlIWant {
            message_ids: vec![id],
        }],
        ..ControlMessage::default()
    };
    let mut answered = 0;
    for _ in 0..times + 2 {
        router.handle_rpc(&1, control(iwant.clone()), now);
        answered += messages_to(&drain(&mut router), 1);
    }
    assert_eq!(answered, times);
}

#[test]
fn leaving_a_topic_prunes_with_the_unsubscribe_backoff_and_frees_its_mesh() {
    let now = Instant::now();
    let mut router = router_with_peers(Config::default(), 2, Protocol::MeshsubV1_1, now);
    router.join(TOPIC, now);
    drain(&mut router);
    router.leave(TOPIC, now);
    let sent = drain(&mut router);
    for peer in 1..=2 {
        let prunes = prunes_to(&sent, peer);
        assert_eq!(prunes.len(), 1);
        assert_eq!(prunes[0].backoff, Some(10));
    }
    assert_eq!(router.mesh_peers(TOPIC).count(), 0);
    assert_eq!(router.joined().count(), 0);
    // Only the peers' own subscriptions remain.
    assert_eq!(router.topics_tracked(), 1);
}

#[test]
fn removing_every_peer_frees_their_state() {
    let now = Instant::now();
    let mut router = router_with_peers(Config::default(), 4, Protocol::MeshsubV1_2, now);
    router.join(TOPIC, now);
    for peer in 1..=4 {
        router.remove_peer(&peer, now);
    }
    assert_eq!(router.peers().count(), 0);
    assert_eq!(router.mesh_peers(TOPIC).count(), 0);
    assert_eq!(router.topic_peers(TOPIC).count(), 0);
    assert!(
        router.poll_outbound().is_none(),
        "nothing queued for gone peers"
    );
    // The joined topic keeps its (empty) mesh, nothing else.
    assert_eq!(router.topics_tracked(), 1);
}

#[test]
fn publishing_without_peers_fails_and_a_duplicate_is_refused() {
    let now = Instant::now();
    let mut router = router(Config::default());
    assert!(matches!(
        router.publish(TOPIC, b"x".to_vec(), now),
        Err(hyphae_gossipsub::PublishError::NoPeers)
    ));
    router.add_peer(1, Protocol::MeshsubV1_1, Direction::Inbound);
    router.handle_rpc(&1, subscribe(TOPIC), now);
    router
        .publish(TOPIC, b"x".to_vec(), now)
        .expect("published");
    assert!(matches!(
        router.publish(TOPIC, b"x".to_vec(), now),
        Err(hyphae_gossipsub::PublishError::Duplicate)
    ));
    let _ = MessageId::new([0]);
}

#[test]
fn idontwant_beyond_max_idontwant_messages_per_heartbeat_is_ignored() {
    let now = Instant::now();
    let config = Config {
        max_idontwant_messages: 2,
        ..Config::default()
    };
    let mut router = router_with_peers(config, 1, Protocol::MeshsubV1_2, now);
    let idontwant = |byte: u8| ControlIDontWant {
        message_ids: vec![MessageId::new([byte])],
    };
    let rpc = control(ControlMessage {
        idontwant: vec![idontwant(1), idontwant(2), idontwant(3)],
        ..ControlMessage::default()
    });
    router.handle_rpc(&1, rpc, now);
    assert_eq!(router.dont_want_len(&1), 2);
    router.heartbeat(now + Duration::from_secs(1));
    router.handle_rpc(
        &1,
        control(ControlMessage {
            idontwant: vec![idontwant(4)],
            ..ControlMessage::default()
        }),
        now,
    );
    assert_eq!(
        router.dont_want_len(&1),
        3,
        "a new heartbeat, a new allowance"
    );
}

#[test]
fn a_message_whose_signature_does_not_verify_is_neither_delivered_nor_forwarded() {
    let now = Instant::now();
    let signer = |secret: u8| {
        Publisher::signing(
            hyphae_identity::Keypair::ed25519_from_secret(&[secret; 32]),
            1,
        )
    };
    let mut router = Router::new(Config::default(), signer(1), 7).expect("valid config");
    for peer in 1..=2 {
        router.add_peer(peer, Protocol::MeshsubV1_2, Direction::Outbound);
        router.handle_rpc(&peer, subscribe(TOPIC), now);
    }
    router.join(TOPIC, now);
    drain(&mut router);
    let mut author = signer(2);
    let genuine = author
        .build_message(TOPIC, &b"genuine"[..])
        .expect("signed");
    let mut forged = author
        .build_message(TOPIC, &b"original"[..])
        .expect("signed");
    forged.data = Some(b"forged".to_vec().into());
    router.handle_rpc(
        &1,
        Rpc {
            publish: vec![forged, genuine.clone()],
            ..Rpc::default()
        },
        now,
    );
    let sent = drain(&mut router);
    let forwarded: Vec<&Message> = sent
        .iter()
        .filter(|(to, _)| *to == 2)
        .flat_map(|(_, rpc)| &rpc.publish)
        .collect();
    assert_eq!(forwarded, vec![&genuine]);
    let delivered: Vec<Message> = std::iter::from_fn(|| router.poll_event())
        .filter_map(|event| match event {
            hyphae_gossipsub::Event::Message { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(delivered, vec![genuine]);
}

#[test]
fn a_full_queue_keeps_room_for_control_messages() {
    let now = Instant::now();
    let config = Config {
        max_queued_rpcs_per_peer: 8,
        ..Config::default()
    };
    let mut router = router_with_peers(config, 1, Protocol::MeshsubV1_1, now);
    router.join(TOPIC, now);
    drain(&mut router);
    for i in 0..20u8 {
        // Publishing never fails for a full queue: the copies are dropped and counted.
        router.publish(TOPIC, vec![i], now).expect("published");
    }
    assert_eq!(router.queued_rpcs(&1), 6, "messages take three quarters");
    assert_eq!(router.dropped_rpcs(), 14);
    router.leave(TOPIC, now);
    let sent = drain(&mut router);
    assert_eq!(prunes_to(&sent, 1).len(), 1, "the PRUNE still fits");
}

#[test]
fn gossip_leaves_out_ids_the_peer_said_it_does_not_want() {
    let now = Instant::now();
    let config = Config {
        mesh_n: 1,
        mesh_n_low: 1,
        mesh_n_score: 1,
        mesh_outbound_min: 0,
        ..Config::default()
    };
    let mut router = router_with_peers(config, 2, Protocol::MeshsubV1_2, now);
    router.join(TOPIC, now);
    drain(&mut router);
    let mesh_peer = *router.mesh_peers(TOPIC).next().expect("one mesh peer");
    let other = 3 - mesh_peer;
    let id_fn = MessageIdFn::default_for(Publisher::anonymous().policy());
    let (unwanted, wanted) = (message(b"unwanted"), message(b"wanted"));
    let idontwant = ControlMessage {
        idontwant: vec![ControlIDontWant {
            message_ids: vec![id_fn.message_id(&unwanted)],
        }],
        ..ControlMessage::default()
    };
    router.handle_rpc(&other, control(idontwant), now);
    router.handle_rpc(
        &mesh_peer,
        Rpc {
            publish: vec![unwanted, wanted.clone()],
            ..Rpc::default()
        },
        now,
    );
    drain(&mut router);
    router.heartbeat(now + Duration::from_secs(1));
    let advertised: Vec<MessageId> = drain(&mut router)
        .into_iter()
        .filter(|(to, _)| *to == other)
        .filter_map(|(_, rpc)| rpc.control)
        .flat_map(|control| control.ihave)
        .flat_map(|ihave| ihave.message_ids)
        .collect();
    assert_eq!(advertised, vec![id_fn.message_id(&wanted)]);
}
