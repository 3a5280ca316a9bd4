//! Measures QUIC throughput between two hyphae endpoints over loopback: one stream, then
//! several in parallel. Run with `cargo run --release -p hyphae-quic --example throughput`.

use std::time::Instant;

use hyphae_identity::Keypair;
use hyphae_quic::{Config, Endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOTAL: usize = 1 << 30;
const CHUNK: usize = 256 * 1024;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = Endpoint::new(&Keypair::generate_ed25519(), Config::default())?;
    let addr = listener
        .listen(&"/ip4/127.0.0.1/udp/0/quic-v1".parse()?)
        .await?;
    let dialer = Endpoint::new(&Keypair::generate_ed25519(), Config::default())?;
    let (connection, accepted) = tokio::join!(dialer.dial(&addr), listener.accept());
    let (connection, accepted) = (connection?, accepted.ok_or("listener closed")?);

    // The receiver drains every stream and reports how much it read.
    tokio::spawn(async move {
        while let Some(mut stream) = accepted.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0u8; CHUNK];
                let mut read = 0u64;
                while let Ok(n) = stream.read(&mut buffer).await {
                    if n == 0 {
                        break;
                    }
                    read += n as u64;
                }
                let _ = stream.write_all(&read.to_be_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });

    for streams in [1usize, 4, 16] {
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..streams {
            let connection = connection.clone();
            tasks.push(tokio::spawn(async move {
                let mut stream = connection.open_stream().await?;
                let chunk = vec![0x5au8; CHUNK];
                let mut sent = 0;
                while sent < TOTAL / streams {
                    stream.write_all(&chunk).await?;
                    sent += CHUNK;
                }
                stream.shutdown().await?;
                let mut ack = [0u8; 8];
                stream.read_exact(&mut ack).await?;
                Ok::<u64, Box<dyn std::error::Error + Send + Sync>>(u64::from_be_bytes(ack))
            }));
        }
        let mut received = 0;
        for task in tasks {
            received += task.await?.map_err(|error| error.to_string())?;
        }
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{streams:>2} stream(s): {:.0} MiB in {seconds:.2} s = {:.0} MiB/s ({:.2} Gbit/s)",
            received as f64 / (1 << 20) as f64,
            received as f64 / (1 << 20) as f64 / seconds,
            received as f64 * 8.0 / 1e9 / seconds,
        );
    }
    Ok(())
}
