use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::ensure;
use hyphae_perf::Params;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// Plain loopback TCP speaking the perf exchange with `hyphae-perf` and no security or
/// multiplexing: the ceiling for any stack over TCP. Each run uses a new connection, as
/// perf closes its stream.
pub struct RawTcpPair {
    addr: SocketAddr,
    server: JoinHandle<()>,
}

/// Serves the perf exchange on every connection `listener` accepts, until dropped.
pub async fn raw_tcp_serve(listener: TcpListener) {
    while let Ok((socket, _)) = listener.accept().await {
        tokio::spawn(async move {
            let _ = socket.set_nodelay(true);
            if let Err(error) = hyphae_perf::serve(socket).await {
                eprintln!("raw TCP perf server: {error}");
            }
        });
    }
}

/// Connects to `addr` and runs one perf exchange; the time covers connecting to the
/// server's end of stream.
pub async fn raw_tcp_perf(addr: SocketAddr, params: Params) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    let report = hyphae_perf::run(socket, params, |_| {}).await?;
    let elapsed = start.elapsed();
    ensure!(report.download_bytes == params.download_bytes);
    Ok(elapsed)
}

impl RawTcpPair {
    /// Starts the server.
    pub async fn start() -> anyhow::Result<RawTcpPair> {
        RawTcpPair::start_with_server_on(&Handle::current()).await
    }

    /// Starts the server, its tasks on `server_runtime`.
    pub async fn start_with_server_on(server_runtime: &Handle) -> anyhow::Result<RawTcpPair> {
        let (addr, server) = server_runtime
            .spawn(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                anyhow::Ok((addr, tokio::spawn(raw_tcp_serve(listener))))
            })
            .await??;
        Ok(RawTcpPair { addr, server })
    }

    /// Runs one perf exchange; the time covers connecting to the server's end of stream.
    pub async fn perf(&mut self, params: Params) -> anyhow::Result<Duration> {
        raw_tcp_perf(self.addr, params).await
    }

    /// Stops the server.
    pub fn shutdown(self) {
        self.server.abort();
    }
}
