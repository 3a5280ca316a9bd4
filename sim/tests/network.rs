//! The network model's numbers: the region tables, transmission times, queueing, connections.

use std::time::Duration;

use hyphae_kad::{Config, Rng};
use hyphae_sim::adversary::AdversaryConfig;
use hyphae_sim::churn::ChurnConfig;
use hyphae_sim::network::{
    Links, NetworkConfig, ONE_WAY_LATENCY_MS, Placement, REGIONS, RegionTable, RegionTableError,
    RegionTableSpec, one_way_latency, transmission_time, weighted_index,
};
use hyphae_sim::scheduler::Time;
use hyphae_sim::simulation::{SimConfig, Simulation};

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

/// Two places 25 ms apart, nodes alternating between them: the calibration's testbed.
const TWO_PLACES: &str = r#"
    [regions]
    names = ["a", "b"]
    one_way_latency_ms = [[0.0, 25.0], [25.0, 0.5]]
    nodes = ["a", "b"]
"#;

fn two_places() -> NetworkConfig {
    toml::from_str(TWO_PLACES).unwrap()
}

#[test]
fn the_default_network_keeps_the_builtin_regions_and_leaves_them_out_of_reports() {
    let network = NetworkConfig::default();
    assert!(network.regions.is_builtin());
    assert_eq!(network.regions.len(), REGIONS.len());
    assert_eq!(network.regions.name(EUROPE), "europe");
    assert_eq!(
        network.regions.one_way_latency(EUROPE, NA_EAST),
        one_way_latency(EUROPE, NA_EAST)
    );
    let json = serde_json::to_value(&network).unwrap();
    assert!(json.get("regions").is_none(), "{json}");
}

#[test]
fn a_scenario_region_table_sets_the_latency_between_nodes() {
    let network = two_places();
    let links = network.links(vec![place(0, 1000.0), place(1, 1000.0), place(1, 1000.0)]);
    assert_eq!(links.latency(0, 1), Duration::from_millis(25));
    assert_eq!(links.latency(1, 2), Duration::from_micros(500));
    assert_eq!(links.rtt(0, 1), Duration::from_millis(50));
    assert_eq!(links.rtt(1, 2), Duration::from_millis(1));
}

#[test]
fn a_region_table_survives_a_round_trip_through_its_file_format() {
    let network = two_places();
    let text = toml::to_string(&network).unwrap();
    let again: NetworkConfig = toml::from_str(&text).unwrap();
    assert_eq!(again, network);
    assert!(!again.regions.is_builtin());
}

#[test]
fn explicit_placement_puts_node_i_in_the_ith_region_named_cycling() {
    let table = two_places().regions;
    let mut rng = Rng::from_seed(1);
    let regions: Vec<usize> = (0..5).map(|node| table.place(node, &mut rng)).collect();
    assert_eq!(regions, [0, 1, 0, 1, 0]);
}

#[test]
fn a_simulation_places_its_nodes_as_the_table_says() {
    let sim = Simulation::new(SimConfig {
        seed: 1,
        nodes: 6,
        network: two_places(),
        kad: Config::default(),
        churn: ChurnConfig::default(),
        adversaries: AdversaryConfig::default(),
    });
    let regions: Vec<usize> = (0..6)
        .map(|node| sim.links().placement(node).region)
        .collect();
    assert_eq!(regions, [0, 1, 0, 1, 0, 1]);
    assert_eq!(sim.links().rtt(0, 1), Duration::from_millis(50));
}

#[test]
fn placement_by_weight_follows_the_weights() {
    let table = RegionTable::new(RegionTableSpec {
        names: vec!["never".into(), "always".into()],
        weights: vec![0, 1],
        one_way_latency_ms: vec![vec![1.0, 2.0], vec![2.0, 1.0]],
        nodes: Vec::new(),
    })
    .unwrap();
    let mut rng = Rng::from_seed(2);
    assert!((0..100).all(|node| table.place(node, &mut rng) == 1));
}

#[test]
fn malformed_region_tables_are_refused() {
    let spec = || RegionTableSpec {
        names: vec!["a".into(), "b".into()],
        weights: Vec::new(),
        one_way_latency_ms: vec![vec![0.0, 25.0], vec![25.0, 0.0]],
        nodes: Vec::new(),
    };
    assert!(RegionTable::new(spec()).is_ok());
    let refused = |change: fn(&mut RegionTableSpec)| {
        let mut spec = spec();
        change(&mut spec);
        RegionTable::new(spec).unwrap_err()
    };
    assert_eq!(refused(|s| s.names.clear()), RegionTableError::Empty);
    assert_eq!(
        refused(|s| s.names[1] = "a".into()),
        RegionTableError::DuplicateName("a".into())
    );
    assert_eq!(
        refused(|s| s.weights = vec![1]),
        RegionTableError::WeightCount {
            regions: 2,
            weights: 1
        }
    );
    assert_eq!(
        refused(|s| s.weights = vec![0, 0]),
        RegionTableError::ZeroWeights
    );
    assert_eq!(
        refused(|s| {
            s.one_way_latency_ms[1].pop();
        }),
        RegionTableError::MatrixShape(2)
    );
    assert!(matches!(
        refused(|s| s.one_way_latency_ms[0][1] = -1.0),
        RegionTableError::Latency { ms, .. } if ms == -1.0
    ));
    assert!(matches!(
        refused(|s| s.one_way_latency_ms[0][1] = f64::NAN),
        RegionTableError::Latency { .. }
    ));
    assert_eq!(
        refused(|s| s.nodes = vec!["c".into()]),
        RegionTableError::UnknownRegion("c".into())
    );
    // A file with a malformed table does not parse.
    let error = toml::from_str::<NetworkConfig>(
        r#"
        [regions]
        names = ["a"]
        one_way_latency_ms = [[0.0, 1.0]]
        "#,
    )
    .unwrap_err();
    assert!(error.to_string().contains("1 × 1"), "{error}");
}
