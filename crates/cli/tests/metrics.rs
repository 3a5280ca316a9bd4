//! `hyphae node --metrics`: Prometheus can scrape what the node counted (here, a peer that
//! connected and pinged), and anything but `GET /metrics` is turned away.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn hyphae() -> Command {
    Command::new(env!("CARGO_BIN_EXE_hyphae"))
}

/// Sends `request` to `addr` and returns the whole response.
fn http(addr: &str, request: &str) -> String {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_metrics_endpoint_shows_a_peer_that_connected_and_pinged() {
    let mut node = KillOnDrop(
        hyphae()
            .args(["node", "--listen", "/ip4/127.0.0.1/tcp/0", "--dht", "off"])
            .args(["--metrics", "127.0.0.1:0", "--memory-budget", "512"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(node.0.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    let _peer = next();
    let listen = next().strip_prefix("Listening on ").unwrap().to_owned();
    let metrics = next()
        .strip_prefix("Metrics on http://")
        .and_then(|rest| rest.strip_suffix("/metrics"))
        .unwrap()
        .to_owned();

    let ping = hyphae()
        .args(["ping", &listen, "--count", "2", "--interval-ms", "10"])
        .output()
        .unwrap();
    assert!(
        ping.status.success(),
        "{}",
        String::from_utf8_lossy(&ping.stderr)
    );

    let response = http(&metrics, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    for line in [
        "hyphae_connections_established_total{direction=\"inbound\"} 1",
        "hyphae_streams_opened_total{protocol=\"/ipfs/ping/1.0.0\",direction=\"inbound\"}",
        "hyphae_handshake_duration_seconds_count{direction=\"inbound\"} 1",
        "hyphae_resource_memory_bytes{scope=\"system\"}",
        "hyphae_resource_connections{scope=\"transient\"} 0",
        "hyphae_resource_memory_limit_bytes{scope=\"system\"} 536870912",
    ] {
        assert!(response.contains(line), "{line} missing from\n{response}");
    }
    let elsewhere = http(&metrics, "GET / HTTP/1.1\r\n\r\n");
    assert!(elsewhere.starts_with("HTTP/1.1 404 "), "{elsewhere}");
    let posted = http(&metrics, "POST /metrics HTTP/1.1\r\n\r\n");
    assert!(posted.starts_with("HTTP/1.1 405 "), "{posted}");
}
