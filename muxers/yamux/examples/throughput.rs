//! A quick local throughput loop: hyphae-yamux and rust-libp2p's yamux 0.13 side by side,
//! over loopback TCP, one direction, in one run. Not a benchmark suite (see `benches/`), a
//! smoke check of the data path.
//!
//! ```text
//! cargo run --release -p hyphae-yamux --example throughput [streams] [MiB per stream]
//! ```
//!
//! `WINDOW=<bytes>` caps hyphae's receive window (to compare fixed and auto-tuned windows).

use std::future::poll_fn;
use std::time::{Duration, Instant};

use futures::AsyncReadExt as _;
use futures::AsyncWriteExt as _;
use hyphae_yamux::{Config, Connection, Mode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::compat::TokioAsyncReadCompatExt;

const CHUNK: usize = 64 * 1024;

async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (dialed, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (dialed, accepted) = (dialed.unwrap(), accepted.unwrap().0);
    dialed.set_nodelay(true).unwrap();
    accepted.set_nodelay(true).unwrap();
    (dialed, accepted)
}

async fn hyphae(streams: usize, bytes: usize) -> Duration {
    let (a, b) = tcp_pair().await;
    let mut config = Config::default();
    config.max_streams = streams.max(512) + 8;
    if let Ok(window) = std::env::var("WINDOW") {
        config.max_receive_window = window.parse().unwrap();
    }
    let client = Connection::new(a, Mode::Client, config.clone());
    let server = Connection::new(b, Mode::Server, config);
    let sink = tokio::spawn(async move {
        let mut readers = JoinSet::new();
        for _ in 0..streams {
            let mut stream = server.accept().await.unwrap();
            readers.spawn(async move {
                let mut buf = vec![0u8; CHUNK];
                let mut total = 0;
                loop {
                    match stream.read(&mut buf).await.unwrap() {
                        0 => break total,
                        n => total += n,
                    }
                }
            });
        }
        while let Some(total) = readers.join_next().await {
            assert_eq!(total.unwrap(), bytes);
        }
    });
    let start = Instant::now();
    let mut writers = JoinSet::new();
    for _ in 0..streams {
        let client = client.clone();
        writers.spawn(async move {
            let mut stream = client.open_stream().await.unwrap();
            let chunk = vec![0x5au8; CHUNK];
            let mut sent = 0;
            while sent < bytes {
                let n = CHUNK.min(bytes - sent);
                stream.write_all(&chunk[..n]).await.unwrap();
                sent += n;
            }
            stream.shutdown().await.unwrap();
            stream
        });
    }
    let mut open = Vec::new();
    while let Some(stream) = writers.join_next().await {
        open.push(stream.unwrap());
    }
    sink.await.unwrap();
    let elapsed = start.elapsed();
    drop(open);
    client.close().await;
    elapsed
}

async fn rust_yamux(streams: usize, bytes: usize) -> Duration {
    let (a, b) = tcp_pair().await;
    let (open_tx, mut open_rx) =
        tokio::sync::mpsc::unbounded_channel::<tokio::sync::oneshot::Sender<yamux::Stream>>();
    tokio::spawn(async move {
        let mut connection =
            yamux::Connection::new(a.compat(), yamux::Config::default(), yamux::Mode::Client);
        let mut waiting = None;
        poll_fn(|cx| {
            loop {
                if waiting.is_none()
                    && let std::task::Poll::Ready(Some(reply)) = open_rx.poll_recv(cx)
                {
                    waiting = Some(reply);
                }
                if let Some(reply) = waiting.take() {
                    match connection.poll_new_outbound(cx) {
                        std::task::Poll::Ready(Ok(stream)) => {
                            let _ = reply.send(stream);
                            continue;
                        }
                        std::task::Poll::Ready(Err(_)) => return std::task::Poll::Ready(()),
                        std::task::Poll::Pending => waiting = Some(reply),
                    }
                }
                return match connection.poll_next_inbound(cx) {
                    std::task::Poll::Ready(Some(Ok(_))) => continue,
                    std::task::Poll::Ready(_) => std::task::Poll::Ready(()),
                    std::task::Poll::Pending => std::task::Poll::Pending,
                };
            }
        })
        .await;
    });
    let sink = tokio::spawn(async move {
        let mut connection =
            yamux::Connection::new(b.compat(), yamux::Config::default(), yamux::Mode::Server);
        let mut readers = JoinSet::new();
        while let Some(Ok(mut stream)) = poll_fn(|cx| connection.poll_next_inbound(cx)).await {
            readers.spawn(async move {
                let mut buf = vec![0u8; CHUNK];
                let mut total = 0;
                loop {
                    match stream.read(&mut buf).await.unwrap() {
                        0 => break total,
                        n => total += n,
                    }
                }
            });
            if readers.len() == streams {
                break;
            }
        }
        // Keep driving the connection while the readers run.
        let drive = async {
            while let Some(Ok(_)) = poll_fn(|cx| connection.poll_next_inbound(cx)).await {}
        };
        let read = async {
            while let Some(total) = readers.join_next().await {
                assert_eq!(total.unwrap(), bytes);
            }
        };
        tokio::select! {
            () = drive => panic!("connection ended early"),
            () = read => {}
        }
    });
    let start = Instant::now();
    let mut writers = JoinSet::new();
    for _ in 0..streams {
        let open_tx = open_tx.clone();
        writers.spawn(async move {
            let (reply, stream) = tokio::sync::oneshot::channel();
            open_tx.send(reply).unwrap();
            let mut stream = stream.await.unwrap();
            let chunk = vec![0x5au8; CHUNK];
            let mut sent = 0;
            while sent < bytes {
                let n = CHUNK.min(bytes - sent);
                stream.write_all(&chunk[..n]).await.unwrap();
                sent += n;
            }
            stream.close().await.unwrap();
            stream
        });
    }
    let mut open = Vec::new();
    while let Some(stream) = writers.join_next().await {
        open.push(stream.unwrap());
    }
    sink.await.unwrap();
    start.elapsed()
}

fn report(name: &str, streams: usize, bytes: usize, elapsed: Duration) -> f64 {
    let total = (streams * bytes) as f64;
    let rate = total / elapsed.as_secs_f64() / (1024.0 * 1024.0);
    println!(
        "{name:>12}: {streams} streams x {} MiB in {:.3} s = {rate:.0} MiB/s",
        bytes / (1024 * 1024),
        elapsed.as_secs_f64()
    );
    rate
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let streams: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let mib: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1024);
    let bytes = mib * 1024 * 1024;
    for round in 0..3 {
        let ours = report("hyphae", streams, bytes, hyphae(streams, bytes).await);
        let theirs = report(
            "rust-yamux",
            streams,
            bytes,
            rust_yamux(streams, bytes).await,
        );
        println!("round {round}: ratio {:.2}x", ours / theirs);
    }
}
