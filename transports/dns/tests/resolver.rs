//! TXT lookups against fake DNS servers.

mod common;

use std::time::Duration;

use common::{Answer, FakeServer, txt, zone};
use hyphae_dns::{Error, Resolver};

// These tests run on real sockets and the real clock (paused tokio time needs tokio's
// `test-util`, which this crate's dev-dependencies do not enable). So a timeout that a test
// needs to fire is short, and a timeout that must not fire before a server on loopback
// answers is long: a loaded machine can take a long while to schedule that answer.

/// Per-attempt timeout for servers that never answer: every query to them times out, however
/// slow the machine.
const SILENCE: Duration = Duration::from_millis(200);
/// Per-attempt timeout when the test needs an answering server's first answer: a hang guard.
const PATIENT: Duration = Duration::from_secs(30);
/// Per-attempt timeout when silent servers come first and an answering one last: the answer
/// has two attempts (a late answer to the first also answers the retry), so 2 s in all, while
/// each silent server costs the test 2 s.
const SILENCE_THEN_ANSWER: Duration = Duration::from_secs(1);

fn strings(records: &[&str]) -> Vec<String> {
    records.iter().map(|record| (*record).to_owned()).collect()
}

#[tokio::test]
async fn returns_plain_txt_answer() {
    let server = FakeServer::start(zone([("example.com", txt(&["hello", "world"]))])).await;
    let resolver = Resolver::with_nameservers(vec![server.addr]);
    assert_eq!(
        resolver.txt("example.com").await.unwrap(),
        strings(&["hello", "world"])
    );
    assert_eq!(
        resolver.txt("EXAMPLE.com.").await.unwrap(),
        strings(&["hello", "world"])
    );
    assert_eq!(server.tcp_queries(), 0);
}

#[tokio::test]
async fn joins_strings_of_one_record_and_skips_cname() {
    let answer = Answer::CnameThenTxt(vec![
        vec!["dnsaddr=/ip4/".to_owned(), "1.2.3.4/tcp/1".to_owned()],
        vec!["single".to_owned()],
    ]);
    let server = FakeServer::start(zone([("example.com", answer)])).await;
    let resolver = Resolver::with_nameservers(vec![server.addr]);
    assert_eq!(
        resolver.txt("example.com").await.unwrap(),
        strings(&["dnsaddr=/ip4/1.2.3.4/tcp/1", "single"])
    );
}

#[tokio::test]
async fn nxdomain_is_an_empty_answer() {
    let server = FakeServer::start(zone([])).await;
    let resolver = Resolver::with_nameservers(vec![server.addr]);
    assert_eq!(
        resolver.txt("missing.example").await.unwrap(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn servfail_is_a_server_failure() {
    let server = FakeServer::start(zone([("broken.example", Answer::ServFail)])).await;
    let resolver = Resolver::with_nameservers(vec![server.addr]);
    assert!(matches!(
        resolver.txt("broken.example").await,
        Err(Error::ServerFailure { rcode: 2 })
    ));
}

#[tokio::test]
async fn servfail_moves_on_to_the_next_server() {
    let broken = FakeServer::start(zone([("a.example", Answer::ServFail)])).await;
    let good = FakeServer::start(zone([("a.example", txt(&["ok"]))])).await;
    let resolver = Resolver::with_nameservers(vec![broken.addr, good.addr]);
    assert_eq!(resolver.txt("a.example").await.unwrap(), strings(&["ok"]));
}

#[tokio::test]
async fn truncated_udp_answer_is_fetched_over_tcp() {
    // Six records of 200 bytes: far more than fits a 512-byte datagram.
    let long: Vec<Vec<String>> = (0..6).map(|i| vec![format!("{i}").repeat(200)]).collect();
    let expected: Vec<String> = long.iter().map(|strings| strings.concat()).collect();
    let server = FakeServer::start(zone([("big.example", Answer::Truncated(long))])).await;
    // Patient: the query counts below leave no room for a retry on a slow machine.
    let resolver = Resolver::with_nameservers(vec![server.addr]).with_timeout(PATIENT);
    assert_eq!(resolver.txt("big.example").await.unwrap(), expected);
    assert_eq!(server.udp_queries(), 1);
    assert_eq!(server.tcp_queries(), 1);
}

#[tokio::test]
async fn ignores_datagrams_with_another_id() {
    let server = FakeServer::start(zone([(
        "a.example",
        Answer::WrongIdFirst(vec![vec!["real".to_owned()]]),
    )]))
    .await;
    // Patient: a retry would mean the real answer was dropped along with the wrong one.
    let resolver = Resolver::with_nameservers(vec![server.addr]).with_timeout(PATIENT);
    assert_eq!(resolver.txt("a.example").await.unwrap(), strings(&["real"]));
    assert_eq!(server.udp_queries(), 1);
}

#[tokio::test]
async fn silent_server_is_retried_once_then_the_next_server_answers() {
    let silent = FakeServer::silent().await;
    let good = FakeServer::start(zone([("a.example", txt(&["ok"]))])).await;
    let resolver =
        Resolver::with_nameservers(vec![silent.addr, good.addr]).with_timeout(SILENCE_THEN_ANSWER);
    assert_eq!(resolver.txt("a.example").await.unwrap(), strings(&["ok"]));
    assert_eq!(silent.udp_queries(), 2, "one query and one retry");
    // One query, or two if the machine was too slow to see its answer within the first
    // attempt's timeout: that is the retry behaving as it should, not a failure.
    assert!(
        (1..=2).contains(&good.udp_queries()),
        "{} queries to the answering server",
        good.udp_queries()
    );
}

#[tokio::test]
async fn all_servers_silent_is_a_timeout() {
    let first = FakeServer::silent().await;
    let second = FakeServer::silent().await;
    let resolver = Resolver::with_nameservers(vec![first.addr, second.addr]).with_timeout(SILENCE);
    match resolver.txt("a.example").await {
        Err(Error::Timeout { server }) => assert_eq!(server, second.addr),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(first.udp_queries(), 2);
    assert_eq!(second.udp_queries(), 2);
}

#[tokio::test]
async fn no_nameservers_is_an_error() {
    let resolver = Resolver::with_nameservers(Vec::new());
    assert!(matches!(
        resolver.txt("a.example").await,
        Err(Error::NoNameservers)
    ));
}

#[tokio::test]
async fn invalid_names_are_rejected_before_sending() {
    let server = FakeServer::start(zone([])).await;
    let resolver = Resolver::with_nameservers(vec![server.addr]);
    for name in ["", "a..b", &"x".repeat(64)] {
        assert!(
            matches!(resolver.txt(name).await, Err(Error::InvalidName { .. })),
            "{name}"
        );
    }
    assert_eq!(server.udp_queries(), 0);
}

#[test]
fn from_system_always_has_a_nameserver() {
    assert!(!Resolver::from_system().nameservers().is_empty());
}
