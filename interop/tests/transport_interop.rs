//! The `hyphae-interop` binary follows the transport-interop contract: a listener and a
//! dialer meet through a real Redis server, and the dialer reports its timings in the format
//! each harness parses.

use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// A redis-server on a free loopback port, stopped when dropped.
struct RedisServer {
    _child: Child,
    addr: String,
}

impl RedisServer {
    async fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "no"])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is not installed: apt-get install redis-server (.ci/run does)");
        RedisServer {
            _child: child,
            addr: format!("127.0.0.1:{port}"),
        }
    }
}

fn interop(envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hyphae-interop"));
    command.envs(envs.iter().copied()).kill_on_drop(true);
    command
}

/// Runs a listener and a dialer with `common` settings and returns the dialer's stdout.
async fn run_pair(common: &[(&str, &str)], dialer_flag: &str) -> String {
    let mut listener_env = common.to_vec();
    listener_env.push((dialer_flag, "false"));
    let mut listener = interop(&listener_env)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut dialer_env = common.to_vec();
    dialer_env.push((dialer_flag, "true"));
    let dialer = tokio::time::timeout(Duration::from_secs(60), interop(&dialer_env).output())
        .await
        .expect("the dialer finishes in time")
        .unwrap();
    let _ = listener.kill().await;
    assert!(
        dialer.status.success(),
        "dialer failed: {}",
        String::from_utf8_lossy(&dialer.stderr)
    );
    String::from_utf8(dialer.stdout).unwrap()
}

fn number_after(text: &str, key: &str) -> f64 {
    let rest = &text[text
        .find(key)
        .unwrap_or_else(|| panic!("{key} in {text:?}"))
        + key.len()..];
    let number: String = rest
        .trim_start_matches([':', '"', ' '])
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    number
        .parse()
        .unwrap_or_else(|_| panic!("a number after {key} in {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_plans_contract_prints_the_json_the_runner_parses() {
    let redis = RedisServer::start().await;
    let stdout = run_pair(
        &[
            ("transport", "tcp"),
            ("security", "noise"),
            ("muxer", "yamux"),
            ("ip", "127.0.0.1"),
            ("redis_addr", &redis.addr),
            ("test_timeout_seconds", "60"),
        ],
        "is_dialer",
    )
    .await;
    let line = stdout.trim();
    assert!(
        line.starts_with('{') && line.ends_with('}') && !line.contains('\n'),
        "{stdout:?}"
    );
    let handshake = number_after(line, "\"handshakePlusOneRTTMillis\"");
    let ping = number_after(line, "\"pingRTTMilllis\"");
    assert!(ping > 0.0 && handshake >= ping, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unified_testing_contract_prints_yaml_under_a_namespaced_key() {
    let redis = RedisServer::start().await;
    let stdout = run_pair(
        &[
            ("TRANSPORT", "tcp"),
            ("SECURE_CHANNEL", "noise"),
            ("MUXER", "yamux"),
            ("LISTENER_IP", "127.0.0.1"),
            ("REDIS_ADDR", &redis.addr),
            ("TEST_KEY", "a1b2c3d4"),
        ],
        "IS_DIALER",
    )
    .await;
    assert!(stdout.starts_with("latency:\n"), "{stdout:?}");
    assert!(stdout.contains("\n  unit: ms"), "{stdout:?}");
    let handshake = number_after(&stdout, "handshake_plus_one_rtt");
    let ping = number_after(&stdout, "ping_rtt");
    assert!(ping > 0.0 && handshake >= ping, "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_combinations_fail_with_a_clear_message() {
    // Refused before Redis is contacted: no server needed.
    let cases: [&[(&str, &str)]; 3] = [
        &[("transport", "webtransport")],
        &[("transport", "tcp"), ("security", "plaintext")],
        &[
            ("transport", "tcp"),
            ("security", "noise"),
            ("muxer", "spdy"),
        ],
    ];
    for case in cases {
        let mut env = case.to_vec();
        env.push(("is_dialer", "true"));
        let output = interop(&env).output().await.unwrap();
        assert!(!output.status.success(), "{case:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let named = case.last().map(|(_, value)| *value).unwrap_or_default();
        assert!(
            stderr.contains("unsupported") && stderr.contains(named),
            "{case:?}: {stderr}"
        );
    }
}
