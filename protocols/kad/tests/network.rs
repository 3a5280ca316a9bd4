//! DHT cores in a virtual-time network: joining, finding peers, providers and records, with
//! honest, silent and client peers.

mod common;

use std::time::Duration;

use common::{Network, addr};
use hyphae_kad::{Config, Event, Key, Mode, Outcome, Progress};

fn config() -> Config {
    Config::default()
}

#[test]
fn joining_through_one_peer_fills_every_routing_table() {
    let mut net = Network::new(60, Mode::Server, config());
    net.bootstrap_all();
    for (i, node) in net.nodes.iter().enumerate() {
        assert!(
            node.routing_table().len() >= 10,
            "node {i} knows {} peers",
            node.routing_table().len()
        );
    }
}

#[test]
fn every_peer_is_found_by_its_id() {
    let mut net = Network::new(60, Mode::Server, config());
    net.bootstrap_all();
    for target in [1, 17, 42, 59] {
        let seeker = (target + 30) % 60;
        let now = net.now;
        let peer = net.peers[target];
        let query = net.nodes[seeker].find_peer(peer, now).unwrap();
        let Event::Finished { outcome, .. } = net.run_until_finished(seeker, query) else {
            unreachable!()
        };
        let Outcome::FoundPeer(Some(found)) = outcome else {
            panic!("node {seeker} did not find node {target}: {outcome:?}");
        };
        assert_eq!(found.peer, peer);
        assert_eq!(found.addrs, vec![addr(target)]);
    }
}

#[test]
fn closest_peers_are_the_true_closest() {
    let mut net = Network::new(80, Mode::Server, config());
    net.bootstrap_all();
    let key = b"some content".to_vec();
    let target = Key::for_bytes(&key);
    let mut truth: Vec<_> = net.peers.clone();
    truth.retain(|peer| *peer != net.peers[5]);
    truth.sort_by_key(|peer| Key::for_peer(peer).distance(&target));
    truth.truncate(20);
    let now = net.now;
    let query = net.nodes[5].get_closest_peers(key, now).unwrap();
    let Event::Finished {
        outcome: Outcome::ClosestPeers(found),
        stats,
        ..
    } = net.run_until_finished(5, query)
    else {
        panic!("no closest peers")
    };
    assert!(stats.hops >= 1 && stats.answers >= 20, "{stats:?}");
    let found: Vec<_> = found.into_iter().map(|p| p.peer).collect();
    let overlap = found.iter().filter(|peer| truth.contains(peer)).count();
    assert!(overlap >= 18, "found {overlap} of the 20 closest");
    assert_eq!(found[0], truth[0]);
}

#[test]
fn a_provider_is_found_by_another_peer() {
    let mut net = Network::new(60, Mode::Server, config());
    net.bootstrap_all();
    let key = b"interop-test-key-abc".to_vec();
    let now = net.now;
    let query = net.nodes[7].provide(key.clone(), now).unwrap();
    let Event::Finished {
        outcome: Outcome::Provided { succeeded, asked },
        ..
    } = net.run_until_finished(7, query)
    else {
        panic!("provide did not finish")
    };
    assert!(
        succeeded >= 15 && succeeded == asked,
        "{succeeded} of {asked}"
    );

    let now = net.now;
    let query = net.nodes[40].find_providers(key, 5, now).unwrap();
    net.run_until_finished(40, query);
    let providers = net.progress(40, query);
    assert_eq!(
        providers,
        vec![Progress::Provider(hyphae_kad::PeerAddrs {
            peer: net.peers[7],
            addrs: vec![addr(7)]
        })]
    );
}

#[test]
fn a_record_put_by_one_peer_is_read_by_another() {
    let mut net = Network::new(60, Mode::Server, config());
    net.bootstrap_all();
    let key = b"/example/greeting".to_vec();
    let now = net.now;
    let query = net.nodes[3]
        .put_value(key.clone(), b"hello".to_vec(), now)
        .unwrap();
    let Event::Finished {
        outcome:
            Outcome::Stored {
                succeeded,
                quorum_reached,
                ..
            },
        ..
    } = net.run_until_finished(3, query)
    else {
        panic!("put did not finish")
    };
    assert!(quorum_reached && succeeded >= 15, "stored at {succeeded}");

    let now = net.now;
    let query = net.nodes[50].get_value(key.clone(), now).unwrap();
    let Event::Finished {
        outcome: Outcome::Value(Some(record)),
        ..
    } = net.run_until_finished(50, query)
    else {
        panic!("no value")
    };
    assert_eq!(record.value, b"hello");
    assert_eq!(record.key, key);
}

#[test]
fn records_of_unknown_namespaces_are_refused() {
    let mut net = Network::new(5, Mode::Server, config());
    let now = net.now;
    assert!(
        net.nodes[0]
            .put_value(b"/nobody/knows".to_vec(), b"x".to_vec(), now)
            .is_err()
    );
}

#[test]
fn lookups_end_and_succeed_when_a_fifth_of_the_peers_fall_silent() {
    let mut net = Network::new(80, Mode::Server, config());
    net.bootstrap_all();
    for i in (1..80).step_by(5) {
        net.silent.insert(i);
    }
    let mut found = 0;
    for target in [3, 8, 22, 47, 64, 78] {
        let seeker = (target + 40) % 80;
        let started = net.now;
        let now = net.now;
        let query = net.nodes[seeker].find_peer(net.peers[target], now).unwrap();
        if let Event::Finished {
            outcome: Outcome::FoundPeer(Some(_)),
            ..
        } = net.run_until_finished(seeker, query)
        {
            found += 1;
        }
        // One silent peer never holds a lookup for its whole timeout.
        assert!(
            net.now - started < Duration::from_secs(10),
            "took {:?}",
            net.now - started
        );
    }
    assert!(found >= 5, "found {found} of 6");
}

#[test]
fn clients_ask_but_never_enter_routing_tables() {
    let mut net = Network::new(30, Mode::Server, config());
    net.nodes[29].set_mode(Mode::Client);
    net.bootstrap_all();
    let client = net.peers[29];
    for (i, node) in net.nodes.iter().enumerate() {
        assert!(
            !node.routing_table().contains(&client),
            "node {i} holds the client"
        );
    }
    assert!(net.nodes[29].routing_table().len() >= 10);
}

#[test]
fn the_same_network_gives_the_same_run() {
    fn trace() -> Vec<String> {
        let mut net = Network::new(20, Mode::Server, config());
        net.bootstrap_all();
        net.events
            .iter()
            .map(|(node, event)| format!("{node} {event:?}"))
            .collect()
    }
    let first = trace();
    assert!(first.len() > 40);
    assert_eq!(first, trace());
}

#[test]
fn optimistic_provide_stores_where_finders_look_in_fewer_round_trips() {
    let mut config = config();
    config.optimistic_provide = true;
    let mut net = Network::new(150, Mode::Server, config);
    net.bootstrap_all();
    // Node 9 joined a network of 10: its estimate follows the network through its lookups.
    for provider in [9, 10] {
        for i in 0..8 {
            let now = net.now;
            let query = net.nodes[provider].get_closest_peers(vec![i], now).unwrap();
            net.run_until_finished(provider, query);
        }
        let size = net.nodes[provider]
            .network_size_estimate()
            .expect("an estimate");
        assert!((75.0..300.0).contains(&size), "estimated {size} of 150");
    }

    let mut durations = Vec::new();
    for (provider, optimistic) in [(9, false), (10, true)] {
        net.nodes[provider].set_optimistic_provide(optimistic);
        let key = format!("content {provider}").into_bytes();
        let started = net.now;
        let now = net.now;
        let query = net.nodes[provider].provide(key.clone(), now).unwrap();
        let Event::Finished {
            outcome: Outcome::Provided { succeeded, .. },
            ..
        } = net.run_until_finished(provider, query)
        else {
            panic!("provide did not finish")
        };
        durations.push(net.now - started);
        assert!(succeeded >= 15, "stored at {succeeded}");
        for seeker in [50, 100, 149] {
            let now = net.now;
            let query = net.nodes[seeker]
                .find_providers(key.clone(), 1, now)
                .unwrap();
            net.run_until_finished(seeker, query);
            assert_eq!(
                net.progress(seeker, query).len(),
                1,
                "node {seeker} found no provider"
            );
        }
    }
    println!(
        "provide took {:?}, optimistically {:?}",
        durations[0], durations[1]
    );
    assert!(
        durations[1] < durations[0],
        "optimistic {:?} vs {:?}",
        durations[1],
        durations[0]
    );
}

#[test]
fn provider_entries_and_records_outlive_their_48_hours_by_being_renewed() {
    // Table refreshes are beside the point here; fewer of them keep the run short.
    let mut config = config();
    config.refresh_interval = Duration::from_secs(6 * 3600);
    let mut net = Network::new(12, Mode::Server, config);
    net.bootstrap_all();
    let now = net.now;
    let kept = b"kept content".to_vec();
    let dropped = b"dropped content".to_vec();
    for key in [&kept, &dropped] {
        let query = net.nodes[3].provide(key.clone(), now).unwrap();
        net.run_until_finished(3, query);
    }
    let query = net.nodes[3]
        .put_value(b"/example/kept".to_vec(), b"still here".to_vec(), net.now)
        .unwrap();
    net.run_until_finished(3, query);
    net.nodes[3].stop_providing(&dropped);

    // 50 hours: every entry stored at the start has expired (48 h); the kept ones were
    // reannounced at 22 h and 44 h.
    let end = net.now + Duration::from_secs(50 * 3600);
    net.run_until(Duration::from_secs(51 * 3600), |net| net.now >= end);

    let now = net.now;
    let query = net.nodes[9].find_providers(kept.clone(), 5, now).unwrap();
    net.run_until_finished(9, query);
    assert_eq!(
        net.progress(9, query).len(),
        1,
        "the kept key lost its provider"
    );
    let query = net.nodes[9].find_providers(dropped, 5, now).unwrap();
    net.run_until_finished(9, query);
    assert!(
        net.progress(9, query).is_empty(),
        "a key no longer provided is still found"
    );
    let query = net.nodes[9]
        .get_value(b"/example/kept".to_vec(), now)
        .unwrap();
    let Event::Finished {
        outcome: Outcome::Value(Some(record)),
        ..
    } = net.run_until_finished(9, query)
    else {
        panic!("the record was not republished")
    };
    assert_eq!(record.value, b"still here");
}

#[test]
fn entries_that_stop_answering_leave_the_tables_and_quiet_live_ones_stay() {
    let mut config = config();
    config.refresh_interval = Duration::from_secs(6 * 3600);
    let mut net = Network::new(12, Mode::Server, config);
    net.bootstrap_all();
    let gone = net.peers[5];
    net.silent.insert(5);
    // Past the usefulness window (86 min) with no lookups at all: every entry is probed.
    let end = net.now + Duration::from_secs(2 * 3600);
    net.run_until(Duration::from_secs(3 * 3600), |net| net.now >= end);
    for (i, node) in net.nodes.iter().enumerate() {
        if i != 5 {
            assert!(
                !node.routing_table().contains(&gone),
                "node {i} still holds the silent peer"
            );
            assert!(
                node.routing_table().len() >= 8,
                "node {i} kept {} peers",
                node.routing_table().len()
            );
        }
    }
}
