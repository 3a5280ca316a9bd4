//! The `gossip` benchmark completes at tiny sizes, every relayed message arrives, and every
//! memory measurement reached its peers and meshes: a broken side fails here rather than in
//! the middle of a long run. No timing is asserted.

use std::process::Command;

use serde_json::Value;

#[test]
fn gossip_bench_runs_with_full_delivery() {
    let json = std::env::temp_dir().join(format!("gossip-smoke-{}.json", std::process::id()));
    // The node under test logs its connections and its warnings (rust-libp2p's gossipsub
    // handler giving up on a peer's streams, say) to stderr, which a failure prints: the
    // per-topic part once missed one peer's subscriptions under CI's load, unexplained.
    let output = Command::new(env!("CARGO_BIN_EXE_gossip"))
        .env("RUST_LOG", "warn,libp2p_swarm=debug")
        .arg("--quick")
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "gossip --quick failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).unwrap();
    let results = results.as_object().unwrap();

    let relays: Vec<&Value> = results
        .iter()
        .filter(|(name, _)| name.starts_with("relay_"))
        .map(|(_, value)| value)
        .collect();
    assert_eq!(relays.len(), 2, "{results:?}");
    for relay in relays {
        let messages = relay["messages"].as_u64().unwrap();
        for stack in ["hyphae", "rust_libp2p"] {
            for run in relay[stack].as_array().unwrap() {
                assert_eq!(run["delivered"].as_u64(), Some(messages), "{stack}: {run}");
                assert_eq!(
                    run["relay_delivered"].as_u64(),
                    Some(messages),
                    "{stack}: {run}"
                );
            }
        }
    }

    for (name, expected_peers) in [("memory_10_peers", 10), ("memory_20_topics", 4)] {
        let memory = &results[name];
        for stack in ["hyphae", "rust_libp2p"] {
            for run in memory[stack].as_array().unwrap() {
                assert_eq!(
                    run["subscribed_peers"].as_u64(),
                    Some(expected_peers),
                    "{name}, {stack}: {run}"
                );
            }
        }
    }
}
