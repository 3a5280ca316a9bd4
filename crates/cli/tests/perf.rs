//! `hyphae perf --run-server` in one process and `hyphae perf` clients in others, driven the
//! way the libp2p/test-plans perf runner drives them.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a perf server on a free loopback port and waits until it accepts connections.
fn server() -> (KillOnDrop, String) {
    server_with(&[])
}

/// [`server`] with `hyphae`'s global options `options` before the command.
fn server_with(options: &[&str]) -> (KillOnDrop, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_hyphae"))
            .args(options)
            .args(["perf", "--run-server", "--server-address", &address])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(&address).is_err() {
        assert!(Instant::now() < deadline, "perf server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, address)
}

fn hyphae(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hyphae"))
        .args(args)
        .output()
        .unwrap()
}

/// The JSON lines of a successful client run.
fn json_lines(output: &Output) -> Vec<Value> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect()
}

fn field(line: &Value, name: &str) -> u64 {
    line[name]
        .as_u64()
        .unwrap_or_else(|| panic!("{name} in {line}"))
}

#[test]
fn client_prints_the_test_plans_json_lines() {
    let (mut server, address) = server();
    let upload = (24 << 20) + 1;
    let download = (40 << 20) + 3;
    let output = hyphae(&[
        "perf",
        "--server-address",
        &address,
        "--transport",
        "tcp",
        "--upload-bytes",
        &upload.to_string(),
        "--download-bytes",
        &download.to_string(),
    ]);
    let lines = json_lines(&output);
    let (last, intermediary) = lines.split_last().expect("a final line");
    assert_eq!(last["type"], "final", "{last}");
    assert_eq!(field(last, "uploadBytes"), upload);
    assert_eq!(field(last, "downloadBytes"), download);
    let total = last["timeSeconds"].as_f64().unwrap();
    assert!(total > 0.0);
    let (mut up, mut down, mut time) = (0, 0, 0.0);
    for line in intermediary {
        assert_eq!(line["type"], "intermediary", "{line}");
        let seconds = line["timeSeconds"].as_f64().unwrap();
        assert!(seconds >= 1.0, "{line}");
        up += field(line, "uploadBytes");
        down += field(line, "downloadBytes");
        time += seconds;
    }
    assert!(up <= upload && down <= download && time <= total);

    // The server kept stdout for the contract, which gives it nothing to say.
    server.0.kill().unwrap();
    let mut server_stdout = String::new();
    server
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut server_stdout)
        .unwrap();
    assert_eq!(server_stdout, "");
}

#[test]
fn client_accepts_a_multiaddr_and_serves_one_run_after_another() {
    let (_server, address) = server();
    let (ip, port) = address.split_once(':').unwrap();
    let multiaddr = format!("/ip4/{ip}/tcp/{port}");
    for (upload, download) in [(0u64, 0u64), (1000, 0), (0, 1000)] {
        let output = hyphae(&[
            "perf",
            &multiaddr,
            "--upload-bytes",
            &upload.to_string(),
            "--download-bytes",
            &download.to_string(),
        ]);
        let lines = json_lines(&output);
        let last = lines.last().unwrap();
        assert_eq!(last["type"], "final");
        assert_eq!(
            (field(last, "uploadBytes"), field(last, "downloadBytes")),
            (upload, download)
        );
    }
}

/// Every combination of the test-plans matrix against one server started as the runner
/// starts it. Sizes stay under hyphae-mplex's 1 MiB per-stream buffer: past it, mplex (no
/// flow control) resets a stream whose reader lags, a known gap of hyphae-mplex.
#[test]
fn client_runs_every_combination_against_one_default_server() {
    let (_server, address) = server();
    let combinations: [&[&str]; 5] = [
        &[
            "--transport",
            "tcp",
            "--security",
            "noise",
            "--muxer",
            "yamux",
        ],
        &[
            "--transport",
            "tcp",
            "--security",
            "noise",
            "--muxer",
            "mplex",
        ],
        &[
            "--transport",
            "tcp",
            "--security",
            "tls",
            "--muxer",
            "yamux",
        ],
        &[
            "--transport",
            "tcp",
            "--security",
            "tls",
            "--muxer",
            "mplex",
        ],
        &["--transport", "quic-v1"],
    ];
    for combination in combinations {
        let mut args = vec![
            "perf",
            "--server-address",
            &address,
            "--upload-bytes",
            "900000",
            "--download-bytes",
            "1000000",
        ];
        args.extend_from_slice(combination);
        let lines = json_lines(&hyphae(&args));
        let last = lines.last().unwrap();
        assert_eq!(last["type"], "final", "{combination:?}");
        assert_eq!(
            (field(last, "uploadBytes"), field(last, "downloadBytes")),
            (900_000, 1_000_000),
            "{combination:?}"
        );
    }
}

#[test]
fn unsupported_combinations_fail_clearly() {
    let output = hyphae(&[
        "perf",
        "--server-address",
        "127.0.0.1:9",
        "--transport",
        "quic-v1",
        "--security",
        "noise",
        "--download-bytes",
        "1",
    ]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("quic-v1 is always secured by tls"),
        "{stderr}"
    );
}

#[test]
fn client_fails_clearly_when_nobody_listens() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = hyphae(&[
        "perf",
        "--server-address",
        &format!("127.0.0.1:{port}"),
        "--download-bytes",
        "1",
    ]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("dialling /ip4/127.0.0.1/tcp/"), "{stderr}");
}

/// The threads of process `pid` named as tokio names its workers.
#[cfg(target_os = "linux")]
fn runtime_workers(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .filter(|task| {
            let comm = std::fs::read_to_string(task.as_ref().unwrap().path().join("comm"));
            comm.is_ok_and(|name| name.trim() == "tokio-rt-worker")
        })
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn worker_threads_sets_the_runtime_size() {
    for threads in [1, 3] {
        let (server, address) = server_with(&["--worker-threads", &threads.to_string()]);
        assert_eq!(runtime_workers(server.0.id()), threads);
        // It still serves.
        let output = hyphae(&[
            "perf",
            "--worker-threads",
            "1",
            "--server-address",
            &address,
            "--upload-bytes",
            "1024",
            "--download-bytes",
            "1024",
        ]);
        let last = json_lines(&output).pop().unwrap();
        assert_eq!(field(&last, "downloadBytes"), 1024);
    }
}
