use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use hyphae::{Node, PeerId};
use hyphae_perf::{PROTOCOL_ID, Params};
use tokio::runtime::Handle;

use crate::Transport;

/// Two hyphae nodes on loopback (TCP + Noise + Yamux unless started with
/// [`HyphaePair::start_on`]) connected once; each run opens a new perf stream on that
/// connection.
pub struct HyphaePair {
    client: Node,
    server: Node,
    server_peer: PeerId,
}

/// A node pinned to `transport`'s security and Yamux, whatever the defaults become, without
/// keepalive pings. QUIC brings its own TLS and streams.
fn builder(transport: Transport) -> hyphae::Builder {
    let builder = Node::builder().service(hyphae::ping::Ping::without_keepalive());
    match transport {
        Transport::TcpNoise => builder
            .security([hyphae::Security::Noise])
            .muxers([hyphae::Multiplexer::Yamux]),
        Transport::TcpTls => builder
            .security([hyphae::Security::Tls])
            .muxers([hyphae::Multiplexer::Yamux]),
        Transport::Quic => builder,
    }
}

impl HyphaePair {
    /// Starts both nodes on TCP + Noise + Yamux and connects them.
    pub async fn start() -> anyhow::Result<HyphaePair> {
        HyphaePair::start_on(Transport::TcpNoise).await
    }

    /// Starts both nodes on `transport` and connects them.
    pub async fn start_on(transport: Transport) -> anyhow::Result<HyphaePair> {
        HyphaePair::start_with_server_on(transport, &Handle::current()).await
    }

    /// Starts both nodes on `transport`, the server's tasks on `server_runtime` and the
    /// client's on the current one, and connects them.
    pub async fn start_with_server_on(
        transport: Transport,
        server_runtime: &Handle,
    ) -> anyhow::Result<HyphaePair> {
        let listen = transport.multiaddr(([127, 0, 0, 1], 0).into()).parse()?;
        let server = server_runtime
            .spawn(async move {
                let server = builder(transport).listen(listen).start().await?;
                server.handle(PROTOCOL_ID, |stream| async move {
                    if let Err(error) = hyphae_perf::serve(stream).await {
                        eprintln!("hyphae perf server: {error}");
                    }
                });
                anyhow::Ok(server)
            })
            .await??;
        let client = builder(transport).start().await?;
        let addr = server
            .listen_addrs()
            .into_iter()
            .next()
            .context("the server listens nowhere")?;
        let server_peer = client.dial(&addr).await?;
        Ok(HyphaePair {
            client,
            server,
            server_peer,
        })
    }

    /// Runs one perf exchange; the time covers opening the stream to the server's end of it.
    pub async fn perf(&mut self, params: Params) -> anyhow::Result<Duration> {
        let start = Instant::now();
        let stream = self
            .client
            .open_stream(self.server_peer, PROTOCOL_ID)
            .await?;
        let report = hyphae_perf::run(stream, params, |_| {}).await?;
        let elapsed = start.elapsed();
        ensure!(report.download_bytes == params.download_bytes);
        Ok(elapsed)
    }

    /// Closes both nodes.
    pub async fn shutdown(self) {
        self.client.shutdown().await;
        self.server.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_transport_runs_perf_both_ways() {
        for transport in Transport::ALL {
            let mut pair = HyphaePair::start_on(transport).await.unwrap();
            for (upload_bytes, download_bytes) in [(100_000, 0), (0, 100_000)] {
                let params = Params {
                    upload_bytes,
                    download_bytes,
                };
                pair.perf(params).await.unwrap();
            }
            pair.shutdown().await;
        }
    }
}
