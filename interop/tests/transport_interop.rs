//! The `hyphae-interop` binary follows the transport-interop contract: a listener and a
//! dialer meet through a real Redis server, and the dialer reports its timings in the format
//! each harness parses. Against `rust-libp2p-interop` too, each as dialer and as listener;
//! every dialer also checks the listener's identify and a 1 MiB echo (`src/checks.rs`).

use std::process::Stdio;
use std::time::Duration;

use hyphae_interop::redis::RedisServer;
use tokio::process::Command;

#[derive(Debug, Clone, Copy)]
enum Peer {
    Hyphae,
    RustLibp2p,
}

fn command(peer: Peer, envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(match peer {
        Peer::Hyphae => env!("CARGO_BIN_EXE_hyphae-interop"),
        Peer::RustLibp2p => env!("CARGO_BIN_EXE_rust-libp2p-interop"),
    });
    command.envs(envs.iter().copied()).kill_on_drop(true);
    command
}

fn interop(envs: &[(&str, &str)]) -> Command {
    command(Peer::Hyphae, envs)
}

/// Runs a hyphae listener and a hyphae dialer with `common` settings and returns the
/// dialer's stdout.
async fn run_pair(common: &[(&str, &str)], dialer_flag: &str) -> String {
    run_cell(Peer::Hyphae, Peer::Hyphae, common, dialer_flag).await
}

/// Runs `listener` and `dialer` with `common` settings and returns the dialer's stdout.
async fn run_cell(
    listener: Peer,
    dialer: Peer,
    common: &[(&str, &str)],
    dialer_flag: &str,
) -> String {
    let mut listener_env = common.to_vec();
    listener_env.push((dialer_flag, "false"));
    let mut listener_child = command(listener, &listener_env)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut dialer_env = common.to_vec();
    dialer_env.push((dialer_flag, "true"));
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        command(dialer, &dialer_env).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("the {dialer:?} dialer did not finish within 60 s"))
    .unwrap();
    let _ = listener_child.kill().await;
    assert!(
        output.status.success(),
        "the {dialer:?} dialer failed against the {listener:?} listener ({common:?}): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
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
    let redis = RedisServer::start();
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
    let redis = RedisServer::start();
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

/// hyphae and rust-libp2p, each dialling the other, over TCP with yamux and with mplex and
/// over QUIC: each dialer prints its timings, then passes the identify and echo checks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_and_rust_libp2p_pass_the_checks_both_ways() {
    let combinations = [
        ("tcp", "noise", "yamux"),
        ("tcp", "noise", "mplex"),
        ("quic-v1", "", ""),
    ];
    for (transport, security, muxer) in combinations {
        for (listener, dialer) in [
            (Peer::Hyphae, Peer::RustLibp2p),
            (Peer::RustLibp2p, Peer::Hyphae),
        ] {
            let redis = RedisServer::start();
            let stdout = run_cell(
                listener,
                dialer,
                &[
                    ("transport", transport),
                    ("security", security),
                    ("muxer", muxer),
                    ("ip", "127.0.0.1"),
                    ("redis_addr", &redis.addr),
                    ("test_timeout_seconds", "60"),
                ],
                "is_dialer",
            )
            .await;
            let handshake = number_after(&stdout, "\"handshakePlusOneRTTMillis\"");
            let ping = number_after(&stdout, "\"pingRTTMilllis\"");
            assert!(ping > 0.0 && handshake >= ping, "{stdout}");
        }
    }
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
