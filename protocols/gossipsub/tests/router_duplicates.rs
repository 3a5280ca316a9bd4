//! Copies of seen messages are reported as events only when the configuration asks, and a
//! message never goes back to its author.

mod common;

use std::time::Instant;

use hyphae_gossipsub::{Config, Direction, Event, Message, Publisher, Router, Rpc};
use hyphae_identity::{Keypair, PeerId};

const TOPIC: &str = "blocks";

fn router(report_duplicates: bool, now: Instant) -> Router<u32> {
    let config = Config {
        report_duplicates,
        ..Config::default()
    };
    common::subscribed_router(config, [1, 2], TOPIC, now)
}

fn copy() -> Rpc {
    Rpc {
        publish: vec![Message {
            data: Some(b"twice".to_vec().into()),
            topic: TOPIC.into(),
            ..Message::default()
        }],
        ..Rpc::default()
    }
}

fn events(router: &mut Router<u32>) -> Vec<Event<u32>> {
    std::iter::from_fn(|| router.poll_event()).collect()
}

#[test]
fn a_second_copy_is_an_event_only_when_asked() {
    let now = Instant::now();
    for report in [false, true] {
        let mut router = router(report, now);
        router.handle_rpc(&1, copy(), now);
        router.handle_rpc(&2, copy(), now);
        let events = events(&mut router);
        assert!(matches!(events[0], Event::Message { source: 1, .. }));
        if report {
            assert_eq!(events.len(), 2);
            let Event::Duplicate {
                source,
                id,
                message,
            } = &events[1]
            else {
                panic!("expected a duplicate, got {:?}", events[1]);
            };
            assert_eq!((*source, message.topic.as_str()), (2, TOPIC));
            assert!(matches!(&events[0], Event::Message { id: first, .. } if first == id));
        } else {
            assert_eq!(events.len(), 1);
        }
    }
}

#[test]
fn a_message_is_not_forwarded_back_to_its_author() {
    let now = Instant::now();
    let (us, author) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
    let author_id = author.peer_id();
    let mut router: Router<u32> =
        Router::new(Config::default(), Publisher::signing(us, 1), 5).expect("valid config");
    // Peer 2 is the author; peer 1 relays its message to us; both are in our mesh.
    router
        .set_author_fn(move |from| (PeerId::from_bytes(from).ok() == Some(author_id)).then_some(2));
    common::join_with_peers(&mut router, [1, 2], Direction::Inbound, TOPIC, now);
    router.heartbeat(now);
    while router.poll_outbound().is_some() {}
    while router.poll_event().is_some() {}
    assert_eq!(router.mesh_peers(TOPIC).count(), 2);

    let mut by_author = Publisher::signing(author, 1);
    for (relay, expected) in [(1, vec![]), (2, vec![1])] {
        let message = by_author.build_message(TOPIC, &b"news"[..]).unwrap();
        let rpc = Rpc {
            publish: vec![message],
            ..Rpc::default()
        };
        router.handle_rpc(&relay, rpc, now);
        assert!(matches!(events(&mut router)[..], [Event::Message { .. }]));
        let sent: Vec<u32> = std::iter::from_fn(|| router.poll_outbound())
            .filter(|(_, rpc)| !rpc.publish.is_empty())
            .map(|(peer, _)| peer)
            .collect();
        // Relayed by 1: not back to 2, its author. Sent by 2 itself: on to 1.
        assert_eq!(sent, expected);
    }
}
