//! Perf between two hyphae nodes on loopback: the whole stack, over each transport, security
//! protocol and muxer of the node.

use hyphae::Node;
use hyphae_perf::{PROTOCOL_ID, Params, Served, run, serve};
use tokio::sync::mpsc;

/// A node serving perf that reports each served stream on the returned channel.
async fn perf_server() -> (Node, mpsc::UnboundedReceiver<Result<Served, String>>) {
    let node = Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .listen("/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap())
        .start()
        .await
        .unwrap();
    let (served_tx, served_rx) = mpsc::unbounded_channel();
    node.handle(PROTOCOL_ID, move |stream| {
        let served_tx = served_tx.clone();
        async move {
            let _ = served_tx.send(serve(stream).await.map_err(|error| error.to_string()));
        }
    });
    (node, served_rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf_runs_between_two_nodes() {
    let (server, mut served) = perf_server().await;
    let client = Node::builder().start().await.unwrap();
    let peer = client.dial(&addr_of(&server, "/tcp/")).await.unwrap();
    assert_eq!(peer, server.peer_id());

    let params = Params {
        upload_bytes: (8 << 20) + 3,
        download_bytes: (16 << 20) + 5,
    };
    let stream = client.open_stream(peer, PROTOCOL_ID).await.unwrap();
    let report = run(stream, params, |_| {}).await.unwrap();
    assert_eq!(report.upload_bytes, params.upload_bytes);
    assert_eq!(report.download_bytes, params.download_bytes);
    let served = served.recv().await.unwrap().unwrap();
    assert_eq!(
        served,
        Served {
            received_bytes: params.upload_bytes,
            sent_bytes: params.download_bytes
        }
    );
}

/// The server's address for `transport` ("tcp" or "quic-v1").
fn addr_of(server: &Node, transport: &str) -> hyphae::Multiaddr {
    server
        .listen_addrs()
        .into_iter()
        .find(|addr| addr.to_string().contains(transport))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf_runs_over_tls_and_over_quic() {
    let (server, mut served) = perf_server().await;
    let tls = Node::builder()
        .security([hyphae::Security::Tls])
        .start()
        .await
        .unwrap();
    let quic = Node::builder().start().await.unwrap();
    for (client, addr) in [
        (tls, addr_of(&server, "/tcp/")),
        (quic, addr_of(&server, "/quic-v1")),
    ] {
        let peer = client.dial(&addr).await.unwrap();
        let params = Params {
            upload_bytes: (8 << 20) + 1,
            download_bytes: (8 << 20) + 2,
        };
        let stream = client.open_stream(peer, PROTOCOL_ID).await.unwrap();
        let report = run(stream, params, |_| {}).await.unwrap();
        assert_eq!(
            (report.upload_bytes, report.download_bytes),
            (params.upload_bytes, params.download_bytes),
            "{addr}"
        );
        assert_eq!(
            served.recv().await.unwrap().unwrap(),
            Served {
                received_bytes: params.upload_bytes,
                sent_bytes: params.download_bytes
            },
            "{addr}"
        );
    }
}

/// One perf run from a client node restricted to mplex.
async fn perf_over_mplex(params: Params) {
    let (server, mut served) = perf_server().await;
    let client = Node::builder()
        .muxers([hyphae::Multiplexer::Mplex])
        .start()
        .await
        .unwrap();
    let peer = client.dial(&addr_of(&server, "/tcp/")).await.unwrap();
    let stream = client.open_stream(peer, PROTOCOL_ID).await.unwrap();
    let report = run(stream, params, |_| {}).await.unwrap();
    assert_eq!(
        (report.upload_bytes, report.download_bytes),
        (params.upload_bytes, params.download_bytes)
    );
    assert_eq!(
        served.recv().await.unwrap().unwrap(),
        Served {
            received_bytes: params.upload_bytes,
            sent_bytes: params.download_bytes
        }
    );
}

/// mplex has no flow control: a bulk sender outruns the reader, and hyphae-mplex holds the
/// connection back (rather than resetting the stream) while the stream's 1 MiB buffer is full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn perf_runs_over_mplex_in_bulk() {
    perf_over_mplex(Params {
        upload_bytes: 64 << 20,
        download_bytes: 64 << 20,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_share_one_connection() {
    let (server, mut served) = perf_server().await;
    let client = Node::builder().start().await.unwrap();
    let peer = client.dial(&addr_of(&server, "/tcp/")).await.unwrap();

    let runs = (0..4u64).map(|index| {
        let client = client.clone();
        tokio::spawn(async move {
            let params = Params {
                upload_bytes: (1 << 20) * index,
                download_bytes: (1 << 20) * (4 - index),
            };
            let stream = client.open_stream(peer, PROTOCOL_ID).await.unwrap();
            let report = run(stream, params, |_| {}).await.unwrap();
            assert_eq!(
                (report.upload_bytes, report.download_bytes),
                (params.upload_bytes, params.download_bytes)
            );
        })
    });
    for run in runs.collect::<Vec<_>>() {
        run.await.unwrap();
    }
    let mut total = Served {
        received_bytes: 0,
        sent_bytes: 0,
    };
    for _ in 0..4 {
        let one = served.recv().await.unwrap().unwrap();
        total.received_bytes += one.received_bytes;
        total.sent_bytes += one.sent_bytes;
    }
    assert_eq!(total.received_bytes, 6 << 20);
    assert_eq!(total.sent_bytes, 10 << 20);
}
