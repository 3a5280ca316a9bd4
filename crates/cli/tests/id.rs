//! `hyphae id` as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

fn hyphae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyphae"))
        .args(args)
        .output()
        .expect("run hyphae")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "hyphae failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn peer_id_line(output: &str) -> &str {
    output
        .lines()
        .next()
        .unwrap()
        .strip_prefix("PeerId: ")
        .unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn ephemeral_key_prints_peer_id_and_public_key() {
    let out = stdout(&hyphae(&["id"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("PeerId: 12D3KooW"), "{out}");
    assert!(lines[1].starts_with("PublicKey: 08011220"), "{out}");
}

#[test]
fn creates_then_loads_the_same_identity_for_every_type() {
    let dir = tempfile::tempdir().unwrap();
    for key_type in ["ed25519", "secp256k1", "ecdsa", "rsa"] {
        let path = dir.path().join(format!("{key_type}.key"));
        let path = path.to_str().unwrap();
        let created = hyphae(&["id", "--key", path, "--type", key_type]);
        assert!(String::from_utf8_lossy(&created.stderr).contains("Created"));
        let created = stdout(&created);
        let loaded = stdout(&hyphae(&["id", "--key", path]));
        assert_eq!(created, loaded, "{key_type}");
    }
}

#[test]
fn spec_vector_key_files_give_the_spec_peer_ids() {
    // Private keys from libp2p/specs peer-ids/peer-ids.md; peer ids derived from the spec's
    // public keys (see crates/identity/tests/vectors.rs).
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../identity/tests/vectors");
    let expected = [
        (
            "ed25519",
            "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
        ),
        (
            "secp256k1",
            "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY",
        ),
        ("ecdsa", "QmVMT29id3TUASyfZZ6k9hmNyc2nYabCo4uMSpDw4zrgDk"),
        ("rsa", "QmaeANgBs1DTSxWSrPPtobgQuxW8XTfsS4ydbK4rCHzqxG"),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (key_type, peer_id) in expected {
        let text =
            std::fs::read_to_string(vectors.join(format!("{key_type}_private.hex"))).unwrap();
        let path = dir.path().join(key_type);
        std::fs::write(&path, hex(text.trim())).unwrap();
        let out = stdout(&hyphae(&["id", "--key", path.to_str().unwrap()]));
        assert_eq!(peer_id_line(&out), peer_id, "{key_type}");
    }
}

#[test]
fn bad_files_fail_with_a_message_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.key");
    std::fs::write(&garbage, b"this is not a key").unwrap();
    let truncated = dir.path().join("truncated.key");
    std::fs::write(&truncated, [0x08, 0x01, 0x12, 0x40, 1, 2, 3]).unwrap();
    for path in [&garbage, &truncated] {
        let output = hyphae(&["id", "--key", path.to_str().unwrap()]);
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
        assert!(stderr.contains("malformed"), "{stderr}");
        assert_eq!(
            stderr.lines().count(),
            1,
            "one line, each cause once: {stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn type_mismatch_with_an_existing_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let path = path.to_str().unwrap();
    stdout(&hyphae(&["id", "--key", path]));
    let output = hyphae(&["id", "--key", path, "--type", "secp256k1"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(path), "{stderr}");
    assert!(
        stderr.contains("key type is ed25519, not secp256k1"),
        "{stderr}"
    );
}

#[test]
fn unknown_type_is_rejected_by_name() {
    let output = hyphae(&["id", "--type", "dsa"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("dsa"));
}
