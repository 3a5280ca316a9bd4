//! Whole runs: the same seed gives the same trace, another seed another, and lookups in a
//! seeded 200-node network find the true closest peers.

use hyphae_sim::report::OperationRecord;
use hyphae_sim::scenario::{Scenario, run};

fn scenario(seed: u64) -> Scenario {
    let mut scenario: Scenario = toml::from_str(
        r#"
        name = "test"
        nodes = 200
        [bootstrap]
        self_lookup = true
        window_ms = 5000
        [operations]
        count = 60
        interval_ms = 100
        find_node = 2
        get_providers = 1
        provide = 1
        get = 1
        put = 1
        [network]
        loss = 0.01
        unreachable_share = 0.2
        "#,
    )
    .unwrap();
    scenario.seed = seed;
    scenario
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_another() {
    let first = run(&scenario(1), |_, _| {});
    let again = run(&scenario(1), |_, _| {});
    let other = run(&scenario(2), |_, _| {});
    assert_eq!(first.summary.trace_hash, again.summary.trace_hash);
    assert_eq!(first.records, again.records);
    assert_ne!(first.summary.trace_hash, other.summary.trace_hash);
}

#[test]
fn lookups_in_a_seeded_200_node_network_find_the_true_closest() {
    let mut scenario = scenario(7);
    scenario.network.loss = 0.0;
    scenario.network.unreachable_share = 0.0;
    scenario.operations.count = 40;
    scenario.operations.get_providers = 0;
    scenario.operations.provide = 0;
    scenario.operations.get = 0;
    scenario.operations.put = 0;
    let result = run(&scenario, |_, _| {});
    let lookups: Vec<&OperationRecord> = result
        .records
        .iter()
        .filter(|r| r.kind == "find_node")
        .collect();
    assert_eq!(lookups.len(), 40);
    for lookup in lookups {
        assert!(lookup.is_success);
        assert_eq!(lookup.closest_fraction, Some(1.0), "{lookup:?}");
        assert!(lookup.hops <= 4, "{lookup:?}");
    }
}

#[test]
fn providers_and_records_are_found_after_they_are_written() {
    let result = run(&scenario(3), |_, _| {});
    let summary = &result.summary.operations;
    for kind in ["get_providers", "get", "provide", "put"] {
        let figures = &summary[kind];
        assert!(figures.success_rate >= 0.9, "{kind}: {figures:?}");
    }
}
