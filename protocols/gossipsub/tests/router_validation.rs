//! Asynchronous validation: messages wait for the application's verdict, within a bound and
//! a deadline, and only accepted ones are delivered and forwarded.

mod common;

use std::time::{Duration, Instant};

use hyphae_gossipsub::{
    Config, Direction, Event, Message, MessageId, Publisher, Router, Rpc, Validation,
};

const TOPIC: &str = "blocks";

/// A router that joined [`TOPIC`] with peers 1 and 2 in its mesh, validating asynchronously.
fn validating_router(config: Config, now: Instant) -> Router<u32> {
    let config = Config {
        async_validation: true,
        ..config
    };
    let mut router = Router::new(config, Publisher::anonymous(), 3).expect("valid config");
    common::join_with_peers(&mut router, [1, 2], Direction::Outbound, TOPIC, now);
    router
}

fn publish(data: &str) -> Rpc {
    Rpc {
        publish: vec![Message {
            data: Some(data.as_bytes().to_vec().into()),
            topic: TOPIC.into(),
            ..Message::default()
        }],
        ..Rpc::default()
    }
}

/// The id of the message the router asks a verdict for, after checking nothing else came.
fn awaited(router: &mut Router<u32>) -> MessageId {
    let events: Vec<Event<u32>> = std::iter::from_fn(|| router.poll_event()).collect();
    match events.as_slice() {
        [Event::Validate { source: 1, id, .. }] => id.clone(),
        other => panic!("expected one Validate event, got {other:?}"),
    }
}

fn forwarded(router: &mut Router<u32>) -> Vec<u32> {
    std::iter::from_fn(|| router.poll_outbound())
        .filter(|(_, rpc)| !rpc.publish.is_empty())
        .map(|(peer, _)| peer)
        .collect()
}

#[test]
fn an_accepted_message_is_delivered_and_forwarded_only_after_the_verdict() {
    let now = Instant::now();
    let mut router = validating_router(Config::default(), now);
    router.handle_rpc(&1, publish("hello"), now);
    let id = awaited(&mut router);
    assert_eq!(forwarded(&mut router), Vec::<u32>::new());
    assert_eq!(router.pending_validations(), 1);

    // A copy from the other peer while waiting is a duplicate, not a second validation.
    router.handle_rpc(&2, publish("hello"), now);
    assert!(router.poll_event().is_none());

    assert!(router.report_validation(&id, Validation::Accept, now));
    assert!(matches!(
        router.poll_event(),
        Some(Event::Message { source: 1, .. })
    ));
    assert_eq!(forwarded(&mut router), vec![2]);
    assert_eq!(router.pending_validations(), 0);
    // A second verdict for the same id finds nothing waiting.
    assert!(!router.report_validation(&id, Validation::Accept, now));
}

#[test]
fn rejected_and_ignored_messages_go_nowhere() {
    let now = Instant::now();
    let mut router = validating_router(Config::default(), now);
    for (data, verdict) in [("bad", Validation::Reject), ("dull", Validation::Ignore)] {
        router.handle_rpc(&1, publish(data), now);
        let id = awaited(&mut router);
        assert!(router.report_validation(&id, verdict, now));
        assert!(router.poll_event().is_none());
        assert_eq!(forwarded(&mut router), Vec::<u32>::new());
    }
    assert_eq!(router.unvalidated(), 0);
}

#[test]
fn messages_past_the_bound_or_the_deadline_are_dropped_unjudged() {
    let now = Instant::now();
    let config = Config {
        max_pending_validations: 2,
        validation_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let mut router = validating_router(config, now);
    for data in ["a", "b", "c"] {
        router.handle_rpc(&1, publish(data), now);
    }
    let validating = std::iter::from_fn(|| router.poll_event())
        .filter(|event| matches!(event, Event::Validate { .. }))
        .count();
    assert_eq!(validating, 2);
    assert_eq!(router.pending_validations(), 2);
    assert_eq!(router.unvalidated(), 1);

    // The heartbeat after the deadline frees both; a late verdict is refused.
    router.heartbeat(now + Duration::from_secs(1));
    assert_eq!(router.pending_validations(), 2);
    router.heartbeat(now + Duration::from_secs(3));
    assert_eq!(router.pending_validations(), 0);
    assert_eq!(router.unvalidated(), 3);
    assert_eq!(forwarded(&mut router), Vec::<u32>::new());
}
