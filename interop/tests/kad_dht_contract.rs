//! The `hyphae-kad-interop` binary follows the libp2p/unified-testing kad-dht contract: a
//! bootstrap node, a provider and a querier meet through a real Redis server, with hyphae in
//! every role, and the querier prints `status: pass`.

use std::process::Stdio;
use std::time::Duration;

use hyphae_interop::redis::RedisServer;
use tokio::process::Command;

fn role(role: &str, redis: &str, test_key: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hyphae-kad-interop"));
    command
        .envs([
            ("ROLE", role),
            ("REDIS_ADDR", redis),
            ("TEST_KEY", test_key),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_finds_what_a_provider_published_through_a_bootstrap_node() {
    let redis = RedisServer::start();
    // The harness's TEST_KEY: 8 hex digits of the test name's SHA-256.
    let test_key = "1a2b3c4d";
    let _bootstrap = role("bootstrap", &redis.addr, test_key).spawn().unwrap();
    let _provider = role("provider", &redis.addr, test_key).spawn().unwrap();
    let querier = role("querier", &redis.addr, test_key).spawn().unwrap();
    let output = tokio::time::timeout(Duration::from_secs(180), querier.wait_with_output())
        .await
        .expect("the harness's 180 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(stdout.trim(), "status: pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_querier_without_a_provider_reports_the_failure() {
    let redis = RedisServer::start();
    let test_key = "5e6f7a8b";
    let _bootstrap = role("bootstrap", &redis.addr, test_key).spawn().unwrap();
    // Nobody provides: mark the provider done so the querier looks and finds nothing.
    let mut client = hyphae_interop::redis::Redis::connect(&redis.addr, Duration::from_secs(10))
        .await
        .unwrap();
    client
        .set(&format!("{test_key}_provider_done"), "done")
        .await
        .unwrap();
    let querier = role("querier", &redis.addr, test_key).spawn().unwrap();
    let output = tokio::time::timeout(Duration::from_secs(180), querier.wait_with_output())
        .await
        .expect("the harness's 180 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("error: no providers found"), "{stdout}");
    assert!(stdout.trim_end().ends_with("status: fail"), "{stdout}");
}
