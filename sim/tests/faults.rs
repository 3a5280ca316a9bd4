//! Runs with faults: nodes that leave and come back, and servers that misbehave. The DHT
//! must keep finding what it should, and the simulation must stay deterministic.

use std::time::Duration;

use hyphae_kad::Config;
use hyphae_sim::adversary::{AdversaryConfig, Behaviour};
use hyphae_sim::churn::ChurnConfig;
use hyphae_sim::network::NetworkConfig;
use hyphae_sim::report::OperationRecord;
use hyphae_sim::scenario::{Scenario, run};
use hyphae_sim::scheduler::Time;
use hyphae_sim::simulation::{SimConfig, Simulation};

/// Sessions of 5 minutes on average, 1 minute away: a tenth of the nodes are out at any time.
fn fast_churn() -> ChurnConfig {
    ChurnConfig {
        leave_per_hour: 12.0,
        downtime_mean: Duration::from_secs(60),
        ..ChurnConfig::default()
    }
}

fn scenario(seed: u64) -> Scenario {
    let mut scenario: Scenario = toml::from_str(
        r#"
        name = "faults"
        nodes = 200
        [bootstrap]
        self_lookup = true
        window_ms = 5000
        [operations]
        count = 60
        interval_ms = 2000
        find_node = 2
        get_providers = 1
        provide = 1
        get = 1
        put = 1
        [network]
        unreachable_share = 0.2
        "#,
    )
    .unwrap();
    scenario.seed = seed;
    scenario
}

fn of_kind<'a>(records: &'a [OperationRecord], kind: &str) -> Vec<&'a OperationRecord> {
    records.iter().filter(|r| r.kind == kind).collect()
}

#[test]
fn churned_nodes_leave_and_come_back_with_working_tables() {
    let nodes = 150;
    let mut sim = Simulation::new(SimConfig {
        seed: 5,
        nodes,
        network: NetworkConfig::default(),
        kad: Config::default(),
        churn: fast_churn(),
        adversaries: AdversaryConfig::default(),
    });
    sim.seed_routing_tables(20);
    sim.start_churn();
    let mut fewest_online = nodes;
    for minute in 1..=12 {
        sim.run_until(Time::ZERO.after(Duration::from_secs(60 * minute)));
        fewest_online = fewest_online.min(sim.online());
    }
    // About one in eleven nodes is away at any time (5 min sessions, 1 min away).
    assert!(
        fewest_online < nodes - 10,
        "{fewest_online} online at least"
    );
    assert!(sim.online() > nodes * 3 / 4, "{} online", sim.online());
    // Nodes that came back bootstrapped from a few peers into a full table.
    let full_tables = sim
        .nodes()
        .iter()
        .filter(|node| node.is_online && node.dht.routing_table().len() >= 20)
        .count();
    assert!(
        full_tables > sim.online() * 9 / 10,
        "{full_tables} full tables"
    );
}

#[test]
fn the_dht_keeps_working_under_churn_and_runs_stay_deterministic() {
    let mut churned = scenario(11);
    churned.churn = fast_churn();
    let first = run(&churned, |_, _| {});
    let again = run(&churned, |_, _| {});
    assert_eq!(first.summary.trace_hash, again.summary.trace_hash);
    assert_eq!(first.records, again.records);
    let summary = &first.summary;
    // Some operations lost their node mid-way; they count in no kind's figures.
    let counted: usize = summary.operations.values().map(|kind| kind.count).sum();
    assert_eq!(counted + summary.abandoned, churned.operations.count);
    let lookups = of_kind(&first.records, "find_node");
    let found: f64 = lookups
        .iter()
        .filter_map(|r| r.closest_fraction)
        .sum::<f64>()
        / lookups.len() as f64;
    assert!(found >= 0.9, "share of the true closest found: {found}");
    for kind in ["find_node", "get_providers", "get"] {
        let figures = &summary.operations[kind];
        assert!(figures.success_rate >= 0.9, "{kind}: {figures:?}");
    }
}

#[test]
fn lookups_route_around_silent_far_and_fake_servers() {
    for adversaries in [
        AdversaryConfig {
            silent: 0.2,
            ..AdversaryConfig::default()
        },
        AdversaryConfig {
            far: 0.2,
            ..AdversaryConfig::default()
        },
        AdversaryConfig {
            fake: 0.2,
            ..AdversaryConfig::default()
        },
        AdversaryConfig {
            slow: 0.2,
            ..AdversaryConfig::default()
        },
    ] {
        let mut attacked = scenario(13);
        attacked.adversaries = adversaries.clone();
        let result = run(&attacked, |_, _| {});
        let summary = &result.summary;
        for (kind, figures) in &summary.operations {
            assert!(
                figures.success_rate >= 0.95,
                "{adversaries:?}: {kind}: {figures:?}"
            );
        }
        let lookups = of_kind(&result.records, "find_node");
        let found: f64 = lookups
            .iter()
            .filter_map(|r| r.closest_fraction)
            .sum::<f64>()
            / lookups.len() as f64;
        assert!(found >= 0.95, "{adversaries:?}: closest found {found}");
    }
}

#[test]
fn adversaries_are_drawn_among_servers_only_and_in_their_share() {
    let sim = Simulation::new(SimConfig {
        seed: 8,
        nodes: 2000,
        network: NetworkConfig {
            unreachable_share: 0.5,
            ..NetworkConfig::default()
        },
        kad: Config::default(),
        churn: ChurnConfig::default(),
        adversaries: AdversaryConfig {
            silent: 0.1,
            ..AdversaryConfig::default()
        },
    });
    let servers: Vec<usize> = (0..2000)
        .filter(|&i| sim.links().placement(i).is_reachable)
        .collect();
    let silent = |i: &usize| sim.nodes()[*i].behaviour == Behaviour::Silent;
    let silent_servers = servers.iter().filter(|i| silent(i)).count();
    let silent_total = (0..2000).filter(silent).count();
    assert_eq!(silent_servers, silent_total);
    let share = silent_servers as f64 / servers.len() as f64;
    assert!((share - 0.1).abs() < 0.03, "{share}");
}
