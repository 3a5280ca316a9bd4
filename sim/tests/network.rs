//! The network model's numbers: the region table, transmission times, queueing, connections.

use std::time::Duration;

use hyphae_sim::network::{
    Links, ONE_WAY_LATENCY_MS, Placement, REGIONS, one_way_latency, transmission_time,
    weighted_index,
};
use hyphae_sim::scheduler::Time;

fn place(region: usize, mbit: f64) -> Placement {
    Placement {
        region,
        upload_mbit: mbit,
        download_mbit: mbit,
        is_reachable: true,
    }
}

const EUROPE: usize = 1;
const NA_EAST: usize = 4;
const AUSTRALIA: usize = 0;

#[test]
fn the_region_table_is_network_graph_py() {
    assert_eq!(REGIONS[EUROPE], ("europe", 5599));
    assert_eq!(REGIONS[NA_EAST], ("na_east", 2894));
    assert_eq!(one_way_latency(EUROPE, NA_EAST), Duration::from_millis(70));
    assert_eq!(one_way_latency(AUSTRALIA, 6), Duration::from_millis(220));
    assert_eq!(one_way_latency(EUROPE, EUROPE), Duration::from_millis(2));
    // Symmetric but for one pair, as in the source.
    for (a, row) in ONE_WAY_LATENCY_MS.iter().enumerate() {
        for (b, latency) in row.iter().enumerate() {
            if (a, b) != (6, 7) && (a, b) != (7, 6) {
                assert_eq!(*latency, ONE_WAY_LATENCY_MS[b][a], "{a} {b}");
            }
        }
    }
}

#[test]
fn a_kilobyte_and_a_quarter_takes_200_microseconds_at_50_mbit() {
    assert_eq!(transmission_time(1250, 50.0), Duration::from_micros(200));
    assert_eq!(transmission_time(128, 1024.0), Duration::from_nanos(1000));
}

#[test]
fn a_message_crosses_uplink_latency_and_downlink() {
    let mut links = Links::new(vec![place(EUROPE, 50.0), place(NA_EAST, 50.0)], 10);
    let delivery = links.send(0, 1, 1250, Time::ZERO);
    assert_eq!(delivery.sent, Time(200_000));
    // 0.2 ms up + 70 ms + 0.2 ms down.
    assert_eq!(delivery.arrives, Time(70_400_000));
    assert_eq!(links.rtt(0, 1), Duration::from_millis(140));
}

#[test]
fn messages_queue_behind_each_other_on_a_slow_uplink() {
    let mut links = Links::new(vec![place(EUROPE, 1.0), place(EUROPE, 1000.0)], 10);
    // 12 500 bytes at 1 Mbit/s: 100 ms each.
    let first = links.send(0, 1, 12_500, Time::ZERO);
    let second = links.send(0, 1, 12_500, Time::ZERO);
    assert_eq!(first.sent, Time(100_000_000));
    assert_eq!(second.sent, Time(200_000_000));
    assert_eq!(second.arrives.0 - first.arrives.0, 100_000_000);
}

#[test]
fn messages_queue_on_a_slow_downlink_from_fast_senders() {
    let mut links = Links::new(
        vec![
            place(EUROPE, 1000.0),
            place(EUROPE, 1000.0),
            place(EUROPE, 1.0),
        ],
        10,
    );
    let a = links.send(0, 2, 12_500, Time::ZERO);
    let b = links.send(1, 2, 12_500, Time::ZERO);
    assert_eq!(b.arrives.0 - a.arrives.0, 100_000_000);
}

#[test]
fn connections_are_kept_up_to_the_limit_and_the_least_recently_used_goes() {
    let mut links = Links::new((0..4).map(|_| place(EUROPE, 50.0)).collect(), 2);
    assert!(links.connect(0, 1).is_new);
    assert!(links.connect(0, 2).is_new);
    assert!(!links.connect(0, 1).is_new);
    let third = links.connect(0, 3);
    assert!(third.is_new);
    assert_eq!(third.closed, vec![(0, 2)]);
    assert!(!links.is_connected(2, 0));
    assert!(links.is_connected(1, 0));
}

#[test]
fn weighted_choice_follows_the_weights() {
    let weights = [1, 0, 3];
    assert_eq!(weighted_index(weights, 0), 0);
    assert_eq!(weighted_index(weights, 1), 2);
    assert_eq!(weighted_index(weights, 3), 2);
}
