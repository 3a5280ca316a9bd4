//! Client and server against each other, and against misbehaving peers, over in-memory pipes.

use std::time::Duration;

use hyphae_perf::{Error, HEADER_LEN, Params, Progress, run, serve};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

const PIPE: usize = 64 * 1024;

async fn exchange(params: Params) -> (hyphae_perf::Report, hyphae_perf::Served) {
    let (client, server) = duplex(PIPE);
    let server = tokio::spawn(serve(server));
    let report = run(client, params, |_| {}).await.unwrap();
    let served = server.await.unwrap().unwrap();
    (report, served)
}

#[tokio::test]
async fn transfers_exactly_the_requested_sizes() {
    // Zero, less than one buffer, several buffers and a ragged end.
    for (upload_bytes, download_bytes) in [
        (0, 0),
        (1, 0),
        (0, 1),
        (1000, 3 << 20),
        (3 << 20, 1000),
        ((5 << 20) + 7, (2 << 20) + 13),
    ] {
        let params = Params {
            upload_bytes,
            download_bytes,
        };
        let (report, served) = exchange(params).await;
        assert_eq!(report.upload_bytes, upload_bytes);
        assert_eq!(report.download_bytes, download_bytes);
        assert_eq!(served.received_bytes, upload_bytes);
        assert_eq!(served.sent_bytes, download_bytes);
    }
}

#[tokio::test]
async fn client_sends_the_size_big_endian_before_its_upload() {
    let (client, mut server) = duplex(PIPE);
    let params = Params {
        upload_bytes: 3,
        download_bytes: 0x0102,
    };
    let client = tokio::spawn(run(client, params, |_| {}));
    let mut request = Vec::new();
    server.read_to_end(&mut request).await.unwrap();
    assert_eq!(request, [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0]);
    server.write_all(&[7; 0x0102]).await.unwrap();
    server.shutdown().await.unwrap();
    let report = client.await.unwrap().unwrap();
    assert_eq!(report.download_bytes, 0x0102);
}

#[tokio::test]
async fn server_rejects_a_stream_that_ends_inside_the_header() {
    for sent in [0usize, 1, 7] {
        let (mut client, server) = duplex(PIPE);
        client.write_all(&vec![0; sent]).await.unwrap();
        client.shutdown().await.unwrap();
        let error = serve(server).await.unwrap_err();
        assert!(
            matches!(error, Error::MissingHeader { received } if received == sent),
            "{error:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn server_gives_up_on_a_client_that_never_sends_the_header() {
    let (mut client, server) = duplex(PIPE);
    client.write_all(&[0; 3]).await.unwrap();
    let started = tokio::time::Instant::now();
    let error = serve(server).await.unwrap_err();
    assert!(matches!(error, Error::HeaderTimeout), "{error:?}");
    assert_eq!(started.elapsed(), hyphae_perf::HEADER_TIMEOUT);
}

/// A server that answers with `answer` bytes whatever the client asked for.
async fn lying_server(mut server: DuplexStream, answer: usize) {
    let mut request = Vec::new();
    server.read_to_end(&mut request).await.unwrap();
    server.write_all(&vec![1; answer]).await.unwrap();
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn client_rejects_a_short_download() {
    let (client, server) = duplex(PIPE);
    tokio::spawn(lying_server(server, 99));
    let params = Params {
        upload_bytes: 10,
        download_bytes: 100,
    };
    let error = run(client, params, |_| {}).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::TooFewBytes {
                expected: 100,
                received: 99
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn client_rejects_a_long_download() {
    let (client, server) = duplex(PIPE);
    tokio::spawn(lying_server(server, 101));
    let params = Params {
        upload_bytes: 0,
        download_bytes: 100,
    };
    let error = run(client, params, |_| {}).await.unwrap_err();
    assert!(
        matches!(error, Error::TooManyBytes { expected: 100 }),
        "{error:?}"
    );
}

#[tokio::test]
async fn client_reports_an_io_error_when_the_server_vanishes() {
    let (client, server) = duplex(PIPE);
    drop(server);
    let params = Params {
        upload_bytes: 1 << 20,
        download_bytes: 0,
    };
    let error = run(client, params, |_| {}).await.unwrap_err();
    assert!(matches!(error, Error::Io(_)), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn progress_is_reported_once_per_second_with_the_bytes_of_the_interval() {
    let (client, mut server) = duplex(PIPE);
    tokio::spawn(async move {
        let mut request = Vec::new();
        server.read_to_end(&mut request).await.unwrap();
        // 1000 bytes at t = 0, 0.6, 1.2, 1.8, 2.4 and 3.0 s.
        for round in 0..6 {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(600)).await;
            }
            server.write_all(&[0; 1000]).await.unwrap();
        }
        server.shutdown().await.unwrap();
    });
    let mut reports = Vec::new();
    let params = Params {
        upload_bytes: 0,
        download_bytes: 6000,
    };
    let report = run(client, params, |progress| reports.push(progress))
        .await
        .unwrap();
    let interval = |download_bytes| Progress {
        elapsed: Duration::from_millis(1200),
        upload_bytes: 0,
        download_bytes,
    };
    assert_eq!(reports, [interval(3000), interval(2000)]);
    assert_eq!(report.download_bytes, 6000);
    assert_eq!(report.duration(), Duration::from_millis(3000));
}

/// Feeds `input` to a server as the whole upload, reads at most `cap` bytes of its answer,
/// then hangs up.
fn serve_input(input: Vec<u8>, cap: u64) -> Result<hyphae_perf::Served, Error> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let (mut client, server) = duplex(PIPE);
        let server = tokio::spawn(serve(server));
        client.write_all(&input).await.unwrap();
        client.shutdown().await.unwrap();
        let mut answer = Vec::new();
        let _ = (&mut client).take(cap).read_to_end(&mut answer).await;
        drop(client);
        server.await.unwrap()
    })
}

const CAP: u64 = 1 << 20;

fn check_server(input: Vec<u8>) {
    let result = serve_input(input.clone(), CAP);
    if input.len() < HEADER_LEN {
        assert!(
            matches!(result, Err(Error::MissingHeader { received }) if received == input.len())
        );
        return;
    }
    let requested = u64::from_be_bytes(input[..HEADER_LEN].try_into().unwrap());
    match result {
        Ok(served) => {
            // Everything fit in what the client read plus the pipe's buffer.
            assert!(requested <= CAP + PIPE as u64);
            assert_eq!(served.sent_bytes, requested);
            assert_eq!(served.received_bytes, (input.len() - HEADER_LEN) as u64);
        }
        // The client hung up before taking everything it asked for.
        Err(Error::Io(_)) => assert!(requested > CAP - PIPE as u64),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

proptest! {
    #[test]
    fn server_survives_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_server(input);
    }

    #[test]
    fn server_answers_any_small_request(size in 0u64..100_000, tail in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let mut input = size.to_be_bytes().to_vec();
        input.extend(tail);
        check_server(input);
    }
}
