//! The emulator end to end: real namespaces, TUN devices and traffic from the `linkem`
//! helper modes. These tests need root, `/dev/net/tun` and iproute2; without them they fail
//! with a message saying so (they never pass vacuously).
//!
//! They run on the real clock next to whatever else loads the machine, so they only assert
//! what a slow machine cannot break: a delay is at least what was configured, a rate limit is
//! never exceeded, bytes and packets are all accounted for. How long the emulator takes beyond
//! that (exact delivery instants, serialisation at the rate) is checked with injected time in
//! `src/shaper.rs`; the measured figures are printed for a human to read.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use hyphae_linkem::{Conditions, Link, LinkBuilder};
use serde_json::Value;

const LINKEM: &str = env!("CARGO_BIN_EXE_linkem");

/// Serialises the tests that measure time or saturate the CPU: on a two-core machine a
/// 10 Gbit/s transfer next to a latency check would delay the check's forwarding threads.
fn exclusive() -> std::fs::File {
    let file = std::fs::File::create(std::env::temp_dir().join("hyphae-linkem-tests.lock"))
        .expect("creating the test lock file");
    file.lock().expect("locking the test lock file");
    file
}

fn start(builder: LinkBuilder) -> Link {
    builder.start().unwrap_or_else(|error| {
        panic!(
            "linkem tests need root, /dev/net/tun and `ip netns` (iproute2); \
             setting up the link failed: {error}"
        )
    })
}

/// Starts the `linkem` binary with `args` and reads the JSON line describing its link.
fn spawn_linkem(args: &[&str]) -> (Child, Value) {
    let mut linkem = Command::new(LINKEM)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning linkem");
    let mut stdout = BufReader::new(linkem.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .expect("reading linkem's stdout");
    match serde_json::from_str(&line) {
        Ok(info) => (linkem, info),
        Err(_) => {
            let _ = linkem.kill();
            let output = linkem.wait_with_output().expect("waiting for linkem");
            panic!(
                "linkem tests need root, /dev/net/tun and `ip netns` (iproute2); \
                 linkem printed {line:?} and {}",
                String::from_utf8_lossy(&output.stderr)
            )
        }
    }
}

/// A child process killed when the test ends, so a failing test leaves nothing running.
struct Process {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Process {
    /// Runs `linkem <args>` inside namespace `ns`.
    fn spawn_in(ns: &str, args: &[&str]) -> Self {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, LINKEM])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawning ip netns exec");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Self { child, stdout }
    }

    /// The next JSON line the process prints.
    fn next_json(&mut self) -> Value {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("reading stdout");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"))
    }

    fn wait_success(&mut self) {
        let status = self.child.wait().expect("waiting for child");
        assert!(status.success(), "child failed: {status}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `linkem <args>` inside `ns` to completion and returns its last JSON line.
fn run_in(ns: &str, args: &[&str]) -> Value {
    let output = Command::new("ip")
        .args(["netns", "exec", ns, LINKEM])
        .args(args)
        .output()
        .expect("running ip netns exec");
    assert!(
        output.status.success(),
        "linkem {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().expect("a JSON line");
    serde_json::from_str(line).expect("JSON")
}

fn namespaces() -> String {
    let output = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("running ip netns list");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// How long `ping` waits for the last replies on a lossless link: a hang guard, since
/// `udp-ping` stops waiting once every reply is in.
const LOSSLESS_WAIT_MS: &str = "30000";

/// Sends `count` UDP pings from A to an echo server in B, waiting up to `wait_ms` after the
/// last one for replies.
fn ping(link: &Link, count: u32, interval_ms: &str, wait_ms: &str) -> Value {
    let mut echo = Process::spawn_in(
        link.namespace_b(),
        &[
            "udp-echo",
            "--bind",
            "0.0.0.0:7000",
            "--idle-timeout-s",
            "60",
        ],
    );
    echo.next_json(); // bound
    let to = format!("{}:7000", link.addr_b());
    run_in(
        link.namespace_a(),
        &[
            "udp-ping",
            "--to",
            &to,
            "--count",
            &count.to_string(),
            "--interval-ms",
            interval_ms,
            "--wait-ms",
            wait_ms,
        ],
    )
}

/// A TCP transfer from A to B for `seconds`; returns the sink's and the sender's reports.
fn tcp_transfer(link: &Link, seconds: &str) -> (Value, Value) {
    let mut sink = Process::spawn_in(link.namespace_b(), &["tcp-sink", "--bind", "0.0.0.0:5201"]);
    sink.next_json(); // bound
    let to = format!("{}:5201", link.addr_b());
    let sent = run_in(
        link.namespace_a(),
        &["tcp-send", "--to", &to, "--seconds", seconds],
    );
    let received = sink.next_json();
    sink.wait_success();
    (received, sent)
}

#[test]
fn udp_round_trip_takes_twice_the_one_way_delay() {
    let link = start(Link::builder().delay(Duration::from_millis(30)));
    let _lock = exclusive();
    let report = ping(&link, 20, "20", LOSSLESS_WAIT_MS);
    println!("30 ms each way: {report}");
    assert_eq!(report["received"], 20, "{report}");
    let min = report["rtt_min_ms"].as_f64().unwrap();
    assert!(min >= 60.0, "round trip {min} ms is shorter than 2 × 30 ms");
    // No upper bound: a loaded machine delays forwarding threads by any amount. That the
    // emulator adds exactly the delay is `shaper::delivers_after_the_delay_without_a_rate`.
}

#[test]
fn tcp_bulk_transfer_without_delay() {
    let link = start(Link::builder());
    let _lock = exclusive();
    let (received, sent) = tcp_transfer(&link, "2");
    println!("TCP through the link, no delay: {received}");
    assert_eq!(received["bytes"], sent["bytes"]);
    // No throughput floor: how fast a shared machine forwards is not the emulator's doing.
    assert!(sent["bytes"].as_u64().unwrap() > 0, "{sent}");
    let stats = link.stats();
    assert!(stats.a_to_b.bytes >= sent["bytes"].as_u64().unwrap());
    assert_eq!(stats.a_to_b.dropped_queue + stats.a_to_b.dropped_loss, 0);
}

#[test]
fn rate_limit_caps_tcp_throughput() {
    // 40 Mbit/s with a 10 ms round trip.
    let link = start(
        Link::builder()
            .delay(Duration::from_millis(5))
            .rate(Some(5_000_000)),
    );
    let _lock = exclusive();
    let (received, sent) = tcp_transfer(&link, "3");
    println!("TCP through 40 Mbit/s: {received} (sender: {sent})");
    assert_eq!(received["bytes"], sent["bytes"]);
    // The sender's figure: its clock runs from before its first byte until the sink has read
    // the last, so every byte it counts crossed the link in that time and a slow machine can
    // only lower it. (The sink's clock starts at its first read, late on a busy machine, with
    // bytes already waiting: its figure can exceed the rate.) No floor, as above; serialisation
    // at the rate is `shaper::serialises_packets_at_the_rate`.
    let mbit = sent["mbit_per_s"].as_f64().unwrap();
    assert!(mbit <= 41.0, "{mbit} Mbit/s through a 40 Mbit/s link");
}

#[test]
fn half_loss_drops_about_half_of_the_packets() {
    let link = start(Link::builder().loss(0.5).seed(1));
    // A reply still in flight when waiting stops counts as lost; the range below allows for
    // a few.
    let report = ping(&link, 1000, "1", "2000");
    println!("loss 0.5 each way: {report}");
    let stats = link.stats().a_to_b;
    let seen = stats.packets + stats.dropped_loss;
    assert!(seen >= 1000, "{stats:?}");
    let lost = stats.dropped_loss as f64 / seen as f64;
    assert!((0.4..=0.6).contains(&lost), "lost {lost} of A→B packets");
    // A reply needs both directions to survive: about a quarter come back.
    let received = report["received"].as_u64().unwrap();
    assert!(
        (150..=350).contains(&received),
        "{received} replies of 1000"
    );
}

#[test]
fn drop_removes_namespaces_and_interfaces() {
    let link = start(Link::builder().prefix("lkdrop"));
    let names = [link.namespace_a().to_owned(), link.namespace_b().to_owned()];
    let interface = link.interface_a().to_owned();
    let listed = namespaces();
    for name in &names {
        assert!(
            listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name))
        );
    }
    drop(link);
    let listed = namespaces();
    for name in &names {
        assert!(
            !listed
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "{name} left behind"
        );
    }
    let status = Command::new("ip")
        .args(["link", "show", "dev", &interface])
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "{interface} left behind");
}

#[test]
fn binary_prints_its_link_and_tears_down_on_sigterm() {
    let (linkem, info) = spawn_linkem(&["--delay-ms", "1", "--prefix", "lkbin"]);
    let ns_a = info["namespace_a"].as_str().unwrap().to_owned();
    let ns_b = info["namespace_b"].as_str().unwrap().to_owned();
    assert!(ns_a.starts_with("lkbin-") && ns_b.starts_with("lkbin-"));
    assert!(namespaces().contains(&ns_a));

    let status = Command::new("kill")
        .args(["-TERM", &linkem.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = linkem.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "linkem exited with {}",
        output.status
    );
    let stats: Value = serde_json::from_slice(&output.stderr).expect("final stats on stderr");
    assert!(stats["a_to_b"]["packets"].is_u64());
    let listed = namespaces();
    assert!(
        !listed.contains(&ns_a) && !listed.contains(&ns_b),
        "{listed}"
    );
}

#[test]
fn cleanup_removes_what_a_killed_binary_left() {
    let (mut linkem, info) = spawn_linkem(&["--prefix", "lkorph"]);
    let ns_a = info["namespace_a"].as_str().unwrap().to_owned();
    // SIGKILL: no chance to tear down.
    linkem.kill().unwrap();
    linkem.wait().unwrap();
    assert!(
        namespaces().contains(&ns_a),
        "expected a leftover to clean up"
    );

    let output = Command::new(LINKEM)
        .args(["cleanup", "--prefix", "lkorph"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let removed = report["removed"].as_array().unwrap();
    assert!(removed.iter().any(|name| name == ns_a.as_str()), "{report}");
    assert!(!namespaces().contains(&ns_a));
}

#[test]
fn tcp_survives_a_lossy_link() {
    // 1% loss each way: GSO bursts are split, so single segments go missing and TCP repairs them.
    let link = start(Link::builder().loss(0.01).seed(3));
    let _lock = exclusive();
    let (received, sent) = tcp_transfer(&link, "2");
    println!("TCP through 1% loss: {received}");
    assert_eq!(received["bytes"], sent["bytes"]);
    let stats = link.stats().a_to_b;
    assert!(stats.dropped_loss > 0, "{stats:?}");
    let lost = stats.dropped_loss as f64 / (stats.packets + stats.dropped_loss) as f64;
    // Per segment, not per 64 KiB burst: the observed rate matches the configured one.
    assert!((0.005..=0.02).contains(&lost), "lost {lost} of A→B packets");
}

#[test]
fn directions_can_differ() {
    let link = start(
        Link::builder()
            .delay(Duration::from_millis(10))
            .b_to_a(Conditions {
                delay: Duration::from_millis(40),
                loss: 0.0,
                rate: None,
                queue_bytes: 1 << 20,
            }),
    );
    let _lock = exclusive();
    assert_eq!(link.conditions_a_to_b().delay, Duration::from_millis(10));
    assert_eq!(link.conditions_b_to_a().delay, Duration::from_millis(40));
    let report = ping(&link, 10, "20", LOSSLESS_WAIT_MS);
    println!("10 ms there, 40 ms back: {report}");
    assert_eq!(report["received"], 10, "{report}");
    let min = report["rtt_min_ms"].as_f64().unwrap();
    assert!(
        min >= 50.0,
        "round trip {min} ms is shorter than 10 + 40 ms"
    );
    // No upper bound, as in `udp_round_trip_takes_twice_the_one_way_delay`.
}

#[test]
fn a_taken_id_is_refused_without_disturbing_its_owner() {
    let link = start(Link::builder().prefix("lkid"));
    let second = Link::builder().prefix("lkid").id(link.id()).start();
    assert!(
        matches!(second, Err(hyphae_linkem::Error::IdTaken(_, id)) if id == link.id()),
        "{second:?}"
    );
    let listed = namespaces();
    assert!(listed.contains(link.namespace_a()) && listed.contains(link.namespace_b()));
    // Still forwarding.
    let report = ping(&link, 3, "10", LOSSLESS_WAIT_MS);
    assert_eq!(report["received"], 3, "{report}");
}

/// Reads a sysctl inside namespace `ns`.
fn sysctl_in(ns: &str, key: &str) -> String {
    let output = Command::new("ip")
        .args(["netns", "exec", ns, "sysctl", "-n", key])
        .output()
        .expect("running sysctl in the namespace");
    assert!(output.status.success(), "sysctl {key} failed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The maximum (third field) of a `tcp_rmem` / `tcp_wmem` value.
fn third_field(value: &str) -> u64 {
    value
        .split_whitespace()
        .nth(2)
        .and_then(|max| max.parse().ok())
        .unwrap_or_else(|| panic!("no maximum in {value:?}"))
}

#[test]
fn tcp_buffer_maxima_are_set_inside_both_namespaces_only() {
    let host_rmem = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_rmem").expect("host tcp_rmem");
    let wide = start(Link::builder().tcp_buffer_max(Some(128 << 20)));
    let default = start(Link::builder());
    for ns in [wide.namespace_a(), wide.namespace_b()] {
        for key in ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"] {
            assert_eq!(third_field(&sysctl_in(ns, key)), 128 << 20, "{key} in {ns}");
        }
    }
    for ns in [default.namespace_a(), default.namespace_b()] {
        for key in ["net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"] {
            assert_eq!(third_field(&sysctl_in(ns, key)), 32 << 20, "{key} in {ns}");
        }
    }
    let host_after = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_rmem").expect("host tcp_rmem");
    assert_eq!(host_rmem, host_after, "the host's own buffers changed");
}
