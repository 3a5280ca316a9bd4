//! The bounds of the service, each hit on purpose: message sizes on both sides, timeouts,
//! outbound requests in flight and inbound requests in progress. Timeouts run on virtual
//! time.

mod common;

use std::time::Duration;

use common::{Bytes, answer_with, bytes, pair};
use hyphae_request_response::{
    Cbor, Config, Error, InboundRequest, InflightLimit, Message, RequestResponse,
};
use tokio::time::Instant;

const KIB: usize = 1024;

fn limits(max_request_size: usize, max_response_size: usize) -> Config {
    Config {
        max_request_size,
        max_response_size,
        ..Config::default()
    }
}

fn is_stream_closed(result: &Result<Vec<u8>, Error>) -> bool {
    matches!(result, Err(Error::StreamClosed { .. }))
}

#[tokio::test]
async fn a_requester_refuses_to_send_a_request_above_its_limit() {
    let pair = pair(bytes(Config::default()), bytes(limits(KIB, KIB))).await;
    answer_with(pair.server::<Bytes>(), |request| request);
    let client = pair.client::<Bytes>();
    let error = client
        .send_request(pair.server_id, vec![0; KIB + 1])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooLarge {
                message: Message::Request,
                size: Some(1025),
                limit: KIB
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "request of 1025 bytes exceeds the limit of 1024 bytes"
    );
    // Exactly the limit passes.
    let echoed = client
        .send_request(pair.server_id, vec![0; KIB])
        .await
        .unwrap();
    assert_eq!(echoed.len(), KIB);
}

#[tokio::test]
async fn a_responder_resets_a_request_above_its_limit_and_never_sees_it() {
    let pair = pair(bytes(limits(KIB, KIB)), bytes(Config::default())).await;
    let server = pair.server::<Bytes>();
    let client = pair.client::<Bytes>();
    let result = client.send_request(pair.server_id, vec![1; 4 * KIB]).await;
    assert!(is_stream_closed(&result), "{result:?}");
    // The next request is the first the application sees.
    let small = tokio::spawn({
        let client = client.clone();
        async move { client.send_request(pair.server_id, b"small".to_vec()).await }
    });
    let inbound = server.next_request().await.unwrap();
    assert_eq!(inbound.request, b"small");
    inbound.responder.respond(b"ok".to_vec()).await.unwrap();
    assert_eq!(small.await.unwrap().unwrap(), b"ok");
}

#[tokio::test]
async fn a_responder_refuses_to_send_a_response_above_its_limit() {
    let pair = pair(bytes(limits(KIB, KIB)), bytes(Config::default())).await;
    let server = pair.server::<Bytes>();
    let request = tokio::spawn({
        let client = pair.client::<Bytes>();
        async move {
            client
                .send_request(pair.server_id, b"big one".to_vec())
                .await
        }
    });
    let inbound = server.next_request().await.unwrap();
    let error = inbound
        .responder
        .respond(vec![2; 2 * KIB])
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooLarge {
                message: Message::Response,
                size: Some(2048),
                limit: KIB
            }
        ),
        "{error:?}"
    );
    // The stream was reset: the requester does not wait for its timeout.
    let result = request.await.unwrap();
    assert!(
        matches!(
            result,
            Err(Error::StreamClosed {
                message: Message::Response,
                ..
            })
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_requester_rejects_a_length_prefixed_response_above_its_limit() {
    let pair = pair(bytes(Config::default()), bytes(limits(KIB, KIB))).await;
    answer_with(pair.server::<Bytes>(), |_| vec![3; 100 * KIB]);
    let error = pair
        .client::<Bytes>()
        .send_request(pair.server_id, b"give me a lot".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooLarge {
                message: Message::Response,
                size: Some(size),
                limit: KIB
            } if size == 100 * KIB as u64
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_requester_stops_reading_a_cbor_response_past_its_limit() {
    type Service = RequestResponse<Cbor<String, Vec<String>>>;
    let service = |config| Service::new("/test/cbor/1", Cbor::new(), config);
    let pair = pair(service(Config::default()), service(limits(KIB, KIB))).await;
    answer_with(pair.server::<Service>(), |word| vec![word; 10_000]);
    let client = pair.client::<Service>();
    let error = client
        .send_request(pair.server_id, "spam".into())
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooLarge {
                message: Message::Response,
                size: None,
                limit: KIB
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "response exceeds the limit of 1024 bytes"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_without_response_times_out() {
    let quick = Config {
        timeout: Duration::from_secs(3),
        ..Config::default()
    };
    let pair = pair(bytes(Config::default()), bytes(quick)).await;
    let server = pair.server::<Bytes>();
    let request = tokio::spawn({
        let client = pair.client::<Bytes>();
        async move {
            let start = Instant::now();
            let result = client
                .send_request(pair.server_id, b"hello?".to_vec())
                .await;
            (result, start.elapsed())
        }
    });
    // The server holds the request and never answers.
    let _held = server.next_request().await.unwrap();
    let (result, elapsed) = request.await.unwrap();
    assert!(
        matches!(result, Err(Error::Timeout(after)) if after == Duration::from_secs(3)),
        "{result:?}"
    );
    // Virtual time: the request gave up at its deadline, not before.
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_responder_past_its_timeout_resets_the_stream_and_cannot_answer() {
    let quick = Config {
        timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let pair = pair(bytes(quick), bytes(Config::default())).await;
    let server = pair.server::<Bytes>();
    let request = tokio::spawn({
        let client = pair.client::<Bytes>();
        async move { client.send_request(pair.server_id, b"slow".to_vec()).await }
    });
    let inbound = server.next_request().await.unwrap();
    // The server gives up first and resets the stream, long before the client's 10 s.
    let result = request.await.unwrap();
    assert!(
        matches!(
            result,
            Err(Error::StreamClosed {
                message: Message::Response,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(inbound.responder.is_closed());
    let error = inbound
        .responder
        .respond(b"too late".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Timeout(after) if after == Duration::from_secs(2)),
        "{error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_never_sends_its_request_is_reset_at_the_timeout() {
    // A requester with a longer timeout than the responder, whose request the responder
    // never gets whole: a stalled request, as a slow or malicious peer would send.
    let quick = Config {
        timeout: Duration::from_secs(1),
        ..Config::default()
    };
    let pair = pair(bytes(quick), bytes(Config::default())).await;
    let mut stream = pair
        .client
        .open_stream(pair.server_id, common::PROTOCOL)
        .await
        .unwrap();
    // Announces 100 bytes, sends 3, never closes.
    tokio::io::AsyncWriteExt::write_all(&mut stream, b"\x64abc")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut rest).await;
    assert!(read.is_err(), "the stream ended cleanly: {read:?}");
}

/// Starts `count` requests to the server, waits until the server holds all of them, and
/// returns them with the requests' tasks.
async fn held_requests(
    pair: &common::Pair,
    count: usize,
) -> (
    Vec<InboundRequest<Vec<u8>, Vec<u8>>>,
    Vec<tokio::task::JoinHandle<Result<Vec<u8>, Error>>>,
) {
    let client = pair.client::<Bytes>();
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let client = client.clone();
            let peer = pair.server_id;
            tokio::spawn(async move { client.send_request(peer, vec![i as u8]).await })
        })
        .collect();
    let server = pair.server::<Bytes>();
    let mut held = Vec::new();
    for _ in 0..count {
        held.push(server.next_request().await.unwrap());
    }
    (held, tasks)
}

#[tokio::test]
async fn requests_beyond_the_per_peer_inflight_limit_fail_at_once() {
    let two = Config {
        max_outbound_per_peer: 2,
        ..Config::default()
    };
    let pair = pair(bytes(Config::default()), bytes(two)).await;
    let client = pair.client::<Bytes>();
    let (mut held, tasks) = held_requests(&pair, 2).await;
    let error = client
        .send_request(pair.server_id, b"third".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::TooManyInflight(InflightLimit::PerPeer(2))),
        "{error:?}"
    );
    // Answering one frees its slot.
    let first = held.remove(0);
    first.responder.respond(first.request).await.unwrap();
    let mut tasks = tasks.into_iter();
    assert_eq!(tasks.next().unwrap().await.unwrap().unwrap(), [0]);
    answer_with(pair.server::<Bytes>(), |request| request);
    let again = client.send_request(pair.server_id, b"again".to_vec()).await;
    assert_eq!(again.unwrap(), b"again");
}

#[tokio::test]
async fn requests_beyond_the_total_inflight_limit_fail_at_once() {
    let three = Config {
        max_outbound: 3,
        ..Config::default()
    };
    let pair = pair(bytes(Config::default()), bytes(three)).await;
    let (_held, _tasks) = held_requests(&pair, 3).await;
    let error = pair
        .client::<Bytes>()
        .send_request(pair.server_id, b"fourth".to_vec())
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::TooManyInflight(InflightLimit::Total(3))),
        "{error:?}"
    );
}

/// With room for one inbound request, a second concurrent one is reset while the first
/// waits for its answer; once it is answered, requests are served again.
async fn one_inbound_request_at_a_time(server_config: Config) {
    let pair = pair(bytes(server_config), bytes(Config::default())).await;
    let client = pair.client::<Bytes>();
    let server = pair.server::<Bytes>();
    let send = |byte: u8| {
        let client = client.clone();
        let peer = pair.server_id;
        tokio::spawn(async move { client.send_request(peer, vec![byte]).await })
    };
    let (mut first, mut second) = (send(1), send(2));
    let held = server.next_request().await.unwrap();
    // The other one is reset, without waiting for a timeout.
    let refused = tokio::select! {
        result = &mut first => result.unwrap(),
        result = &mut second => result.unwrap(),
    };
    assert!(is_stream_closed(&refused), "{refused:?}");
    let request = held.request.clone();
    held.responder.respond(request.clone()).await.unwrap();
    let answered = if request == [1] { first } else { second };
    assert_eq!(answered.await.unwrap().unwrap(), request);
    answer_with(server, |request| request);
    let again = client.send_request(pair.server_id, b"again".to_vec()).await;
    assert_eq!(again.unwrap(), b"again");
}

#[tokio::test]
async fn inbound_requests_beyond_the_per_peer_limit_are_reset() {
    one_inbound_request_at_a_time(Config {
        max_inbound_per_peer: 1,
        ..Config::default()
    })
    .await;
}

#[tokio::test]
async fn inbound_requests_beyond_the_total_limit_are_reset() {
    one_inbound_request_at_a_time(Config {
        max_inbound: 1,
        ..Config::default()
    })
    .await;
}
