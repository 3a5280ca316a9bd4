//! Requests and responses between two hyphae nodes over `/memory`: each codec, concurrency,
//! protocol versions and refusals, the responder's side, and shutdown.

mod common;

use common::{Bytes, PROTOCOL, answer_with, bytes, pair};
use futures::future::join_all;
use hyphae::Node;
use hyphae_request_response::{
    Cbor, Config, Error, Json, LengthPrefixed, Message, RequestResponse,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Lookup {
    key: String,
    limit: u32,
    tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Found {
    Value {
        key: String,
        value: Vec<u8>,
        score: f64,
    },
    Missing(String),
}

fn lookup(key: &str) -> Lookup {
    Lookup {
        key: key.to_owned(),
        limit: 7,
        tags: vec!["a".into(), "ü".into()],
    }
}

fn find(request: Lookup) -> Found {
    if request.key == "absent" {
        Found::Missing(request.key)
    } else {
        Found::Value {
            value: request.key.as_bytes().to_vec(),
            key: request.key,
            score: f64::from(request.limit) / 2.0,
        }
    }
}

#[tokio::test]
async fn length_prefixed_bytes_round_trip() {
    let pair = pair(bytes(Config::default()), bytes(Config::default())).await;
    answer_with(pair.server::<Bytes>(), |mut request| {
        request.reverse();
        request
    });
    let client = pair.client::<Bytes>();
    for request in [Vec::new(), b"hello".to_vec(), vec![0xab; 300_000]] {
        let mut expected = request.clone();
        expected.reverse();
        let response = client.send_request(pair.server_id, request).await.unwrap();
        assert_eq!(response, expected);
    }
}

#[tokio::test]
async fn length_prefixed_bytes_round_trip_as_bytes_bytes() {
    type Shared = RequestResponse<LengthPrefixed<bytes::Bytes>>;
    let service = || Shared::new(PROTOCOL, LengthPrefixed::new(), Config::default());
    let pair = pair(service(), service()).await;
    answer_with(pair.server::<Shared>(), |request| request.slice(1..));
    let response = pair
        .client::<Shared>()
        .send_request(pair.server_id, bytes::Bytes::from_static(b"xyz"))
        .await
        .unwrap();
    assert_eq!(response, bytes::Bytes::from_static(b"yz"));
}

#[tokio::test]
async fn json_round_trip() {
    type Service = RequestResponse<Json<Lookup, Found>>;
    let service = || Service::new("/test/json/1", Json::new(), Config::default());
    let pair = pair(service(), service()).await;
    answer_with(pair.server::<Service>(), find);
    let client = pair.client::<Service>();
    for key in ["present", "absent"] {
        let response = client
            .send_request(pair.server_id, lookup(key))
            .await
            .unwrap();
        assert_eq!(response, find(lookup(key)));
    }
}

#[tokio::test]
async fn cbor_round_trip() {
    type Service = RequestResponse<Cbor<Lookup, Found>>;
    let service = || Service::new("/test/cbor/1", Cbor::new(), Config::default());
    let pair = pair(service(), service()).await;
    answer_with(pair.server::<Service>(), find);
    let client = pair.client::<Service>();
    for key in ["present", "absent"] {
        let response = client
            .send_request(pair.server_id, lookup(key))
            .await
            .unwrap();
        assert_eq!(response, find(lookup(key)));
    }
}

#[tokio::test]
async fn concurrent_requests_each_get_their_own_response() {
    let pair = pair(bytes(Config::default()), bytes(Config::default())).await;
    answer_with(pair.server::<Bytes>(), |request| {
        request.iter().map(|byte| byte.wrapping_mul(3)).collect()
    });
    let client = pair.client::<Bytes>();
    let requests = (0..64u8).map(|i| {
        let client = client.clone();
        let request = vec![i; usize::from(i) * 1000 + 1];
        async move {
            let response = client.send_request(pair.server_id, request.clone()).await;
            (request, response)
        }
    });
    for (request, response) in join_all(requests).await {
        let expected: Vec<u8> = request.iter().map(|byte| byte.wrapping_mul(3)).collect();
        assert_eq!(response.unwrap(), expected);
    }
}

#[tokio::test]
async fn clones_of_the_handle_share_the_inbound_queue() {
    let pair = pair(bytes(Config::default()), bytes(Config::default())).await;
    let server = pair.server::<Bytes>();
    for _ in 0..3 {
        answer_with(server.clone(), |request| request);
    }
    let client = pair.client::<Bytes>();
    let responses = join_all((0..30u8).map(|i| client.send_request(pair.server_id, vec![i]))).await;
    for (i, response) in responses.into_iter().enumerate() {
        assert_eq!(response.unwrap(), vec![i as u8]);
    }
}

#[tokio::test]
async fn the_requester_proposes_versions_in_order_and_the_responder_sees_which() {
    let server = Bytes::new(
        ["/test/v/1", "/test/v/0"],
        LengthPrefixed::new(),
        Config::default(),
    );
    let client = Bytes::new(
        ["/test/v/2", "/test/v/1"],
        LengthPrefixed::new(),
        Config::default(),
    );
    let pair = pair(server, client).await;
    let server = pair.server::<Bytes>();
    let request = tokio::spawn({
        let client = pair.client::<Bytes>();
        async move { client.send_request(pair.server_id, b"v?".to_vec()).await }
    });
    let inbound = server.next_request().await.unwrap();
    assert_eq!(inbound.protocol, "/test/v/1");
    assert_eq!(inbound.peer, pair.client.peer_id());
    inbound
        .responder
        .respond(inbound.protocol.into_bytes())
        .await
        .unwrap();
    assert_eq!(request.await.unwrap().unwrap(), b"/test/v/1");
}

#[tokio::test]
async fn a_peer_without_the_protocol_is_unsupported_with_one_protocol() {
    let other = Bytes::new("/test/other/1", LengthPrefixed::new(), Config::default());
    let pair = pair(other, bytes(Config::default())).await;
    let error = pair
        .client::<Bytes>()
        .send_request(pair.server_id, b"anyone?".to_vec())
        .await
        .unwrap_err();
    match error {
        Error::UnsupportedProtocols { peer, protocols } => {
            assert_eq!(peer, pair.server_id);
            assert_eq!(protocols, [PROTOCOL]);
        }
        other => panic!("expected UnsupportedProtocols, got {other:?}"),
    }
}

#[tokio::test]
async fn a_peer_without_the_protocol_is_unsupported_with_several_protocols() {
    let other = Bytes::new("/test/other/1", LengthPrefixed::new(), Config::default());
    let client = Bytes::new(
        ["/test/v/2", "/test/v/1"],
        LengthPrefixed::new(),
        Config::default(),
    );
    let pair = pair(other, client).await;
    let error = pair
        .client::<Bytes>()
        .send_request(pair.server_id, b"anyone?".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::UnsupportedProtocols { protocols, .. } if protocols == &["/test/v/2", "/test/v/1"]),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unsupported_protocol_is_recognised_even_for_a_large_request() {
    // A request larger than the muxer's window cannot be written before the peer's
    // refusal and reset arrive.
    let other = Bytes::new("/test/other/1", LengthPrefixed::new(), Config::default());
    let pair = pair(other, bytes(Config::default())).await;
    let error = pair
        .client::<Bytes>()
        .send_request(pair.server_id, vec![1; 1 << 20])
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::UnsupportedProtocols { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn dropping_the_responder_resets_the_stream() {
    let pair = pair(bytes(Config::default()), bytes(Config::default())).await;
    let server = pair.server::<Bytes>();
    tokio::spawn(async move {
        while let Some(inbound) = server.next_request().await {
            drop(inbound.responder);
        }
    });
    let error = pair
        .client::<Bytes>()
        .send_request(pair.server_id, b"ignored".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::StreamClosed {
                message: Message::Response,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_responder_learns_that_its_response_was_sent() {
    let pair = pair(bytes(Config::default()), bytes(Config::default())).await;
    let server = pair.server::<Bytes>();
    let request = tokio::spawn({
        let client = pair.client::<Bytes>();
        async move { client.send_request(pair.server_id, b"q".to_vec()).await }
    });
    let inbound = server.next_request().await.unwrap();
    assert!(!inbound.responder.is_closed());
    inbound.responder.respond(b"a".to_vec()).await.unwrap();
    assert_eq!(request.await.unwrap().unwrap(), b"a");
}

#[tokio::test]
async fn requests_to_an_unknown_peer_fail_to_open() {
    let node = Node::builder()
        .service(bytes(Config::default()))
        .start()
        .await
        .unwrap();
    let stranger = hyphae::Keypair::generate_ed25519().peer_id();
    let error = node
        .service::<Bytes>()
        .unwrap()
        .send_request(stranger, b"hello?".to_vec())
        .await
        .unwrap_err();
    match &error {
        Error::Open { peer, .. } => assert_eq!(*peer, stranger),
        other => panic!("expected Open, got {other:?}"),
    }
    // The cause is the source, not repeated in the message.
    let source = std::error::Error::source(&error).unwrap().to_string();
    assert!(!error.to_string().contains(&source), "{error}");
}

#[tokio::test]
async fn after_shutdown_requests_fail_and_the_inbound_queue_ends() {
    let pair = pair(bytes(Config::default()), bytes(Config::default())).await;
    let client = pair.client::<Bytes>();
    pair.client.shutdown().await;
    assert!(matches!(
        client.send_request(pair.server_id, b"late".to_vec()).await,
        Err(Error::Shutdown)
    ));
    assert!(client.next_request().await.is_none());
}

#[tokio::test]
async fn a_send_only_service_accepts_no_requests() {
    let send_only = Config {
        accepts_inbound: false,
        ..Config::default()
    };
    let pair = pair(bytes(send_only), bytes(Config::default())).await;
    assert!(!pair.server.protocols().iter().any(|p| p == PROTOCOL));
    assert!(pair.server::<Bytes>().next_request().await.is_none());
    let error = pair
        .client::<Bytes>()
        .send_request(pair.server_id, b"hello".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::UnsupportedProtocols { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_unsupported_protocol_is_recognised_over_quic_and_mplex() {
    // Muxers where writing to a refused stream fails: the refusal read afterwards still
    // says why.
    for (listen, muxers) in [
        ("/ip4/127.0.0.1/udp/0/quic-v1", None),
        ("/memory/0", Some(hyphae::Multiplexer::Mplex)),
    ] {
        let mut builder = Node::builder()
            .listen(listen.parse().unwrap())
            .service(Bytes::new(
                "/test/other/1",
                LengthPrefixed::new(),
                Config::default(),
            ));
        if let Some(muxer) = muxers {
            builder = builder.muxers([muxer]);
        }
        let server = builder.start().await.unwrap();
        let client = Node::builder()
            .service(bytes(Config::default()))
            .start()
            .await
            .unwrap();
        let peer = client.dial(&server.listen_addrs()[0]).await.unwrap();
        let error = client
            .service::<Bytes>()
            .unwrap()
            .send_request(peer, vec![1; 1 << 20])
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::UnsupportedProtocols { .. }),
            "{listen}: {error:?}"
        );
    }
}
