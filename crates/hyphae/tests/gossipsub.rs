//! The gossipsub service on real nodes (memory transport): meshes forming over streams,
//! delivery to every subscriber, asynchronous validation with scoring that prunes a peer
//! sending invalid messages, IDONTWANT for large messages, peer exchange, a peer that never
//! reads costing a bounded queue, state freed when subscriptions and peers go, and a node in
//! many topics announcing them in RPCs that rust-libp2p's defaults accept.

#![cfg(feature = "gossipsub")]

use std::collections::BTreeSet;
use std::time::Duration;

use hyphae::gossipsub::{
    Config, ControlGraft, ControlMessage, Gossipsub, Handle, Limits, PROTOCOL_V1_1,
    PeerScoreParams, PeerScoreThresholds, PublishError, QueueLimits, Rpc, SubOpts,
    TopicScoreParams, Validation, decode_frame, encode_frame,
};
use hyphae::{Node, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOPIC: &str = "news";

async fn soon<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("within 30 s")
}

/// Heartbeats every 50 ms, so that meshes form and scores act quickly.
fn fast_config() -> Config {
    Config {
        heartbeat_interval: Duration::from_millis(50),
        ..Config::default()
    }
}

async fn node_with(service: Gossipsub) -> (Node, Handle) {
    let node = Node::builder()
        .listen("/memory/0".parse().unwrap())
        .service(service)
        .start()
        .await
        .unwrap();
    let handle = node.service::<Gossipsub>().unwrap();
    (node, handle)
}

/// `count` nodes, each dialling every earlier one.
async fn full_network(count: usize, service: impl Fn(usize) -> Gossipsub) -> Vec<(Node, Handle)> {
    let mut nodes: Vec<(Node, Handle)> = Vec::new();
    for index in 0..count {
        let (node, handle) = node_with(service(index)).await;
        for (earlier, _) in &nodes {
            node.dial(&earlier.listen_addrs()[0]).await.unwrap();
        }
        nodes.push((node, handle));
    }
    nodes
}

async fn wait_for_mesh(handle: &Handle, at_least: usize) -> Vec<PeerId> {
    soon(handle.wait_for(
        |handle| async move { handle.mesh_peers(TOPIC).await },
        |mesh| mesh.len() >= at_least,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_receives_every_message_once() {
    let nodes = full_network(4, |_| Gossipsub::new(fast_config())).await;
    let mut subscriptions = Vec::new();
    for (_, handle) in &nodes {
        subscriptions.push(handle.subscribe(TOPIC).await.unwrap());
    }
    for (_, handle) in &nodes {
        wait_for_mesh(handle, 3).await;
    }
    // Each node's connection manager keeps its mesh peers before others (tagged at the
    // heartbeat after they joined the mesh).
    for (node, handle) in &nodes {
        let mesh = handle.mesh_peers(TOPIC).await;
        soon(async {
            while mesh
                .iter()
                .any(|peer| node.tags().value(peer) != hyphae::gossipsub::MESH_VALUE)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }
    for (index, (_, handle)) in nodes.iter().enumerate() {
        handle
            .publish(TOPIC, format!("from {index}"))
            .await
            .unwrap();
    }
    for (index, subscription) in subscriptions.iter_mut().enumerate() {
        let mut received = BTreeSet::new();
        while received.len() < 3 {
            let message = soon(subscription.next()).await.unwrap();
            assert_eq!(message.message.topic, TOPIC);
            let author = message.author().unwrap();
            assert_ne!(
                author,
                nodes[index].0.peer_id(),
                "our own message came back"
            );
            assert!(
                received.insert(String::from_utf8(message.data().to_vec()).unwrap()),
                "a duplicate was delivered"
            );
        }
        let expected: BTreeSet<String> = (0..4)
            .filter(|&from| from != index)
            .map(|from| format!("from {from}"))
            .collect();
        assert_eq!(received, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_invalid_messages_is_pruned_and_valid_ones_still_flow() {
    let mut params = PeerScoreParams::default();
    params.topics.insert(
        TOPIC.into(),
        TopicScoreParams {
            invalid_message_deliveries_weight: -100.0,
            invalid_message_deliveries_decay: 0.9,
            // Three nodes deliver too little for P3's default threshold: off.
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            ..TopicScoreParams::default()
        },
    );
    // Nodes 0 and 1 judge; node 2 accepts all. (A peer that forwards an invalid message is
    // penalised as its author is, so an honest node must validate too.)
    let nodes = full_network(3, |index| {
        let service = Gossipsub::new(fast_config());
        if index == 2 {
            return service;
        }
        service
            .scoring(params.clone(), PeerScoreThresholds::default())
            .validator(
                |_source: PeerId, message: hyphae::gossipsub::Message| async move {
                    if message
                        .data
                        .as_deref()
                        .unwrap_or_default()
                        .starts_with(b"invalid")
                    {
                        Validation::Reject
                    } else {
                        Validation::Accept
                    }
                },
            )
    })
    .await;
    let mut subscriptions = Vec::new();
    for (_, handle) in &nodes {
        subscriptions.push(handle.subscribe(TOPIC).await.unwrap());
    }
    let judge = &nodes[0].1;
    let offender = nodes[2].0.peer_id();
    let honest = nodes[1].0.peer_id();
    wait_for_mesh(judge, 2).await;

    nodes[2].1.publish(TOPIC, "invalid spam").await.unwrap();
    // The judge rejects it, scores the offender below zero and prunes it at a heartbeat.
    let mesh = soon(judge.wait_for(
        |handle| async move { handle.mesh_peers(TOPIC).await },
        |mesh| !mesh.contains(&offender),
    ))
    .await;
    assert_eq!(mesh, vec![honest]);
    let scores = judge.scores().await;
    let score_of = |peer| scores.iter().find(|(p, _)| *p == peer).unwrap().1;
    assert!(score_of(offender) < 0.0, "{scores:?}");
    assert!(score_of(honest) >= 0.0, "{scores:?}");

    // Neither judge delivered the spam; valid messages still flow between them.
    nodes[1].1.publish(TOPIC, "good news").await.unwrap();
    let delivered = soon(subscriptions[0].next()).await.unwrap();
    assert_eq!(delivered.data(), b"good news");
    nodes[0].1.publish(TOPIC, "more news").await.unwrap();
    let delivered = soon(subscriptions[1].next()).await.unwrap();
    assert_eq!(delivered.data(), b"more news");
    assert_eq!(judge.stats().await.unvalidated, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_messages_make_mesh_peers_send_idontwant() {
    let nodes = full_network(3, |_| Gossipsub::new(fast_config())).await;
    let mut subscriptions = Vec::new();
    for (_, handle) in &nodes {
        subscriptions.push(handle.subscribe(TOPIC).await.unwrap());
    }
    for (_, handle) in &nodes {
        wait_for_mesh(handle, 2).await;
    }
    // 2 KiB, over the 1000-byte threshold: each receiver tells its other mesh peer.
    nodes[0].1.publish(TOPIC, vec![7u8; 2048]).await.unwrap();
    for subscription in &mut subscriptions[1..] {
        assert_eq!(soon(subscription.next()).await.unwrap().data().len(), 2048);
    }
    let sent: u64 = futures_sum(nodes.iter().map(|(_, handle)| handle.clone()), true).await;
    assert!(sent >= 2, "IDONTWANT ids sent: {sent}");
    // The IDONTWANTs may still be on their way when the message is delivered.
    soon(async {
        while futures_sum(nodes.iter().map(|(_, handle)| handle.clone()), false).await < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // A small message makes none.
    nodes[0].1.publish(TOPIC, "small").await.unwrap();
    for subscription in &mut subscriptions[1..] {
        assert_eq!(soon(subscription.next()).await.unwrap().data(), b"small");
    }
    let after: u64 = futures_sum(nodes.iter().map(|(_, handle)| handle.clone()), true).await;
    assert_eq!(after, sent);
}

/// IDONTWANT ids sent (or received) by all of `handles`.
async fn futures_sum(handles: impl Iterator<Item = Handle>, sent: bool) -> u64 {
    let mut total = 0;
    for handle in handles {
        let stats = handle.stats().await;
        total += if sent {
            stats.idontwant_sent
        } else {
            stats.idontwant_received
        };
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_subscription_leaves_the_topic_and_a_closed_peer_is_forgotten() {
    let nodes = full_network(2, |_| Gossipsub::new(fast_config())).await;
    let (first, second) = (&nodes[0].1, &nodes[1].1);
    let subscription = first.subscribe(TOPIC).await.unwrap();
    let _other = second.subscribe(TOPIC).await.unwrap();
    let first_id = nodes[0].0.peer_id();
    soon(second.wait_for(
        |handle| async move { handle.topic_peers(TOPIC).await },
        |peers| peers.contains(&first_id),
    ))
    .await;

    drop(subscription);
    soon(second.wait_for(
        |handle| async move { handle.topic_peers(TOPIC).await },
        |peers| peers.is_empty(),
    ))
    .await;
    assert_eq!(first.stats().await.topics, 0);

    nodes[0].0.shutdown().await;
    soon(second.wait_for(
        |handle| async move { handle.stats().await },
        |stats| stats.peers == 0,
    ))
    .await;
    assert!(second.scores().await.is_empty());
    // Our stopped node's handle says so, once its task has seen the shutdown (which
    // `shutdown` starts but does not wait for).
    soon(async {
        while !matches!(
            first.publish(TOPIC, "late").await,
            Err(PublishError::Stopped)
        ) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// A publisher that sends and leaves at once (`hyphae pubsub publish`): its messages reach
/// the subscriber's stream before its Go Away, and the subscriber reads them all before it
/// forgets the peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_just_before_the_publisher_leaves_are_delivered() {
    const MESSAGES: usize = 50;
    for _ in 0..5 {
        let nodes = full_network(2, |_| Gossipsub::new(fast_config())).await;
        let (publisher, subscriber) = (&nodes[0], &nodes[1]);
        let mut subscription = subscriber.1.subscribe(TOPIC).await.unwrap();
        soon(publisher.1.wait_for(
            |handle| async move { handle.topic_peers(TOPIC).await },
            |peers| !peers.is_empty(),
        ))
        .await;
        for index in 0..MESSAGES {
            let data = format!("{index:04}").repeat(256);
            publisher.1.publish(TOPIC, data).await.unwrap();
        }
        soon(async {
            while publisher.1.stats().await.unsent_bytes > 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await;
        publisher.0.shutdown().await;
        for index in 0..MESSAGES {
            let received = soon(subscription.next()).await.unwrap();
            assert_eq!(
                received.data(),
                format!("{index:04}").repeat(256).as_bytes()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_without_peers_fails_and_fanout_reaches_subscribers() {
    let (_alone, handle) = node_with(Gossipsub::new(fast_config())).await;
    assert!(matches!(
        handle.publish(TOPIC, "anyone?").await,
        Err(PublishError::NoPeers)
    ));

    // A publisher that never subscribes reaches subscribers through its fanout.
    let nodes = full_network(3, |_| Gossipsub::new(fast_config())).await;
    let mut subscription = nodes[1].1.subscribe(TOPIC).await.unwrap();
    let mut other = nodes[2].1.subscribe(TOPIC).await.unwrap();
    let publisher = &nodes[0].1;
    soon(publisher.wait_for(
        |handle| async move { handle.topic_peers(TOPIC).await },
        |peers| peers.len() == 2,
    ))
    .await;
    publisher.publish(TOPIC, "from outside").await.unwrap();
    assert_eq!(
        soon(subscription.next()).await.unwrap().data(),
        b"from outside"
    );
    assert_eq!(soon(other.next()).await.unwrap().data(), b"from outside");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_pruned_from_a_full_mesh_find_each_other_through_peer_exchange() {
    // A hub with room for two mesh peers, and four leaves that know only the hub.
    let small_mesh = Config {
        mesh_n: 2,
        mesh_n_low: 1,
        mesh_n_high: 2,
        mesh_n_score: 1,
        mesh_outbound_min: 0,
        // Without scoring every peer scores 0: take offers from any peer.
        accept_px_threshold: 0.0,
        ..fast_config()
    };
    let px = |enabled| Gossipsub::new(small_mesh.clone()).peer_exchange(enabled);
    let (hub, hub_gossip) = node_with(px(true)).await;
    let _hub_subscription = hub_gossip.subscribe(TOPIC).await.unwrap();
    let mut leaves = Vec::new();
    for _ in 0..4 {
        let (leaf, gossip) = node_with(px(true)).await;
        leaf.dial(&hub.listen_addrs()[0]).await.unwrap();
        let subscription = gossip.subscribe(TOPIC).await.unwrap();
        leaves.push((leaf, gossip, subscription));
    }
    let leaf_ids: Vec<PeerId> = leaves.iter().map(|(leaf, _, _)| leaf.peer_id()).collect();
    // The hub prunes two of them, offering the others; they dial who they were offered.
    soon(async {
        loop {
            let linked = leaves.iter().any(|(leaf, _, _)| {
                leaf.connected_peers()
                    .iter()
                    .any(|peer| leaf_ids.contains(peer))
            });
            if linked {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // And a message from one leaf reaches every other over the grown mesh.
    leaves[0].1.publish(TOPIC, "hello leaves").await.unwrap();
    for (_, _, subscription) in &mut leaves[1..] {
        assert_eq!(
            soon(subscription.next()).await.unwrap().data(),
            b"hello leaves"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_never_reads_costs_a_bounded_queue_and_loses_its_place() {
    let mut params = PeerScoreParams::default();
    params.topics.insert(
        TOPIC.into(),
        TopicScoreParams {
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            ..TopicScoreParams::default()
        },
    );
    let limits = QueueLimits::default();
    let service = Gossipsub::new(fast_config())
        .scoring(params, PeerScoreThresholds::default())
        .queue_limits(limits);
    let (victim, gossip) = node_with(service).await;
    let _subscription = gossip.subscribe(TOPIC).await.unwrap();

    // A peer that takes our stream and never reads it, and grafts itself onto our mesh.
    let slow = Node::builder()
        .listen("/memory/0".parse().unwrap())
        .start()
        .await
        .unwrap();
    slow.handle(PROTOCOL_V1_1, |stream| async move {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        drop(stream);
    });
    slow.dial(&victim.listen_addrs()[0]).await.unwrap();
    let mut stream = slow
        .open_stream(victim.peer_id(), PROTOCOL_V1_1)
        .await
        .unwrap();
    let join = Rpc {
        subscriptions: vec![SubOpts {
            subscribe: true,
            topic: TOPIC.into(),
        }],
        control: Some(ControlMessage {
            graft: vec![ControlGraft {
                topic: TOPIC.into(),
            }],
            ..ControlMessage::default()
        }),
        ..Rpc::default()
    };
    let frame = encode_frame(&join, &Limits::default()).unwrap();
    stream.write_all(&frame).await.unwrap();
    stream.flush().await.unwrap();
    let slow_id = slow.peer_id();
    soon(gossip.wait_for(
        |handle| async move { handle.mesh_peers(TOPIC).await },
        |mesh| mesh.contains(&slow_id),
    ))
    .await;

    // Up to 16 MiB of messages for a peer that takes none of it; publishing ends early
    // once its score falls below the publish threshold (then no one is left to send to).
    for index in 0..256u32 {
        let mut data = vec![0u8; 64 * 1024];
        data[..4].copy_from_slice(&index.to_be_bytes());
        match gossip.publish(TOPIC, data).await {
            Ok(_) => {}
            Err(PublishError::NoPeers) => break,
            Err(error) => panic!("publish failed: {error}"),
        }
    }
    let stats = gossip.stats().await;
    // Queued: at most the bound and one oversized frame; in the writer's hands, one batch.
    let bound = limits.max_message_bytes + limits.max_control_bytes + 2 * 70 * 1024;
    assert!(stats.unsent_bytes <= bound, "{stats:?}");
    assert!(
        stats.dropped_frames > 0 || stats.unsent_bytes > 0,
        "{stats:?}"
    );
    // At the next heartbeats the drops cost it score, and its place in the mesh.
    soon(gossip.wait_for(
        |handle| async move { handle.mesh_peers(TOPIC).await },
        |mesh| !mesh.contains(&slow_id),
    ))
    .await;
    let scores = gossip.scores().await;
    let score = scores.iter().find(|(peer, _)| *peer == slow_id).unwrap().1;
    assert!(score < 0.0, "{scores:?}");
    assert!(gossip.stats().await.dropped_frames > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_in_many_topics_announces_them_in_rpcs_rust_libp2p_takes() {
    // rust-libp2p 0.50 at its defaults ignores every subscription of an RPC with more than
    // 100 (`max_subscriptions_per_request`) and drops the stream of an RPC with more than
    // 16 KiB of subscriptions and control (`max_control_message_size`).
    const TOPICS: usize = 250;
    let (node, gossip) = node_with(Gossipsub::new(fast_config())).await;
    let mut subscriptions = Vec::new();
    for index in 0..TOPICS {
        // Long names, so that the byte bound binds before the count does.
        let topic = format!("{index:0>200}");
        subscriptions.push(gossip.subscribe(topic).await.unwrap());
    }

    // A peer that reads the RPCs of the node's stream to it and never writes.
    let peer = Node::builder()
        .listen("/memory/0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let (rpcs, mut received) = tokio::sync::mpsc::unbounded_channel();
    peer.handle(PROTOCOL_V1_1, move |mut stream| {
        let rpcs = rpcs.clone();
        async move {
            let mut buffer = Vec::new();
            let mut chunk = vec![0u8; 4096];
            while let Ok(read @ 1..) = stream.read(&mut chunk).await {
                buffer.extend_from_slice(&chunk[..read]);
                while let Some((decoded, consumed)) =
                    decode_frame(&buffer, &Limits::default()).unwrap()
                {
                    buffer.drain(..consumed);
                    let _ = rpcs.send(decoded.rpc);
                }
            }
        }
    });
    peer.dial(&node.listen_addrs()[0]).await.unwrap();

    let mut announced = BTreeSet::new();
    while announced.len() < TOPICS {
        let rpc = soon(received.recv()).await.expect("the stream stays open");
        assert!(
            rpc.subscriptions.len() <= 100,
            "{} subscriptions in one RPC",
            rpc.subscriptions.len()
        );
        let control = Rpc {
            publish: Vec::new(),
            test_extension: false,
            ..rpc.clone()
        };
        assert!(
            control.encoded_len() <= 16 * 1024,
            "{} bytes of subscriptions and control in one RPC",
            control.encoded_len()
        );
        announced.extend(
            rpc.subscriptions
                .into_iter()
                .filter(|subscription| subscription.subscribe)
                .map(|subscription| subscription.topic),
        );
    }
    let expected: BTreeSet<String> = (0..TOPICS).map(|index| format!("{index:0>200}")).collect();
    assert_eq!(announced, expected);
}
