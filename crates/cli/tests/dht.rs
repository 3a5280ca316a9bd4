//! `hyphae node --dht server` processes form a DHT; `hyphae dht` joins it for one operation
//! at a time, as a person would use it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a DHT server node; returns it, its peer id and its TCP address with `/p2p`.
fn server(bootstrap: Option<&str>) -> (KillOnDrop, String, String) {
    server_with(bootstrap, &[])
}

/// [`server`] with more arguments.
fn server_with(bootstrap: Option<&str>, extra: &[&str]) -> (KillOnDrop, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hyphae"));
    command.args([
        "node",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--dht",
        "server",
    ]);
    command.args(["--validator", "accept-all"]);
    command.args(extra);
    if let Some(bootstrap) = bootstrap {
        command.args(["--bootstrap", bootstrap]);
    }
    let mut child = KillOnDrop(
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let peer = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("PeerId: ")
        .unwrap()
        .to_owned();
    let addr = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("Listening on ")
        .unwrap()
        .to_owned();
    (child, peer, addr)
}

fn dht(bootstrap: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyphae"))
        .args([
            "dht",
            "--bootstrap",
            bootstrap,
            "--validator",
            "accept-all",
            "--timeout",
            "30",
        ])
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn dht_commands_store_find_and_read_through_running_nodes() {
    let (_first, first_id, entry) = server(None);
    let (_second, second_id, second_addr) = server(Some(&entry));
    let (_third, _, _) = server(Some(&entry));

    let put = stdout_of(&dht(&entry, &["put", "/example/greeting", "hello"]));
    assert!(put.starts_with("stored at "), "{put}");
    let get = stdout_of(&dht(&second_addr, &["get", "/example/greeting"]));
    assert_eq!(get.trim(), "hello");

    let provide = stdout_of(&dht(&entry, &["provide", "some-key"]));
    assert!(provide.starts_with("provided to "), "{provide}");
    let providers = stdout_of(&dht(&second_addr, &["find-providers", "some-key"]));
    assert_eq!(providers.lines().count(), 1, "{providers}");

    let found = stdout_of(&dht(&entry, &["find-peer", &second_id]));
    let tcp_addr = second_addr.rsplit_once("/p2p/").unwrap().0;
    assert!(found.lines().any(|line| line == tcp_addr), "{found}");

    let closest = stdout_of(&dht(&second_addr, &["closest", "anything"]));
    assert!(closest.lines().any(|line| line == first_id), "{closest}");

    let hex = stdout_of(&dht(
        &entry,
        &["--hex", "get", &hex_of("/example/greeting")],
    ));
    assert_eq!(hex.trim(), hex_of("hello"));

    let missing = dht(&entry, &["get", "/example/nothing"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
}

fn hex_of(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

#[test]
fn a_node_with_a_dht_store_keeps_records_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("dht.redb");
    let store = store.to_str().unwrap();
    let (mut node, _, addr) = server_with(None, &["--dht-store", store]);
    let put = stdout_of(&dht(&addr, &["put", "/example/kept", "still here"]));
    assert!(put.starts_with("stored at 1 "), "{put}");

    // Ctrl-C: the node shuts down and closes its store.
    let interrupted = Command::new("kill")
        .args(["-INT", &node.0.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    assert!(node.0.wait().unwrap().success());

    let (_node, _, addr) = server_with(None, &["--dht-store", store]);
    let get = stdout_of(&dht(&addr, &["get", "/example/kept"]));
    assert_eq!(get.trim(), "still here");
}
