//! Check-before-add: an identified server enters the routing table by answering one request,
//! and a server whose check went unanswered on a live connection is checked once more at the
//! next maintenance tick (every minute), but not a third time, and not once it has left.

mod common;

use std::time::{Duration, Instant};

use common::{Network, addr};
use hyphae_identity::PeerId;
use hyphae_kad::{Config, Dht, Failure, MessageType, Mode, Transmit};

/// Past the first maintenance tick (a minute after the node started) but before the table's
/// first refresh.
const NEXT_TICK: Duration = Duration::from_secs(61);

/// Node 0 connected to node 1, which identified as a server: node 0's check of it is out.
fn identified_server() -> (Network, Transmit) {
    let mut net = Network::new(2, Mode::Server, Config::default());
    let (server, now) = (net.peers[1], net.now);
    net.nodes[0].set_connected(server, true);
    net.nodes[0].on_identified(server, vec![addr(1)], true, now);
    let check = checks_of(&mut net.nodes[0], server)
        .pop()
        .expect("an identified server is checked");
    (net, check)
}

/// The check-before-add requests `node` has queued for `peer` (other requests are dropped).
fn checks_of(node: &mut Dht, peer: PeerId) -> Vec<Transmit> {
    let mut checks = Vec::new();
    while let Some(transmit) = node.poll_transmit() {
        if transmit.peer == peer
            && transmit.message.kind == MessageType::FindNode
            && transmit.message.key == node.local_peer_id().to_bytes()
        {
            checks.push(transmit);
        }
    }
    checks
}

/// Node 1 answers node 0's `check`, and node 0 reads the answer, at `now`.
fn answer(net: &mut Network, check: Transmit, now: Instant) {
    let answer = net.nodes[1]
        .handle_request(net.peers[0], check.message, now)
        .unwrap()
        .expect("FIND_NODE is answered");
    net.nodes[0].handle_response(check.request, answer, now);
}

/// Lets the requests `node` sent at `started` go unanswered until they time out.
fn time_out(node: &mut Dht, started: Instant) {
    node.handle_timeout(started + node.config().request_timeout + Duration::from_secs(1));
}

#[test]
fn a_server_that_answers_its_check_enters_the_table() {
    let (mut net, check) = identified_server();
    let now = net.now;
    answer(&mut net, check, now);
    assert!(net.nodes[0].routing_table().contains(&net.peers[1]));
}

#[test]
fn a_server_whose_check_went_unanswered_is_checked_once_more_and_enters() {
    let (mut net, _unanswered) = identified_server();
    let (server, start) = (net.peers[1], net.now);
    time_out(&mut net.nodes[0], start);
    assert!(!net.nodes[0].routing_table().contains(&server));
    assert!(checks_of(&mut net.nodes[0], server).is_empty());

    let tick = start + NEXT_TICK;
    net.nodes[0].handle_timeout(tick);
    let [second] = <[Transmit; 1]>::try_from(checks_of(&mut net.nodes[0], server))
        .expect("one check at the tick");
    answer(&mut net, second, tick);
    assert!(net.nodes[0].routing_table().contains(&server));
}

#[test]
fn a_server_is_checked_at_most_twice() {
    let (mut net, _unanswered) = identified_server();
    let (server, start) = (net.peers[1], net.now);
    time_out(&mut net.nodes[0], start);
    let tick = start + NEXT_TICK;
    net.nodes[0].handle_timeout(tick);
    assert_eq!(checks_of(&mut net.nodes[0], server).len(), 1);
    time_out(&mut net.nodes[0], tick);
    for minute in 2..6 {
        net.nodes[0].handle_timeout(start + NEXT_TICK * minute);
        assert!(checks_of(&mut net.nodes[0], server).is_empty());
    }
    assert!(!net.nodes[0].routing_table().contains(&server));
}

#[test]
fn a_server_that_disconnected_is_not_checked_again() {
    let (mut net, _unanswered) = identified_server();
    let (server, start) = (net.peers[1], net.now);
    time_out(&mut net.nodes[0], start);
    net.nodes[0].set_connected(server, false);
    net.nodes[0].handle_timeout(start + NEXT_TICK);
    assert!(checks_of(&mut net.nodes[0], server).is_empty());
}

#[test]
fn a_server_that_answered_wrongly_is_not_checked_again() {
    let (mut net, check) = identified_server();
    let (server, start) = (net.peers[1], net.now);
    net.nodes[0].handle_failure(check.request, Failure::Invalid, start);
    net.nodes[0].handle_timeout(start + NEXT_TICK);
    assert!(checks_of(&mut net.nodes[0], server).is_empty());
    // A new identify (the server's addresses changed, say) starts over.
    net.nodes[0].on_identified(server, vec![addr(1)], true, start + NEXT_TICK);
    assert_eq!(checks_of(&mut net.nodes[0], server).len(), 1);
}
