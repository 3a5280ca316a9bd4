//! `/dnsaddr` resolution against a fake DNS server.

mod common;

use std::time::Duration;

use common::{Answer, FakeServer, txt, zone};
use hyphae_dns::{Error, MAX_DEPTH, MAX_LOOKUPS, MAX_RESULTS, Resolver, resolve_dnsaddr};
use hyphae_multiaddr::Multiaddr;

const PEER_A: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
const PEER_B: &str = "QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb";

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

fn addrs(texts: &[String]) -> Vec<Multiaddr> {
    texts.iter().map(|text| addr(text)).collect()
}

/// Per-attempt timeout: a hang guard, long because the tests count queries exactly and a
/// loaded machine answering late (on the real clock) would otherwise cause retries.
const PATIENT: Duration = Duration::from_secs(30);

async fn resolve(server: &FakeServer, text: &str) -> Result<Vec<Multiaddr>, Error> {
    let resolver = Resolver::with_nameservers(vec![server.addr]).with_timeout(PATIENT);
    resolve_dnsaddr(&resolver, &addr(text)).await
}

#[tokio::test]
async fn resolves_entries_and_skips_other_records() {
    let records = [
        format!("dnsaddr=/ip4/1.2.3.4/tcp/4001/p2p/{PEER_A}"),
        "v=spf1 -all".to_owned(),
        "dnsaddr=/not/a/multiaddr".to_owned(),
        format!("dnsaddr=/dns4/a.example/tcp/443/wss/p2p/{PEER_A}"),
    ];
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let server = FakeServer::start(zone([("_dnsaddr.example.com", txt(&records))])).await;
    assert_eq!(
        resolve(&server, "/dnsaddr/example.com").await.unwrap(),
        addrs(&[
            format!("/ip4/1.2.3.4/tcp/4001/p2p/{PEER_A}"),
            format!("/dns4/a.example/tcp/443/wss/p2p/{PEER_A}"),
        ])
    );
}

#[tokio::test]
async fn keeps_only_entries_of_the_requested_peer() {
    let records = [
        format!("dnsaddr=/ip4/1.1.1.1/tcp/1/p2p/{PEER_A}"),
        format!("dnsaddr=/ip4/2.2.2.2/tcp/2/p2p/{PEER_B}"),
        "dnsaddr=/ip4/3.3.3.3/tcp/3".to_owned(),
    ];
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let server = FakeServer::start(zone([("_dnsaddr.example.com", txt(&records))])).await;
    assert_eq!(
        resolve(&server, &format!("/dnsaddr/example.com/p2p/{PEER_B}"))
            .await
            .unwrap(),
        addrs(&[format!("/ip4/2.2.2.2/tcp/2/p2p/{PEER_B}")])
    );
    assert_eq!(
        resolve(&server, "/dnsaddr/example.com")
            .await
            .unwrap()
            .len(),
        3
    );
}

#[tokio::test]
async fn resolves_a_nested_chain() {
    let root = [
        format!("dnsaddr=/dnsaddr/one.example/p2p/{PEER_A}"),
        format!("dnsaddr=/dnsaddr/two.example/p2p/{PEER_B}"),
    ];
    let one = [format!("dnsaddr=/dnsaddr/deeper.example/p2p/{PEER_A}")];
    let deeper = [
        format!("dnsaddr=/ip4/1.1.1.1/tcp/1/p2p/{PEER_A}"),
        format!("dnsaddr=/ip6/::1/udp/1/quic-v1/p2p/{PEER_A}"),
        // Another peer under A's name: filtered out.
        format!("dnsaddr=/ip4/9.9.9.9/tcp/9/p2p/{PEER_B}"),
    ];
    let two = [format!("dnsaddr=/ip4/2.2.2.2/tcp/2/p2p/{PEER_B}")];
    let as_strs = |records: &[String]| -> Answer {
        let records: Vec<&str> = records.iter().map(String::as_str).collect();
        txt(&records)
    };
    let server = FakeServer::start(zone([
        ("_dnsaddr.bootstrap.example", as_strs(&root)),
        ("_dnsaddr.one.example", as_strs(&one)),
        ("_dnsaddr.deeper.example", as_strs(&deeper)),
        ("_dnsaddr.two.example", as_strs(&two)),
    ]))
    .await;
    assert_eq!(
        resolve(&server, "/dnsaddr/bootstrap.example")
            .await
            .unwrap(),
        addrs(&[
            format!("/ip4/1.1.1.1/tcp/1/p2p/{PEER_A}"),
            format!("/ip6/::1/udp/1/quic-v1/p2p/{PEER_A}"),
            format!("/ip4/2.2.2.2/tcp/2/p2p/{PEER_B}"),
        ])
    );
    assert_eq!(
        resolve(&server, &format!("/dnsaddr/bootstrap.example/p2p/{PEER_B}"))
            .await
            .unwrap(),
        addrs(&[format!("/ip4/2.2.2.2/tcp/2/p2p/{PEER_B}")])
    );
}

#[tokio::test]
async fn follows_exactly_max_depth_levels() {
    // level1 -> level2 -> ... -> levelN, the last holding an IP address.
    let chain = |levels: usize| {
        let mut entries = Vec::new();
        for level in 1..levels {
            let name: &'static str = format!("_dnsaddr.level{level}.example").leak();
            entries.push((
                name,
                txt(&[&format!("dnsaddr=/dnsaddr/level{}.example", level + 1)]),
            ));
        }
        let last: &'static str = format!("_dnsaddr.level{levels}.example").leak();
        entries.push((last, txt(&["dnsaddr=/ip4/1.2.3.4/tcp/1"])));
        zone(entries)
    };
    let server = FakeServer::start(chain(MAX_DEPTH)).await;
    assert_eq!(
        resolve(&server, "/dnsaddr/level1.example").await.unwrap(),
        vec![addr("/ip4/1.2.3.4/tcp/1")]
    );
    let server = FakeServer::start(chain(MAX_DEPTH + 1)).await;
    assert!(matches!(
        resolve(&server, "/dnsaddr/level1.example").await,
        Err(Error::RecursionLimit)
    ));
    assert_eq!(server.udp_queries(), MAX_DEPTH);
}

#[tokio::test]
async fn self_reference_stops_at_the_recursion_limit() {
    let server = FakeServer::start(zone([(
        "_dnsaddr.loop.example",
        txt(&["dnsaddr=/dnsaddr/loop.example"]),
    )]))
    .await;
    assert!(matches!(
        resolve(&server, "/dnsaddr/loop.example").await,
        Err(Error::RecursionLimit)
    ));
    assert_eq!(server.udp_queries(), MAX_DEPTH);
}

#[tokio::test]
async fn self_reference_beside_a_real_entry_yields_it_once() {
    let server = FakeServer::start(zone([(
        "_dnsaddr.loop.example",
        txt(&[
            "dnsaddr=/dnsaddr/loop.example",
            "dnsaddr=/ip4/1.2.3.4/tcp/1",
        ]),
    )]))
    .await;
    assert_eq!(
        resolve(&server, "/dnsaddr/loop.example").await.unwrap(),
        vec![addr("/ip4/1.2.3.4/tcp/1")]
    );
}

#[tokio::test]
async fn fan_out_is_bounded_by_the_lookup_limit() {
    // 40 nested names, none of which exists.
    let records: Vec<String> = (0..40)
        .map(|i| format!("dnsaddr=/dnsaddr/n{i}.example"))
        .collect();
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let server = FakeServer::start(zone([("_dnsaddr.wide.example", txt(&records))])).await;
    assert!(matches!(
        resolve(&server, "/dnsaddr/wide.example").await,
        Err(Error::RecursionLimit)
    ));
    assert_eq!(server.udp_queries(), MAX_LOOKUPS);
}

#[tokio::test]
async fn results_are_capped() {
    let records: Vec<String> = (0..40)
        .map(|i| format!("dnsaddr=/ip4/10.0.0.{i}/tcp/1"))
        .collect();
    let records: Vec<&str> = records.iter().map(String::as_str).collect();
    let server = FakeServer::start(zone([("_dnsaddr.many.example", txt(&records))])).await;
    let resolved = resolve(&server, "/dnsaddr/many.example").await.unwrap();
    assert_eq!(resolved.len(), MAX_RESULTS);
    assert_eq!(resolved[0], addr("/ip4/10.0.0.0/tcp/1"));
}

#[tokio::test]
async fn missing_domain_is_empty() {
    let server = FakeServer::start(zone([])).await;
    assert_eq!(
        resolve(&server, "/dnsaddr/missing.example").await.unwrap(),
        Vec::new()
    );
}

#[tokio::test]
async fn server_failure_is_returned_when_nothing_resolved() {
    let server = FakeServer::start(zone([("_dnsaddr.broken.example", Answer::ServFail)])).await;
    assert!(matches!(
        resolve(&server, "/dnsaddr/broken.example").await,
        Err(Error::ServerFailure { rcode: 2 })
    ));
}

#[tokio::test]
async fn rejects_addresses_that_are_not_dnsaddr() {
    let server = FakeServer::start(zone([])).await;
    assert!(matches!(
        resolve(&server, "/dns4/example.com/tcp/1").await,
        Err(Error::NotDnsaddr { .. })
    ));
    assert_eq!(server.udp_queries(), 0);
}
