//! Gossipsub runs on 100 nodes: every valid message reaches every honest node, one seed
//! gives one trace, copies and bytes add up, IDONTWANT saves copies, and attackers that
//! publish invalid messages leave the honest meshes.

use hyphae_sim::gossip::{GossipRun, GossipScenario, is_gossip_scenario, run};
use hyphae_sim::plot::write_gossip;

/// gossip-delivery (Ethereum's tuning, 128 KiB messages) shrunk to 100 nodes and a few
/// messages.
fn honest(seed: u64) -> GossipScenario {
    let mut scenario: GossipScenario = toml::from_str(
        r#"
        protocol = "gossipsub"
        name = "test"
        nodes = 100
        [topology]
        dials_per_node = 10
        [router]
        mesh_n = 8
        mesh_n_low = 6
        mesh_n_high = 12
        gossip_lazy = 6
        heartbeat_ms = 700
        idontwant_threshold = 1024
        [messages]
        count = 6
        size = 131072
        interval_ms = 500
        warmup_heartbeats = 8
        drain_ms = 5000
        "#,
    )
    .unwrap();
    scenario.seed = seed;
    scenario
}

fn under_attack(seed: u64) -> GossipScenario {
    let mut scenario = honest(seed);
    scenario.messages.count = 10;
    scenario.attack.share = 0.2;
    scenario.attack.invalid_per_attacker = 1;
    scenario.scoring.enabled = true;
    scenario
}

fn run_it(scenario: &GossipScenario) -> GossipRun {
    run(scenario, |_, _| {}).unwrap()
}

#[test]
fn every_valid_message_reaches_every_honest_node() {
    let result = run_it(&honest(1));
    let summary = &result.summary;
    assert_eq!(summary.messages, 6);
    assert_eq!(summary.refused, 0);
    assert_eq!(summary.delivery_ratio, 1.0);
    assert_eq!(result.latencies_ms.len(), 6 * 99);
    let mesh = summary.mesh_size.unwrap();
    assert!(mesh.min >= 6.0 && mesh.max <= 12.0, "{mesh:?}");
    assert!(result.latencies_ms.iter().all(|ms| *ms > 0.0));
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_another() {
    let first = run_it(&honest(1));
    let again = run_it(&honest(1));
    let other = run_it(&honest(2));
    assert_eq!(first.summary.trace_hash, again.summary.trace_hash);
    assert_eq!(first.summary.totals, again.summary.totals);
    assert_eq!(first.latencies_ms, again.latencies_ms);
    assert_ne!(first.summary.trace_hash, other.summary.trace_hash);
}

#[test]
fn copies_are_first_receipts_plus_duplicates() {
    let result = run_it(&honest(3));
    let summary = &result.summary;
    let totals = summary.totals;
    // Every copy at an honest node is its first receipt or a duplicate; a publisher's
    // echoes are duplicates.
    assert_eq!(
        totals.payload_copies - totals.duplicate_copies,
        result.latencies_ms.len() as u64
    );
    assert!(totals.duplicate_bytes < totals.payload_bytes);
    let per_message = totals.duplicate_copies as f64 / (6.0 * 100.0);
    assert!((summary.duplicates_per_message - per_message).abs() < 1e-12);
    // Each copy carries the 128 KiB and a little framing.
    let per_copy = totals.payload_bytes / totals.payload_copies;
    assert!((131_072..131_072 + 200).contains(&per_copy), "{per_copy}");
    assert_eq!(totals.invalid_copies, 0);
}

#[test]
fn idontwant_saves_duplicate_copies() {
    let with = run_it(&honest(4));
    let mut scenario = honest(4);
    scenario.router.idontwant_threshold = usize::MAX;
    let without = run_it(&scenario);
    assert!(with.summary.totals.idontwant_ids > 0);
    assert_eq!(without.summary.totals.idontwant_ids, 0);
    assert!(
        with.summary.totals.duplicate_copies < without.summary.totals.duplicate_copies,
        "with IDONTWANT {} duplicates, without {}",
        with.summary.totals.duplicate_copies,
        without.summary.totals.duplicate_copies
    );
}

#[test]
fn attackers_leave_honest_meshes_and_honest_delivery_holds() {
    let result = run_it(&under_attack(5));
    let summary = &result.summary;
    let attack = summary.attack.as_ref().unwrap();
    assert!(summary.attackers > 0);
    assert_eq!(attack.invalid_published, summary.attackers);
    assert!(attack.mesh_links_at_start > 0, "{attack:?}");
    assert_eq!(attack.attackers_published, summary.attackers);
    assert_eq!(attack.attackers_pruned, summary.attackers, "{attack:?}");
    // One rejected message makes an attacker's score negative at each honest neighbour,
    // which prunes it at its next heartbeat: within a few heartbeats of the message.
    let heartbeats = attack.heartbeats_to_prune.unwrap();
    assert!(heartbeats <= 3, "{attack:?}");
    assert_eq!(
        attack.mesh_links_over_time.last().map(|(_, links)| *links),
        Some(0)
    );
    assert_eq!(summary.delivery_ratio, 1.0);
    assert!(summary.totals.invalid_copies > 0);
}

#[test]
fn a_received_idontwant_drops_copies_still_queued_for_its_sender() {
    let dropping = run_it(&honest(6));
    let mut scenario = honest(6);
    scenario.send_queue.idontwant_cancels_queued = false;
    let keeping = run_it(&scenario);
    assert!(dropping.summary.totals.cancelled_copies > 0);
    assert_eq!(keeping.summary.totals.cancelled_copies, 0);
    assert!(dropping.summary.totals.duplicate_copies < keeping.summary.totals.duplicate_copies);
    assert_eq!(dropping.summary.delivery_ratio, 1.0);
}

#[test]
fn lazy_push_saves_copies_and_still_reaches_everyone() {
    let eager = run_it(&honest(7));
    let mut scenario = honest(7);
    scenario.router.large_message_push_n = Some(1);
    let lazy = run_it(&scenario);
    assert_eq!(lazy.summary.delivery_ratio, 1.0);
    assert_eq!(lazy.latencies_ms.len(), eager.latencies_ms.len());
    let (lazy_dups, eager_dups) = (
        lazy.summary.totals.duplicate_copies,
        eager.summary.totals.duplicate_copies,
    );
    assert!(
        lazy_dups * 2 < eager_dups,
        "lazy {lazy_dups} duplicates, eager {eager_dups}"
    );
    // What lazy push saves in copies it spends in (much smaller) IHAVEs and IWANTs.
    assert!(lazy.summary.totals.control_bytes > eager.summary.totals.control_bytes);
}

#[test]
fn validation_time_delays_forwarding_but_not_idontwant() {
    let at_once = run_it(&honest(8));
    let mut scenario = honest(8);
    scenario.messages.validation_ms = 50;
    let slow = run_it(&scenario);
    assert_eq!(slow.summary.delivery_ratio, 1.0);
    // Every hop past the publisher's waits 50 ms for the verdict.
    let slowest = |run: &GossipRun| run.latencies_ms.iter().copied().fold(0.0, f64::max);
    assert!(slowest(&slow) > slowest(&at_once) + 50.0);
    // IDONTWANT leaves on receipt, so it has the validation time to arrive before the
    // peers that received the message later forward it.
    assert!(
        slow.summary.totals.duplicate_copies < at_once.summary.totals.duplicate_copies,
        "with 50 ms validation {} duplicates, at once {}",
        slow.summary.totals.duplicate_copies,
        at_once.summary.totals.duplicate_copies
    );
}

#[test]
fn the_scenario_files_are_read_as_their_protocol_says() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut gossip = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_str().unwrap();
        let is_gossip = is_gossip_scenario(&text);
        assert_eq!(is_gossip, name.starts_with("gossip-"), "{name}");
        if is_gossip {
            let scenario = GossipScenario::from_file(&path).unwrap();
            assert_eq!(scenario.messages.size, 131_072, "{name}");
            gossip += 1;
        }
    }
    assert!(gossip >= 3);
}

#[test]
fn the_gossip_figures_are_written() {
    let result = run_it(&under_attack(7));
    let dir = tempfile::tempdir().unwrap();
    let written = write_gossip(dir.path(), &result.summary, &result.latencies_ms).unwrap();
    for stem in ["delivery-cdf", "attacker-links"] {
        let svg = dir.path().join(format!("{stem}.svg"));
        assert!(written.files.contains(&svg), "{stem}");
        assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    }
}
