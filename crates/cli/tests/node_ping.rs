//! `hyphae node` in one process and `hyphae ping` to it from another, as a person would.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ping_reaches_a_running_node() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("node.key");
    let mut node = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_hyphae"))
            .args(["node", "--listen", "/ip4/127.0.0.1/tcp/0", "--listen"])
            .args(["/ip4/127.0.0.1/udp/0/quic-v1", "--key"])
            .arg(&key)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(node.0.stdout.take().unwrap()).lines();
    let peer_line = lines.next().unwrap().unwrap();
    let peer_id = peer_line
        .strip_prefix("PeerId: ")
        .expect("PeerId line")
        .to_owned();
    let listen_lines: Vec<String> = (0..2).map(|_| lines.next().unwrap().unwrap()).collect();
    let addrs: Vec<&str> = listen_lines
        .iter()
        .map(|line| line.strip_prefix("Listening on ").expect("Listening line"))
        .collect();
    for addr in &addrs {
        assert!(addr.ends_with(&format!("/p2p/{peer_id}")), "{addr}");
    }
    assert!(
        addrs[0].contains("/tcp/") && addrs[1].contains("/quic-v1/"),
        "{addrs:?}"
    );

    // The key file made the identity stable.
    let id = Command::new(env!("CARGO_BIN_EXE_hyphae"))
        .args(["id", "--key"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&id.stdout).contains(&peer_id));

    // Ping over each transport the node listens on.
    for addr in addrs {
        let ping = Command::new(env!("CARGO_BIN_EXE_hyphae"))
            .args(["ping", addr, "--count", "3", "--interval-ms", "10"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&ping.stdout);
        assert!(
            ping.status.success(),
            "{addr}: {}",
            String::from_utf8_lossy(&ping.stderr)
        );
        let pongs: Vec<&str> = stdout
            .lines()
            .filter(|line| line.contains("time="))
            .collect();
        assert_eq!(pongs.len(), 3, "{stdout}");
        assert!(
            pongs[0].contains(&peer_id) && pongs[0].ends_with(" ms"),
            "{stdout}"
        );
    }
}

#[test]
fn ping_fails_clearly_when_nobody_listens() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(env!("CARGO_BIN_EXE_hyphae"))
        .args([
            "ping",
            &format!("/ip4/127.0.0.1/tcp/{port}"),
            "--count",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("dialling") && stderr.contains(&port.to_string()),
        "{stderr}"
    );
}
