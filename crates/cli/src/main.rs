//! The `hyphae` command.

mod dht;
mod id;
mod metrics;
mod node;
mod perf;
mod ping;
mod pubsub;

use std::num::NonZeroUsize;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "hyphae", version, about = "A libp2p node and tools")]
struct Cli {
    /// Threads that run the node [default: one per core, or TOKIO_WORKER_THREADS]. Where
    /// both ends of a measurement share a machine, one each keeps their workers from
    /// competing for its cores.
    #[arg(long, global = true)]
    worker_threads: Option<NonZeroUsize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a peer id: of a key file (created if missing) or of a fresh key.
    Id(id::Args),
    /// Join the DHT through bootstrap peers and run one operation.
    Dht(dht::Args),
    /// Run a node until Ctrl-C.
    Node(node::Args),
    /// Dial a peer and ping it.
    Ping(ping::Args),
    /// Subscribe to a gossipsub topic, or publish a message to one.
    Pubsub(pubsub::Args),
    /// Measure throughput with the libp2p perf protocol, or serve it.
    Perf(perf::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let threads = cli.worker_threads;
    let result = match cli.command {
        Command::Id(args) => id::run(args),
        Command::Dht(args) => with_runtime(threads, dht::run(args)),
        Command::Node(args) => with_runtime(threads, node::run(args)),
        Command::Ping(args) => with_runtime(threads, ping::run(args)),
        Command::Perf(args) => with_runtime(threads, perf::run(args)),
        Command::Pubsub(args) => with_runtime(threads, pubsub::run(args)),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs a networked command on a tokio runtime of `worker_threads` workers (tokio's default
/// when not given), with `RUST_LOG`-controlled logs on stderr.
///
/// The command runs as a task on the runtime's workers, not in `block_on` on the main
/// thread: there, each stream read or write it made would hand its bytes between the main
/// thread and the worker running the connection, with a cross-thread wake-up each time.
fn with_runtime(
    worker_threads: Option<NonZeroUsize>,
    command: impl Future<Output = anyhow::Result<()>> + Send + 'static,
) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = worker_threads {
        runtime.worker_threads(threads.get());
    }
    let runtime = runtime.enable_all().build()?;
    let command = runtime.spawn(command);
    runtime.block_on(command)?
}
