//! The perf exchange over plain TCP (no security, no multiplexing), with the test-plans perf
//! command line of `hyphae perf`: the ceiling in `throughput --path wan`.
//!
//! `raw-tcp-perf --run-server --server-address IP:PORT` serves until killed;
//! `raw-tcp-perf --server-address IP:PORT --upload-bytes N --download-bytes N` measures and
//! prints `{"type":"final",...}` on stdout. `--transport` must be `tcp`; `--security` is
//! ignored (there is none).

use clap::Parser;
use hyphae_benches::{PerfArgs, raw_tcp_perf, raw_tcp_serve};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = PerfArgs::parse();
    anyhow::ensure!(args.transport == "tcp", "raw TCP runs over tcp only");
    if args.run_server {
        let listener = tokio::net::TcpListener::bind(args.server_address).await?;
        tokio::select! {
            () = raw_tcp_serve(listener) => {}
            signal = tokio::signal::ctrl_c() => signal?,
        }
        return Ok(());
    }
    let time = raw_tcp_perf(args.server_address, args.params()).await?;
    println!("{}", args.final_line(time));
    Ok(())
}
