//! Interoperability with rust-libp2p's yamux crate (crates.io `yamux` 0.13), over an
//! in-memory pipe, with each implementation as client and as server.

use std::future::poll_fn;
use std::task::Poll;

use futures::AsyncReadExt as _;
use hyphae_yamux::{Config, Connection, Mode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

const STREAMS: usize = 16;
const LEN: usize = 2 * 1024 * 1024;

fn pattern(index: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|at| (at as u64 * 131 + index as u64 * 17 + at as u64 / 1021) as u8)
        .collect()
}

/// Sends `pattern(index)` on `stream`, half-closes, and checks the echo.
///
/// Writing and reading run in one task: a rust-yamux 0.13 stream keeps one waker for the
/// channel both directions use, so a reader and a writer in two tasks can miss wake-ups.
async fn echo_through<S: AsyncRead + AsyncWrite>(stream: S, index: usize) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let sent = pattern(index, LEN);
    let mut received = Vec::with_capacity(LEN);
    let write = async {
        writer.write_all(&sent).await.unwrap();
        writer.shutdown().await.unwrap();
    };
    let read = async {
        reader.read_to_end(&mut received).await.unwrap();
    };
    tokio::join!(write, read);
    assert!(received == sent, "stream {index}: echo differs");
}

/// Drives a rust-yamux server connection, handing out its inbound streams.
fn spawn_their_server<T>(socket: T) -> mpsc::UnboundedReceiver<yamux::Stream>
where
    T: futures::AsyncRead + futures::AsyncWrite + Unpin + Send + 'static,
{
    let (streams, inbound) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut connection =
            yamux::Connection::new(socket, yamux::Config::default(), yamux::Mode::Server);
        while let Some(Ok(stream)) = poll_fn(|cx| connection.poll_next_inbound(cx)).await {
            let _ = streams.send(stream);
        }
    });
    inbound
}

/// A rust-yamux server that echoes every inbound stream; ends with the connection.
fn spawn_their_echo_server<T>(socket: T) -> tokio::task::JoinHandle<()>
where
    T: futures::AsyncRead + futures::AsyncWrite + Unpin + Send + 'static,
{
    let mut inbound = spawn_their_server(socket);
    tokio::spawn(async move {
        while let Some(stream) = inbound.recv().await {
            tokio::spawn(async move {
                let (reader, mut writer) = stream.split();
                futures::io::copy(reader, &mut writer).await.unwrap();
                futures::AsyncWriteExt::close(&mut writer).await.unwrap();
            });
        }
    })
}

/// Drives a rust-yamux client connection; each message on the returned channel asks for a
/// new outbound stream.
fn spawn_their_client<T>(socket: T) -> mpsc::UnboundedSender<oneshot::Sender<yamux::Stream>>
where
    T: futures::AsyncRead + futures::AsyncWrite + Unpin + Send + 'static,
{
    let (requests, mut incoming) = mpsc::unbounded_channel::<oneshot::Sender<yamux::Stream>>();
    tokio::spawn(async move {
        let mut connection =
            yamux::Connection::new(socket, yamux::Config::default(), yamux::Mode::Client);
        let mut waiting: Option<oneshot::Sender<yamux::Stream>> = None;
        poll_fn(|cx| {
            loop {
                if waiting.is_none()
                    && let Poll::Ready(Some(reply)) = incoming.poll_recv(cx)
                {
                    waiting = Some(reply);
                }
                if let Some(reply) = waiting.take() {
                    match connection.poll_new_outbound(cx) {
                        Poll::Ready(Ok(stream)) => {
                            let _ = reply.send(stream);
                            continue;
                        }
                        Poll::Ready(Err(error)) => panic!("rust-yamux open failed: {error}"),
                        Poll::Pending => waiting = Some(reply),
                    }
                }
                return match connection.poll_next_inbound(cx) {
                    Poll::Ready(Some(Ok(_))) => continue,
                    Poll::Ready(Some(Err(_)) | None) => Poll::Ready(()),
                    Poll::Pending => Poll::Pending,
                };
            }
        })
        .await;
    });
    requests
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_echoes_through_their_server() {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let server = spawn_their_echo_server(theirs.compat());
    let client = Connection::new(ours, Mode::Client, Config::default());

    let mut tasks = JoinSet::new();
    for index in 0..STREAMS {
        let client = client.clone();
        tasks.spawn(async move {
            let stream = client.open_stream().await.unwrap();
            echo_through(stream, index).await;
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    assert!(client.ping().await.is_ok());
    client.close().await;
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn their_client_echoes_through_our_server() {
    let (theirs, ours) = tokio::io::duplex(64 * 1024);
    let client = spawn_their_client(theirs.compat());
    let server = Connection::new(ours, Mode::Server, Config::default());
    let echo = tokio::spawn(async move {
        while let Some(stream) = server.accept().await {
            tokio::spawn(async move {
                let (mut reader, mut writer) = tokio::io::split(stream);
                tokio::io::copy(&mut reader, &mut writer).await.unwrap();
                writer.shutdown().await.unwrap();
            });
        }
    });

    let mut tasks = JoinSet::new();
    for index in 0..STREAMS {
        let client = client.clone();
        tasks.spawn(async move {
            let (reply, stream) = oneshot::channel();
            client.send(reply).unwrap();
            let stream = stream.await.unwrap();
            echo_through(stream.compat(), index).await;
        });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap();
    }
    drop(client);
    echo.abort();
}

#[tokio::test]
async fn resets_cross_in_both_directions() {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let mut inbound = spawn_their_server(theirs.compat());
    let client = Connection::new(ours, Mode::Client, Config::default());

    // Their reset (a rust-yamux stream dropped without close) is an error for our reader.
    let mut stream = client.open_stream().await.unwrap();
    stream.write_all(b"hello").await.unwrap();
    let mut theirs = inbound.recv().await.unwrap();
    let mut hello = [0u8; 5];
    futures::AsyncReadExt::read_exact(&mut theirs, &mut hello)
        .await
        .unwrap();
    drop(theirs);
    let mut byte = [0u8; 1];
    let error = stream.read(&mut byte).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);

    // Our reset ends their stream (rust-yamux reports a reset as the end of the stream).
    let mut stream = client.open_stream().await.unwrap();
    stream.write_all(b"hello").await.unwrap();
    let mut theirs = inbound.recv().await.unwrap();
    futures::AsyncReadExt::read_exact(&mut theirs, &mut hello)
        .await
        .unwrap();
    stream.reset();
    let mut rest = Vec::new();
    let ended = futures::AsyncReadExt::read_to_end(&mut theirs, &mut rest).await;
    assert!(matches!(ended, Ok(0) | Err(_)), "{ended:?}");

    // The connection goes on.
    let echo = tokio::spawn(async move {
        let theirs = inbound.recv().await.unwrap();
        let (reader, mut writer) = theirs.split();
        futures::io::copy(reader, &mut writer).await.unwrap();
        futures::AsyncWriteExt::close(&mut writer).await.unwrap();
    });
    let stream = client.open_stream().await.unwrap();
    echo_through(stream, 99).await;
    echo.await.unwrap();
    client.close().await;
}
