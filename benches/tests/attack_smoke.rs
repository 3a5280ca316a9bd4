//! The attack suite runs against the hyphae node: two short attacks, after which the node
//! is alive and the honest peer was served during each. A broken attack or probe fails here
//! rather than in a long run. No figure is asserted beyond that.
//!
//! The `hyphae` binary belongs to another package, so it is taken from `HYPHAE_BIN` or built
//! here with `cargo build -p hyphae-cli` (the path cargo reports honours `CARGO_TARGET_DIR`
//! and the profile), as the interop tests do.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn hyphae_survives_short_attacks_and_serves_the_honest_peer() {
    let json = std::env::temp_dir().join(format!("attack-smoke-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_attack"))
        .args([
            "--stack",
            "hyphae",
            "--seconds",
            "2",
            "--recovery-seconds",
            "5",
        ])
        .args([
            "--attack",
            "yamux-oversized-syn",
            "--attack",
            "unread-pings",
        ])
        .arg("--hyphae-bin")
        .arg(hyphae_bin())
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "attack failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    std::fs::remove_file(&json).unwrap();
    let results = results.as_array().unwrap();
    assert_eq!(results.len(), 2, "{results:?}");
    for result in results {
        assert_eq!(result["survived"], true, "{result}");
        assert!(
            result["honest_successes"].as_u64().unwrap() >= 1,
            "{result}"
        );
        // The attack reached the node: connections secured and something sent.
        assert!(result["sent"]["secured"].as_u64().unwrap() >= 1, "{result}");
        assert!(result["sent"]["units"].as_u64().unwrap() >= 1, "{result}");
    }
}

/// `HYPHAE_BIN`, or the `hyphae` binary of this workspace built now.
fn hyphae_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("HYPHAE_BIN") {
        return PathBuf::from(path);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--quiet", "--package=hyphae-cli", "--bin=hyphae"])
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "cargo build -p hyphae-cli failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact")
        .filter(|message| message["target"]["name"] == "hyphae")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .expect("cargo reported the hyphae executable")
}
