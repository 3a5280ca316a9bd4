//! The resource manager's accounting: reservations charge every scope above, refusals
//! charge none, and scopes give back what they hold when they drop.

use hyphae_core::resources::{
    Opener, Resource, ResourceLimits, ResourceManager, ScopeKind, ScopeLimits, ScopeName,
};
use hyphae_identity::{Keypair, PeerId};

fn peer() -> PeerId {
    Keypair::generate_ed25519().public().to_peer_id()
}

fn manager(edit: impl FnOnce(&mut ResourceLimits)) -> ResourceManager {
    let mut limits = ResourceLimits::scaled(1 << 30, 1024);
    edit(&mut limits);
    ResourceManager::new(limits)
}

#[test]
fn a_connection_moves_from_the_transient_scope_to_its_peers() {
    let resources = manager(|_| {});
    let connection = resources.open_connection(Opener::Remote, true).unwrap();
    connection.scope().reserve_memory(1000).unwrap();
    assert_eq!(resources.transient().usage().inbound_connections, 1);
    assert_eq!(resources.transient().usage().memory, 1000);
    assert_eq!(resources.system().usage().file_descriptors, 1);

    let alice = peer();
    let connection = connection.authenticated(&alice).unwrap();
    assert!(resources.transient().usage().is_empty());
    let at_peer = resources.peer_usage(&alice).unwrap();
    assert_eq!((at_peer.inbound_connections, at_peer.connections), (1, 1));
    assert_eq!(at_peer.memory, 0, "handshake memory is given back");
    assert_eq!(resources.system().usage().connections, 1);

    drop(connection);
    assert!(resources.system().usage().is_empty());
    assert_eq!(
        resources.peer_usage(&alice),
        None,
        "the peer's scope went with it"
    );
}

#[test]
fn a_refused_reservation_charges_no_scope() {
    let resources = manager(|limits| limits.peer = limits.peer.with_memory(10_000));
    let alice = peer();
    let first = resources
        .open_connection(Opener::Local, false)
        .unwrap()
        .authenticated(&alice)
        .unwrap();
    let second = resources
        .open_connection(Opener::Local, false)
        .unwrap()
        .authenticated(&alice)
        .unwrap();
    first.scope().reserve_memory(6_000).unwrap();
    let refused = second.scope().reserve_memory(6_000).unwrap_err();
    assert_eq!(refused.scope, ScopeName::Peer(alice));
    assert_eq!(refused.resource, Resource::Memory);
    assert_eq!((refused.limit, refused.used), (10_000, 6_000));
    assert_eq!(second.scope().usage().memory, 0);
    assert_eq!(resources.system().usage().memory, 6_000);

    first.scope().release_memory(6_000);
    second.scope().reserve_memory(6_000).unwrap();
    assert_eq!(resources.system().usage().memory, 6_000);
    assert_eq!(
        resources.snapshot().refusals,
        vec![(ScopeKind::Peer, Resource::Memory, 1)]
    );
}

#[test]
fn a_peer_past_its_connection_limit_is_refused_at_authentication() {
    let resources = manager(|limits| limits.peer = limits.peer.with_connections(8, 8, 2));
    let alice = peer();
    let kept: Vec<_> = (0..2)
        .map(|_| {
            let connection = resources.open_connection(Opener::Remote, true).unwrap();
            connection.authenticated(&alice).unwrap()
        })
        .collect();
    let third = resources.open_connection(Opener::Remote, true).unwrap();
    let refused = third.authenticated(&alice).unwrap_err();
    assert_eq!(refused.resource, Resource::Connections);
    assert_eq!(resources.system().usage().connections, 2);
    assert!(resources.transient().usage().is_empty());
    drop(kept);
    assert!(resources.system().usage().is_empty());
}

#[test]
fn the_transient_scope_bounds_handshakes_in_flight() {
    let resources = manager(|limits| limits.transient = limits.transient.with_connections(2, 8, 8));
    let held: Vec<_> = (0..2)
        .map(|_| resources.open_connection(Opener::Remote, true).unwrap())
        .collect();
    let refused = resources.open_connection(Opener::Remote, true).unwrap_err();
    assert_eq!(refused.scope, ScopeName::Transient);
    assert_eq!(refused.resource, Resource::InboundConnections);
    resources.open_connection(Opener::Local, true).unwrap();
    drop(held);
    resources.open_connection(Opener::Remote, true).unwrap();
}

#[test]
fn streams_count_in_their_connection_protocol_and_service() {
    const PROTOCOL: &str = "/ipfs/kad/1.0.0";
    let resources = manager(|limits| {
        limits.protocols.insert(
            PROTOCOL.into(),
            ScopeLimits::UNLIMITED.with_streams(2, 8, 8),
        );
    });
    let alice = peer();
    let connection = resources
        .open_connection(Opener::Remote, true)
        .unwrap()
        .authenticated(&alice)
        .unwrap();
    let streams: Vec<_> = (0..2)
        .map(|_| {
            resources
                .open_stream(&connection, Opener::Remote, PROTOCOL, Some("kad"))
                .unwrap()
        })
        .collect();
    let refused = resources
        .open_stream(&connection, Opener::Remote, PROTOCOL, Some("kad"))
        .unwrap_err();
    assert_eq!(refused.scope, ScopeName::Protocol(PROTOCOL.into()));
    let outbound = resources
        .open_stream(&connection, Opener::Local, PROTOCOL, Some("kad"))
        .unwrap();

    let snapshot = resources.snapshot();
    assert_eq!(snapshot.services.len(), 1);
    assert_eq!(snapshot.services[0].1.inbound_streams, 2);
    assert_eq!(snapshot.protocols[0].1.streams, 3);
    assert_eq!(connection.scope().usage().streams, 3);
    assert_eq!(resources.peer_usage(&alice).unwrap().inbound_streams, 2);
    assert_eq!(snapshot.system.streams, 3);
    assert_eq!(snapshot.peers, 1);

    streams[0].reserve_memory(4096).unwrap();
    assert_eq!(resources.service("kad").usage().memory, 4096);
    drop((streams, outbound));
    assert_eq!(resources.system().usage().streams, 0);
    assert_eq!(resources.system().usage().memory, 0);
}

#[test]
fn a_service_span_charges_the_service_and_the_peer() {
    let resources = manager(|limits| {
        limits.services.insert(
            "gossipsub".into(),
            ScopeLimits::UNLIMITED.with_memory(1 << 20),
        );
    });
    let alice = peer();
    let span = resources.service_span("gossipsub", &alice);
    span.reserve_memory(1 << 19).unwrap();
    assert_eq!(resources.peer_usage(&alice).unwrap().memory, 1 << 19);
    let other = resources.service_span("gossipsub", &peer());
    let refused = other.reserve_memory(1 << 20).unwrap_err();
    assert_eq!(refused.scope, ScopeName::Service("gossipsub".into()));
    drop(span);
    assert_eq!(resources.service("gossipsub").usage().memory, 0);
    assert_eq!(resources.system().usage().memory, 0);
}

#[test]
fn concurrent_reservations_never_pass_a_limit() {
    let resources = manager(|limits| limits.system = limits.system.with_memory(1_000_000));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let resources = resources.clone();
            std::thread::spawn(move || {
                let span = resources.service_span("s", &peer());
                let mut held = 0;
                for _ in 0..10_000 {
                    if span.reserve_memory(1_000).is_ok() {
                        held += 1_000;
                    }
                    assert!(resources.system().usage().memory <= 1_000_000);
                    if held >= 300_000 {
                        span.release_memory(held);
                        held = 0;
                    }
                }
                span
            })
        })
        .collect();
    let spans: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let held: u64 = spans.iter().map(|span| span.usage().memory).sum();
    assert_eq!(resources.system().usage().memory, held);
    drop(spans);
    assert_eq!(resources.system().usage().memory, 0);
}

#[test]
fn low_priority_reservations_leave_room_for_the_rest() {
    let resources = manager(|limits| limits.system = limits.system.with_memory(1 << 20));
    let span = resources.service_span("s", &peer());
    span.reserve_memory_with_priority(400 << 10, 127).unwrap();
    let refused = span
        .reserve_memory_with_priority(200 << 10, 127)
        .unwrap_err();
    assert_eq!(refused.scope, ScopeName::System);
    assert_eq!(refused.limit, 512 << 10, "half the limit at priority 127");
    span.reserve_memory(600 << 10).unwrap();
    assert_eq!(resources.system().usage().memory, 1000 << 10);
}
