use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use hyphae::{Node, PeerId};
use hyphae_perf::{PROTOCOL_ID, Params};

/// Two hyphae nodes on loopback (TCP + Noise + Yamux) connected once; each run opens a new
/// perf stream on that connection.
pub struct HyphaePair {
    client: Node,
    server: Node,
    server_peer: PeerId,
}

/// A node pinned to Noise and Yamux, whatever the defaults become, without keepalive pings.
fn builder() -> hyphae::Builder {
    Node::builder()
        .security([hyphae::Security::Noise])
        .muxers([hyphae::Multiplexer::Yamux])
        .ping_interval(None)
}

impl HyphaePair {
    /// Starts both nodes and connects them.
    pub async fn start() -> anyhow::Result<HyphaePair> {
        let server = builder()
            .listen("/ip4/127.0.0.1/tcp/0".parse()?)
            .start()
            .await?;
        server.handle(PROTOCOL_ID, |stream| async move {
            if let Err(error) = hyphae_perf::serve(stream).await {
                eprintln!("hyphae perf server: {error}");
            }
        });
        let client = builder().start().await?;
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
