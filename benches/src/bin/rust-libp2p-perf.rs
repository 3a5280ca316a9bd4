//! rust-libp2p 0.57's side of `throughput --path wan`: the perf protocol on libp2p-stream
//! (the peer of `hyphae_benches::RustLibp2pPair`) with the test-plans perf command line of
//! `hyphae perf`.
//!
//! `rust-libp2p-perf --run-server --server-address IP:PORT` serves TCP (Noise or TLS, Yamux)
//! and QUIC on that port until killed; `rust-libp2p-perf --server-address IP:PORT
//! --transport tcp|quic-v1 [--security noise|tls] --upload-bytes N --download-bytes N`
//! measures and prints `{"type":"final",...}` on stdout. The time includes connecting.
//! `--quic-settings matched` gives QUIC hyphae's windows and packet size (both ends need it).

use std::time::Instant;

use clap::Parser;
use hyphae_benches::{PerfArgs, QuicSettings, RustLibp2pClient, RustLibp2pServer, Transport};

/// The perf contract's arguments and rust-libp2p's QUIC settings.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    perf: PerfArgs,
    /// QUIC settings of this end.
    #[arg(long, value_enum, default_value_t = QuicSettings::Defaults)]
    quic_settings: QuicSettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args {
        perf: args,
        quic_settings,
    } = Args::parse();
    if args.run_server {
        let listen = [Transport::Quic, Transport::TcpNoise]
            .map(|transport| transport.multiaddr(args.server_address).parse())
            .into_iter()
            .collect::<Result<Vec<libp2p::Multiaddr>, _>>()?;
        let server = RustLibp2pServer::start_with(&listen, quic_settings).await?;
        for addr in server.addrs() {
            eprintln!("rust-libp2p perf server listening on {addr}");
        }
        tokio::signal::ctrl_c().await?;
        server.shutdown();
        return Ok(());
    }
    let transport = args.stack();
    let start = Instant::now();
    let addr = transport.multiaddr(args.server_address).parse()?;
    let mut client = RustLibp2pClient::connect_with(addr, transport, quic_settings).await?;
    client.perf(args.params()).await?;
    let time = start.elapsed();
    client.shutdown();
    println!("{}", args.final_line(time));
    Ok(())
}
