//! hyphae against js-libp2p under the transport-interop contract: `hyphae-interop` and
//! `js/interop.mjs` meet through a real Redis server, each as listener and as dialer, and the
//! dialer's report is checked in the format each harness parses. Every dialer also checks the
//! listener's identify and a 1 MiB echo (`src/checks.rs`) before it exits successfully.

use std::process::Stdio;
use std::time::Duration;

use hyphae_interop::redis::RedisServer;
use tokio::process::Command;

/// How long any dialer may take, start to finish.
const DIALER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy)]
enum Peer {
    Hyphae,
    Js,
}

fn command(peer: Peer, envs: &[(&str, &str)]) -> Command {
    let mut command = match peer {
        Peer::Hyphae => Command::new(env!("CARGO_BIN_EXE_hyphae-interop")),
        Peer::Js => {
            let mut command = Command::new("node");
            command.arg(hyphae_interop::js_dir().join("interop.mjs"));
            command
        }
    };
    command.envs(envs.iter().copied()).kill_on_drop(true);
    command
}

/// Runs `listener` and `dialer` with `common` settings and returns the dialer's stdout.
async fn run_pair(
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
        .unwrap_or_else(|error| panic!("cannot start the {listener:?} listener: {error}"));
    let mut dialer_env = common.to_vec();
    dialer_env.push((dialer_flag, "true"));
    let output = tokio::time::timeout(DIALER_TIMEOUT, command(dialer, &dialer_env).output())
        .await
        .unwrap_or_else(|_| {
            panic!("the {dialer:?} dialer did not finish within {DIALER_TIMEOUT:?}")
        })
        .unwrap_or_else(|error| panic!("cannot run the {dialer:?} dialer: {error}"));
    let listener_exited = listener_child.try_wait().unwrap();
    let _ = listener_child.kill().await;
    assert!(
        output.status.success(),
        "the {dialer:?} dialer failed ({}; {listener:?} listener exited early: {listener_exited:?}):\n{}",
        output.status,
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

/// Checks the one JSON line of a test-plans dialer.
fn assert_test_plans_json(stdout: &str) {
    let line = stdout.trim();
    assert!(
        line.starts_with('{') && line.ends_with('}') && !line.contains('\n'),
        "{stdout:?}"
    );
    let handshake = number_after(line, "\"handshakePlusOneRTTMillis\"");
    // js-libp2p measures ping in whole milliseconds, which can be 0 on loopback.
    let ping = number_after(line, "\"pingRTTMilllis\"");
    assert!(handshake > 0.0 && handshake >= ping, "{line}");
}

async fn test_plans_pair(listener: Peer, dialer: Peer) {
    let redis = RedisServer::start();
    let stdout = run_pair(
        listener,
        dialer,
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
    assert_test_plans_json(&stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_dials_a_hyphae_listener_tcp_noise_yamux() {
    test_plans_pair(Peer::Hyphae, Peer::Js).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_dials_a_js_listener_tcp_noise_yamux() {
    test_plans_pair(Peer::Js, Peer::Hyphae).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unified_testing_contract_between_js_and_hyphae() {
    let redis = RedisServer::start();
    let stdout = run_pair(
        Peer::Js,
        Peer::Hyphae,
        &[
            ("TRANSPORT", "tcp"),
            ("SECURE_CHANNEL", "noise"),
            ("MUXER", "yamux"),
            ("LISTENER_IP", "127.0.0.1"),
            ("REDIS_ADDR", &redis.addr),
            ("TEST_KEY", "5e6f7a8b"),
            ("test_timeout_seconds", "60"),
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

/// WebSocket, mplex and TLS between js-libp2p and hyphae, each dialling the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_and_hyphae_speak_ws_mplex_and_tls_both_ways() {
    let combinations = [
        ("ws", "noise", "yamux"),
        ("tcp", "noise", "mplex"),
        ("ws", "tls", "mplex"),
    ];
    for (transport, security, muxer) in combinations {
        for (listener, dialer) in [(Peer::Hyphae, Peer::Js), (Peer::Js, Peer::Hyphae)] {
            let redis = RedisServer::start();
            let stdout = run_pair(
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
            assert_test_plans_json(&stdout);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_refuses_unsupported_combinations() {
    let output = command(
        Peer::Js,
        &[
            ("transport", "quic-v1"),
            ("security", "noise"),
            ("muxer", "yamux"),
            ("is_dialer", "true"),
        ],
    )
    .output()
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported combination"), "{stderr}");
    assert!(output.stdout.is_empty());
}
