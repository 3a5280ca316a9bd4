//! The test-plans gossipsub-interop node contract (`hyphae-gossipsub-interop`): 30 nodes on
//! loopback, run by `interop/gossipsub-interop.py`, deliver every message to every node, as
//! their NDJSON logs show; and a node's peer id is the one the contract derives from its
//! node id (checked against rust-libp2p's key derivation).

use std::path::Path;
use std::process::Command;

#[test]
fn thirty_contract_nodes_deliver_every_message() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("gossipsub-interop.py");
    let out = tempfile::tempdir().unwrap();
    let output = Command::new("python3")
        .arg(script)
        .args(["--bin", env!("CARGO_BIN_EXE_hyphae-gossipsub-interop")])
        .args(["--nodes", "30", "--messages", "20", "--size", "2048"])
        .args(["--out", out.path().to_str().unwrap()])
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{summary}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(summary.contains("delivered 580/580 (100.0 %)"), "{summary}");
}

#[test]
fn node_ids_give_the_contracts_peer_ids() {
    let out = tempfile::tempdir().unwrap();
    let params = out.path().join("params.json");
    // A script with nothing to do: the node logs its peer id and exits.
    std::fs::write(&params, r#"{"script": []}"#).unwrap();
    for node_id in [0i32, 1, 7, 1000] {
        // A base that puts the node on a port that is free now.
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = i32::from(free.local_addr().unwrap().port());
        drop(free);
        let base = (port - node_id).to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_hyphae-gossipsub-interop"))
            .args(["--params", params.to_str().unwrap()])
            .args(["--node-id", &node_id.to_string(), "--port-base", &base])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let first = String::from_utf8(output.stdout).unwrap();
        let event: serde_json::Value = serde_json::from_str(first.lines().next().unwrap()).unwrap();
        assert_eq!(event["msg"], "PeerID");
        assert_eq!(event["node_id"], node_id);
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&node_id.to_le_bytes());
        let expected = libp2p_identity::Keypair::ed25519_from_bytes(seed)
            .unwrap()
            .public()
            .to_peer_id();
        assert_eq!(event["id"], expected.to_string());
    }
}
