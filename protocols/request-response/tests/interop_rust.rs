//! hyphae's CBOR request-response against rust-libp2p 0.57 (crates.io)'s
//! `request_response::cbor::Behaviour`, both ways, over TCP + Noise + Yamux: the same serde
//! types on both sides, every value checked.

use std::time::Duration;

use futures::StreamExt;
use hyphae::Node;
use hyphae_request_response::{Cbor, Config, RequestResponse};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, StreamProtocol, Swarm, noise, tcp, yamux};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

const PROTOCOL: &str = "/hyphae-test/lookup/1.0.0";
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Query {
    key: String,
    count: u32,
    flags: Vec<bool>,
    padding: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Answer {
    Found {
        key: String,
        values: Vec<u64>,
        note: Option<String>,
    },
    NotFound(String),
}

/// What both implementations answer to `query`.
fn answer(query: &Query) -> Answer {
    if query.key.starts_with("missing") {
        return Answer::NotFound(query.key.clone());
    }
    Answer::Found {
        key: query.key.to_uppercase(),
        values: (0..u64::from(query.count)).map(|i| i * i).collect(),
        note: (!query.flags.is_empty()).then(|| format!("{} flags", query.flags.len())),
    }
}

/// Queries covering small messages, empty fields and ones spanning many Yamux frames.
fn queries() -> Vec<Query> {
    vec![
        Query {
            key: "hello".into(),
            count: 3,
            flags: vec![true, false],
            padding: Vec::new(),
        },
        Query {
            key: "missing-key".into(),
            count: 0,
            flags: Vec::new(),
            padding: Vec::new(),
        },
        Query {
            key: "große-antwort".into(),
            count: 60_000,
            flags: vec![true; 100],
            padding: vec![0x5a; 500_000],
        },
    ]
}

type RustBehaviour = request_response::cbor::Behaviour<Query, Answer>;
type Service = RequestResponse<Cbor<Query, Answer>>;

fn rust_swarm() -> Swarm<RustBehaviour> {
    libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| {
            RustBehaviour::new(
                [(StreamProtocol::new(PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default(),
            )
        })
        .unwrap()
        .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

fn service() -> Service {
    Service::new(PROTOCOL, Cbor::new(), Config::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_requests_and_rust_libp2p_responds() {
    let mut swarm = rust_swarm();
    let rust_peer = *swarm.local_peer_id();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let (addr_tx, mut addr_rx) = mpsc::unbounded_channel();
    let (served_tx, mut served_rx) = mpsc::unbounded_channel();
    // The rust-libp2p peer answers every request and reports what it received.
    tokio::spawn(async move {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => {
                    let _ = addr_tx.send(address);
                }
                SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                }) => {
                    let response = answer(&request);
                    swarm
                        .behaviour_mut()
                        .send_response(channel, response)
                        .unwrap();
                    let _ = served_tx.send(request);
                }
                _ => {}
            }
        }
    });
    let addr = addr_rx.recv().await.unwrap();
    let addr: hyphae::Multiaddr = format!("{addr}/p2p/{rust_peer}").parse().unwrap();

    let node = Node::builder().service(service()).start().await.unwrap();
    let peer = node.dial(&addr).await.unwrap();
    assert_eq!(peer.to_string(), rust_peer.to_string());
    let requester = node.service::<Service>().unwrap();
    for query in queries() {
        let response = tokio::time::timeout(TIMEOUT, requester.send_request(peer, query.clone()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(response, answer(&query));
        assert_eq!(served_rx.recv().await.unwrap(), query);
    }
    // Concurrent requests on one connection.
    let concurrent = (0..20u32).map(|i| {
        let query = Query {
            key: format!("key-{i}"),
            count: i,
            flags: vec![i % 2 == 0],
            padding: Vec::new(),
        };
        let requester = requester.clone();
        async move { (requester.send_request(peer, query.clone()).await, query) }
    });
    for (response, query) in futures::future::join_all(concurrent).await {
        assert_eq!(response.unwrap(), answer(&query));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_requests_and_hyphae_responds() {
    let node = Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .service(service())
        .start()
        .await
        .unwrap();
    let responder = node.service::<Service>().unwrap();
    let (served_tx, mut served_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(inbound) = responder.next_request().await {
            let response = answer(&inbound.request);
            let _ = served_tx.send((inbound.peer, inbound.protocol, inbound.request));
            inbound.responder.respond(response).await.unwrap();
        }
    });
    let addr: Multiaddr = node.listen_addrs()[0].to_string().parse().unwrap();

    let mut swarm = rust_swarm();
    let rust_peer = *swarm.local_peer_id();
    swarm.dial(addr).unwrap();
    let to_send = queries();
    // The rust-libp2p peer sends every query at once once connected, and returns the
    // responses by query.
    let expected = to_send.len();
    let rust_side = tokio::spawn(async move {
        let mut sent = Vec::new();
        let mut responses = Vec::new();
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::ConnectionEstablished { peer_id, .. } if sent.is_empty() => {
                    for query in &to_send {
                        let id = swarm.behaviour_mut().send_request(&peer_id, query.clone());
                        sent.push((id, query.clone()));
                    }
                }
                SwarmEvent::Behaviour(request_response::Event::Message {
                    peer,
                    message:
                        request_response::Message::Response {
                            request_id,
                            response,
                        },
                    ..
                }) => {
                    let (_, query) = sent.iter().find(|(id, _)| *id == request_id).unwrap();
                    responses.push((peer, query.clone(), response));
                    if responses.len() == expected {
                        return responses;
                    }
                }
                SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                    error, ..
                }) => panic!("rust-libp2p request failed: {error}"),
                _ => {}
            }
        }
    });
    let responses = tokio::time::timeout(TIMEOUT, rust_side)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(responses.len(), expected);
    for (peer, query, response) in responses {
        assert_eq!(peer.to_string(), node.peer_id().to_string());
        assert_eq!(response, answer(&query));
    }
    let mut served = Vec::new();
    for _ in 0..expected {
        let (peer, protocol, query) = served_rx.recv().await.unwrap();
        assert_eq!(peer.to_string(), rust_peer.to_string());
        assert_eq!(protocol, PROTOCOL);
        served.push(query);
    }
    for query in queries() {
        assert!(served.contains(&query), "hyphae never saw {query:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_learns_that_rust_libp2p_does_not_support_the_protocol() {
    let mut swarm = rust_swarm();
    let rust_peer = *swarm.local_peer_id();
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let (addr_tx, mut addr_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                let _ = addr_tx.send(address);
            }
        }
    });
    let addr = addr_rx.recv().await.unwrap();
    let addr: hyphae::Multiaddr = format!("{addr}/p2p/{rust_peer}").parse().unwrap();
    let other = RequestResponse::<Cbor<Query, Answer>>::new(
        "/hyphae-test/other/1.0.0",
        Cbor::new(),
        Config::default(),
    );
    let node = Node::builder().service(other).start().await.unwrap();
    let peer = node.dial(&addr).await.unwrap();
    let requester = node.service::<Service>().unwrap();
    // A small request is out before the refusal comes back; a large one is cut short by
    // the peer's reset, and the refusal read afterwards still says why.
    for padding in [0, 900 * 1024] {
        let query = Query {
            key: "anyone?".into(),
            count: 1,
            flags: Vec::new(),
            padding: vec![7; padding],
        };
        let error = tokio::time::timeout(TIMEOUT, requester.send_request(peer, query))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&error, hyphae_request_response::Error::UnsupportedProtocols { protocols, .. } if protocols == &["/hyphae-test/other/1.0.0"]),
            "{error:?}"
        );
    }
}
