//! `hyphae pubsub subscribe` prints what `hyphae pubsub publish` sends, directly and through
//! a `hyphae node --topic` relay, as a person would use them.

use std::io::{BufRead, BufReader, Lines};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

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

/// A subscriber listening on loopback, connected to `bootstrap` if given (and then waiting
/// until it is in a mesh): the process, its stdout lines and its address.
fn subscriber(
    topic: &str,
    bootstrap: Option<&str>,
) -> (KillOnDrop, Lines<BufReader<ChildStdout>>, String) {
    let wait_for_mesh = bootstrap.is_some();
    let extra: &[&str] = match bootstrap {
        Some(addr) => &["--bootstrap", addr],
        None => &[],
    };
    let mut child = KillOnDrop(
        hyphae()
            .args(["pubsub", "--listen", "/ip4/127.0.0.1/tcp/0"])
            .args(extra)
            .args(["subscribe", topic, "--show-author"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap()).lines();
    // Logs may come first.
    let addr = stderr
        .by_ref()
        .map(Result::unwrap)
        .find_map(|line| line.strip_prefix("Listening on ").map(str::to_owned))
        .unwrap();
    if wait_for_mesh {
        // A message published before the subscriber is in a mesh may pass it by.
        let meshed = stderr
            .by_ref()
            .map(Result::unwrap)
            .any(|line| line.starts_with("Mesh peers: ") && line != "Mesh peers: 0");
        assert!(meshed);
    }
    // Keep draining stderr so that logs never block the process.
    std::thread::spawn(move || stderr.for_each(drop));
    let stdout = BufReader::new(child.0.stdout.take().unwrap()).lines();
    (child, stdout, addr)
}

/// A relay node joined to `topic`: the process and its address.
fn relay(topic: &str) -> (KillOnDrop, String) {
    let mut child = KillOnDrop(
        hyphae()
            .args(["node", "--listen", "/ip4/127.0.0.1/tcp/0", "--dht", "off"])
            .args(["--topic", topic])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let _peer = lines.next().unwrap().unwrap();
    let addr = lines
        .next()
        .unwrap()
        .unwrap()
        .strip_prefix("Listening on ")
        .unwrap()
        .to_owned();
    (child, addr)
}

/// Publishes `message` to `topic` through `bootstrap`; returns the publisher's peer id.
fn publish(topic: &str, message: &str, bootstrap: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("publisher.key");
    let id = hyphae()
        .args(["id", "--key", key.to_str().unwrap()])
        .output()
        .unwrap();
    let peer = String::from_utf8(id.stdout)
        .unwrap()
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("PeerId: "))
        .unwrap()
        .to_owned();
    let output = hyphae()
        .args(["pubsub", "--bootstrap", bootstrap])
        .args(["--key", key.to_str().unwrap()])
        .args(["publish", topic, message, "--timeout", "30"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "publish failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    peer
}

/// The next stdout line, within 30 s.
fn next_line(lines: Lines<BufReader<ChildStdout>>) -> (String, Lines<BufReader<ChildStdout>>) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = lines;
        let line = lines.next();
        let _ = tx.send((line, lines));
    });
    let (line, lines) = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("a line within 30 s");
    (line.unwrap().unwrap(), lines)
}

#[test]
fn a_published_message_is_printed_by_the_subscriber_as_one_line() {
    let (_subscriber, lines, addr) = subscriber("greetings", None);
    let author = publish("greetings", "hello\nworld", &addr);
    let (line, _) = next_line(lines);
    assert_eq!(line, format!("{author} hello\\nworld"));
}

#[test]
fn messages_cross_a_relay_node_that_joined_the_topic() {
    let (_relay, relay_addr) = relay("news");
    let (_subscriber, lines, _) = subscriber("news", Some(&relay_addr));
    let author = publish("news", "through the relay", &relay_addr);
    let (line, _) = next_line(lines);
    assert_eq!(line, format!("{author} through the relay"));
}

#[test]
fn publishing_without_subscribers_gives_up_with_an_error() {
    let (_relay, relay_addr) = relay("elsewhere");
    let output = hyphae()
        .args(["pubsub", "--bootstrap", &relay_addr])
        .args(["publish", "nobody-listens", "hi", "--timeout", "2"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no peer subscribed"), "{stderr}");
}
