//! Connection benchmarks, hyphae beside rust-libp2p 0.57 (TCP + Noise + Yamux, and QUIC), in
//! one run:
//!
//! 1. connection establishment + one 1-byte echo over an emulated path (hyphae-linkem, 20 ms
//!    each way by default), in milliseconds and in round trips of the path;
//! 2. handshakes per second one listener sustains on loopback (clients reconnect in a loop),
//!    over TCP + Noise + Yamux and over QUIC, and the CPU time both ends spent on each;
//! 3. ping round trip on an established connection (loopback);
//! 4. 1000 concurrent streams on one connection, each uploading 1 MiB to a listener process
//!    (aggregate rate, and the CPU time both ends spent per GiB);
//! 5. resident memory per idle connection of a listener holding 1000 of them;
//! 6. round trips on one stream while another stream of the same connection uploads flat
//!    out, over the emulated path of benchmark 1 (head-of-line delay in buffers);
//! 7. `idle-node` (only when asked for: `--bench idle-node`): resident memory of a node as
//!    operators run it (`hyphae node --max-connections 20000`, beside rust-libp2p with the
//!    same services) holding 10,000 idle connections from 10,000 peers, each with ping,
//!    identify, Kademlia and gossipsub (see [`idle_node`]).
//!
//! `cargo run --release -p hyphae-benches --bin connections [-- --quick --json PATH]`
//! (`--bench NAME`, repeated, runs only those). Needs root for the network namespaces of
//! benchmark 1. Results go to stdout as a markdown table, progress to stderr.
//!
//! Listeners and dialers that must live in another process (another namespace, or apart from
//! the process whose memory is measured) are this binary again, run with the `serve`, `dial`,
//! `clients` and `peers` subcommands.

#[path = "connections/idle_node.rs"]
mod idle_node;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use hyphae::Multiaddr;
use hyphae_benches::conn_hyphae::{self, DEFAULT_STREAMS, MAX_STREAMS};
use hyphae_benches::conn_libp2p::RustNode;
use hyphae_benches::process::{cpu_time, rss_kib};
use hyphae_benches::stats::median;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// Connection benchmarks of hyphae and rust-libp2p.
#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Fewer repetitions and smaller transfers: a smoke run.
    #[arg(long)]
    quick: bool,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run only these benchmarks (repeat the flag; default: all).
    #[arg(long = "bench", value_enum)]
    benches: Vec<Bench>,
    /// Concurrent streams of the streams benchmark (default 1000).
    #[arg(long)]
    streams: Option<usize>,
    /// Bytes each stream of the streams benchmark uploads (default 1 MiB, 64 KiB with --quick).
    #[arg(long)]
    stream_bytes: Option<u64>,
    /// One-way delay of the emulated path of the establishment benchmark, in milliseconds.
    #[arg(long, default_value_t = 20)]
    delay_ms: u64,
    /// Idle connections (each from its own peer) of the idle-node benchmark.
    #[arg(long, default_value_t = 10_000)]
    idle_connections: usize,
    /// Processes the idle-node benchmark's peers are spread over.
    #[arg(long, default_value_t = 4)]
    idle_processes: usize,
    /// The `hyphae` binary of the idle-node benchmark (default: the one beside this binary).
    #[arg(long)]
    hyphae_bin: Option<PathBuf>,
    /// The `rust-libp2p-defaults` binary of the idle-node benchmark (default: the one beside
    /// this binary).
    #[arg(long)]
    rust_libp2p_bin: Option<PathBuf>,
    /// An extra argument for `hyphae node` in the idle-node benchmark; may be repeated.
    #[arg(long = "hyphae-arg", allow_hyphen_values = true)]
    hyphae_args: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Bench {
    Establish,
    Handshakes,
    Ping,
    Streams,
    Memory,
    Loaded,
    IdleNode,
}

#[derive(Subcommand)]
enum Mode {
    /// Listen on TCP and QUIC at IP, print the addresses, serve until stdin closes.
    Serve {
        #[arg(long, value_enum)]
        stack: Stack,
        #[arg(long)]
        ip: String,
        /// Streams each connection allows.
        #[arg(long, default_value_t = MAX_STREAMS)]
        max_streams: usize,
    },
    /// Time REPS fresh connections to ADDR, each with a 1-byte echo; print them as JSON.
    Dial {
        #[arg(long, value_enum)]
        stack: Stack,
        #[arg(long)]
        addr: String,
        #[arg(long)]
        reps: usize,
    },
    /// Connect to ADDR; time PINGS echo round trips on the idle connection, then again while
    /// another stream uploads; print both as JSON.
    Loaded {
        #[arg(long, value_enum)]
        stack: Stack,
        #[arg(long)]
        addr: String,
        #[arg(long)]
        pings: usize,
    },
    /// Connect COUNT clients, each its own peer, to ADDR; print "ready" and stay connected
    /// until stdin closes.
    Clients {
        #[arg(long, value_enum)]
        stack: Stack,
        #[arg(long)]
        addr: String,
        #[arg(long)]
        count: usize,
    },
    /// Connect COUNT peers with a default node's services, each its own identity, to ADDR;
    /// print how many connected as JSON and stay connected until stdin closes.
    Peers {
        #[arg(long, value_enum)]
        stack: Stack,
        #[arg(long)]
        addr: String,
        #[arg(long)]
        count: usize,
    },
}

/// The stacks compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Stack {
    Hyphae,
    RustLibp2p,
}

const STACKS: [Stack; 2] = [Stack::Hyphae, Stack::RustLibp2p];

impl Stack {
    fn arg(self) -> &'static str {
        match self {
            Stack::Hyphae => "hyphae",
            Stack::RustLibp2p => "rust-libp2p",
        }
    }
}

/// A node of either stack.
enum AnyNode {
    Hyphae(hyphae::Node),
    RustLibp2p(RustNode),
}

impl AnyNode {
    async fn start(
        stack: Stack,
        listen: &[Multiaddr],
        max_streams: usize,
    ) -> anyhow::Result<AnyNode> {
        Ok(match stack {
            Stack::Hyphae => AnyNode::Hyphae(conn_hyphae::start(listen, max_streams).await?),
            Stack::RustLibp2p => {
                let listen: Vec<libp2p::Multiaddr> = listen
                    .iter()
                    .map(|addr| addr.to_string().parse())
                    .collect::<Result<_, _>>()?;
                AnyNode::RustLibp2p(RustNode::start(&listen, max_streams).await?)
            }
        })
    }

    fn listen_addrs(&self) -> Vec<String> {
        match self {
            AnyNode::Hyphae(node) => node
                .listen_addrs()
                .iter()
                .map(ToString::to_string)
                .collect(),
            AnyNode::RustLibp2p(node) => node
                .listen_addrs()
                .iter()
                .map(ToString::to_string)
                .collect(),
        }
    }

    /// A new connection to `addr` and a 1-byte echo; the time it took and the peer.
    async fn connect_and_echo(&self, addr: &str) -> anyhow::Result<(Peer, Duration)> {
        match self {
            AnyNode::Hyphae(node) => {
                let (peer, time) = conn_hyphae::connect_and_echo(node, &addr.parse()?).await?;
                Ok((Peer::Hyphae(peer), time))
            }
            AnyNode::RustLibp2p(node) => {
                let (peer, time) = node.connect_and_echo(&addr.parse()?).await?;
                Ok((Peer::RustLibp2p(peer), time))
            }
        }
    }

    async fn dial(&self, addr: &str) -> anyhow::Result<Peer> {
        match self {
            AnyNode::Hyphae(node) => Ok(Peer::Hyphae(node.dial(&addr.parse()?).await?)),
            AnyNode::RustLibp2p(node) => Ok(Peer::RustLibp2p(node.dial(&addr.parse()?).await?)),
        }
    }

    async fn disconnect(&self, peer: Peer) {
        match (self, peer) {
            (AnyNode::Hyphae(node), Peer::Hyphae(peer)) => node.disconnect(peer).await,
            (AnyNode::RustLibp2p(node), Peer::RustLibp2p(peer)) => node.disconnect(peer).await,
            _ => {}
        }
    }

    async fn pings(&self, peer: Peer, count: usize) -> anyhow::Result<Vec<Duration>> {
        match (self, peer) {
            (AnyNode::Hyphae(node), Peer::Hyphae(peer)) => {
                conn_hyphae::pings(node, peer, count).await
            }
            (AnyNode::RustLibp2p(node), Peer::RustLibp2p(peer)) => node.pings(peer, count).await,
            _ => bail!("peer of another stack"),
        }
    }

    async fn concurrent_uploads(
        &self,
        peer: Peer,
        streams: usize,
        bytes: u64,
    ) -> anyhow::Result<Duration> {
        match (self, peer) {
            (AnyNode::Hyphae(node), Peer::Hyphae(peer)) => {
                conn_hyphae::concurrent_uploads(node, peer, streams, bytes).await
            }
            (AnyNode::RustLibp2p(node), Peer::RustLibp2p(peer)) => {
                node.concurrent_uploads(peer, streams, bytes).await
            }
            _ => bail!("peer of another stack"),
        }
    }

    async fn upload_counting(&self, peer: Peer, sent: &AtomicU64) -> anyhow::Result<()> {
        match (self, peer) {
            (AnyNode::Hyphae(node), Peer::Hyphae(peer)) => {
                conn_hyphae::upload_counting(node, peer, sent).await
            }
            (AnyNode::RustLibp2p(node), Peer::RustLibp2p(peer)) => {
                node.upload_counting(peer, sent).await
            }
            _ => bail!("peer of another stack"),
        }
    }

    async fn shutdown(self) {
        match self {
            AnyNode::Hyphae(node) => node.shutdown().await,
            AnyNode::RustLibp2p(node) => node.shutdown(),
        }
    }
}

#[derive(Clone, Copy)]
enum Peer {
    Hyphae(hyphae::PeerId),
    RustLibp2p(libp2p::PeerId),
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Mode::Peers { stack, addr, count }) = &args.mode {
        // Thousands of peers on one thread: cheap, and most of the cores stay the node's.
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(idle_node::peers(*stack, addr, *count));
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run_mode(args))
}

async fn run_mode(args: Args) -> anyhow::Result<()> {
    match args.mode {
        Some(Mode::Serve {
            stack,
            ip,
            max_streams,
        }) => serve(stack, &ip, max_streams).await,
        Some(Mode::Dial { stack, addr, reps }) => dial(stack, &addr, reps).await,
        Some(Mode::Loaded { stack, addr, pings }) => loaded_child(stack, &addr, pings).await,
        Some(Mode::Clients { stack, addr, count }) => clients(stack, &addr, count).await,
        Some(Mode::Peers { stack, addr, count }) => idle_node::peers(stack, &addr, count).await,
        None => run(&args).await,
    }
}

/// Waits until stdin closes: the parent is done with us.
async fn wait_for_stdin_eof() {
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
}

async fn serve(stack: Stack, ip: &str, max_streams: usize) -> anyhow::Result<()> {
    let listen: Vec<Multiaddr> = vec![
        format!("/ip4/{ip}/tcp/0").parse()?,
        format!("/ip4/{ip}/udp/0/quic-v1").parse()?,
    ];
    let node = AnyNode::start(stack, &listen, max_streams).await?;
    for addr in node.listen_addrs() {
        println!("{addr}");
    }
    println!("ready");
    wait_for_stdin_eof().await;
    node.shutdown().await;
    Ok(())
}

async fn dial(stack: Stack, addr: &str, reps: usize) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    // One unmeasured dial first: lazily initialised state is not what is measured.
    for rep in 0..=reps {
        let node = AnyNode::start(stack, &[], MAX_STREAMS).await?;
        let (_, time) = node.connect_and_echo(addr).await?;
        if rep > 0 {
            samples.push(time.as_secs_f64() * 1e3);
        }
        node.shutdown().await;
    }
    println!("{}", json!({ "samples_ms": samples }));
    Ok(())
}

/// How long the upload of benchmark 6 runs before the loaded round trips start: past the
/// ramp of the congestion and flow-control windows.
const LOADED_WARMUP: Duration = Duration::from_secs(3);

async fn loaded_child(stack: Stack, addr: &str, pings: usize) -> anyhow::Result<()> {
    let node = AnyNode::start(stack, &[], DEFAULT_STREAMS).await?;
    let peer = node.dial(addr).await?;
    let idle = node.pings(peer, pings).await?;
    let sent = AtomicU64::new(0);
    let upload = node.upload_counting(peer, &sent);
    let measure = async {
        tokio::time::sleep(LOADED_WARMUP).await;
        let (before, start) = (sent.load(Ordering::Relaxed), Instant::now());
        let samples = node.pings(peer, pings).await?;
        let bits = (sent.load(Ordering::Relaxed) - before) as f64 * 8.0;
        anyhow::Ok((samples, bits / start.elapsed().as_secs_f64() / 1e9))
    };
    let (loaded, upload_gbps) = tokio::select! {
        result = upload => bail!("the upload ended before the round trips: {result:?}"),
        measured = measure => measured?,
    };
    let ms = |samples: &[Duration]| -> Vec<f64> {
        samples.iter().map(|d| d.as_secs_f64() * 1e3).collect()
    };
    println!(
        "{}",
        json!({ "idle_ms": ms(&idle), "loaded_ms": ms(&loaded), "upload_gbps": upload_gbps })
    );
    Ok(())
}

async fn clients(stack: Stack, addr: &str, count: usize) -> anyhow::Result<()> {
    let connected: Vec<AnyNode> = futures::stream::iter(0..count)
        .map(|_| async move {
            let node = AnyNode::start(stack, &[], MAX_STREAMS).await?;
            node.dial(addr).await?;
            anyhow::Ok(node)
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    println!("ready {}", connected.len());
    wait_for_stdin_eof().await;
    drop(connected);
    Ok(())
}

/// A child process of this binary that printed its listen addresses.
struct Server {
    child: Child,
    tcp: String,
    quic: String,
}

/// Starts `serve` for `stack` on `ip`, inside network namespace `netns` if given.
async fn spawn_server(
    stack: Stack,
    ip: &str,
    netns: Option<&str>,
    max_streams: usize,
) -> anyhow::Result<Server> {
    let max_streams = max_streams.to_string();
    let args = [
        "serve",
        "--stack",
        stack.arg(),
        "--ip",
        ip,
        "--max-streams",
        &max_streams,
    ];
    let mut child = self_command(netns, &args)?.spawn()?;
    let mut lines = stdout_lines(&mut child)?;
    let (mut tcp, mut quic) = (None, None);
    loop {
        let line = lines.next_line().await?.context("server exited early")?;
        if line == "ready" {
            break;
        }
        if line.contains("/quic-v1") {
            quic = Some(line);
        } else if line.contains("/tcp/") {
            tcp = Some(line);
        }
    }
    Ok(Server {
        child,
        tcp: tcp.context("no TCP address")?,
        quic: quic.context("no QUIC address")?,
    })
}

impl Server {
    /// Closes its stdin and waits for it to exit.
    async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        match tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => self.child.kill().await?,
        }
        Ok(())
    }

    fn pid(&self) -> anyhow::Result<u32> {
        self.child.id().context("server exited")
    }
}

/// This binary with `args`, in `netns` if given, stdin and stdout piped.
fn self_command(netns: Option<&str>, args: &[&str]) -> anyhow::Result<Command> {
    let exe = std::env::current_exe()?;
    let mut command = match netns {
        Some(netns) => {
            let mut command = Command::new("ip");
            command.args(["netns", "exec", netns]).arg(exe);
            command
        }
        None => Command::new(exe),
    };
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    Ok(command)
}

fn stdout_lines(child: &mut Child) -> anyhow::Result<Lines<BufReader<ChildStdout>>> {
    Ok(BufReader::new(child.stdout.take().context("no stdout")?).lines())
}

/// `addr` without its `/p2p/<id>` suffix: dialling it always makes a new connection.
fn without_p2p(addr: &str) -> &str {
    addr.find("/p2p/").map_or(addr, |at| &addr[..at])
}

/// Settings of one run.
struct Plan {
    dial_reps: usize,
    handshake_seconds: f64,
    handshake_reps: usize,
    handshake_clients: usize,
    pings: usize,
    ping_reps: usize,
    streams: usize,
    stream_bytes: u64,
    stream_reps: usize,
    idle_connections: usize,
    memory_reps: usize,
    loaded_pings: usize,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                dial_reps: 3,
                handshake_seconds: 2.0,
                handshake_reps: 1,
                handshake_clients: 8,
                pings: 200,
                ping_reps: 1,
                streams: 1000,
                stream_bytes: 64 << 10,
                stream_reps: 1,
                idle_connections: 1000,
                memory_reps: 1,
                loaded_pings: 10,
            }
        } else {
            Plan {
                dial_reps: 10,
                handshake_seconds: 4.0,
                handshake_reps: 5,
                handshake_clients: 16,
                pings: 1000,
                ping_reps: 5,
                streams: 1000,
                stream_bytes: 1 << 20,
                stream_reps: 5,
                idle_connections: 1000,
                memory_reps: 3,
                loaded_pings: 40,
            }
        }
    }
}

/// One row of the table: a figure per stack.
struct Row {
    name: String,
    unit: &'static str,
    lower_is_better: bool,
    hyphae: f64,
    rust_libp2p: f64,
    /// Extra text per stack, e.g. the figure in round trips.
    notes: [String; 2],
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let mut plan = Plan::new(args.quick);
    plan.streams = args.streams.unwrap_or(plan.streams);
    plan.stream_bytes = args.stream_bytes.unwrap_or(plan.stream_bytes);
    let wanted = |bench| args.benches.is_empty() || args.benches.contains(&bench);
    // Minutes long and 10,000 sockets: only when asked for.
    let asked = |bench| args.benches.contains(&bench);
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    let started = Instant::now();
    if wanted(Bench::Establish) {
        let (new_rows, value) = establish(&plan, args.delay_ms).await?;
        rows.extend(new_rows);
        results.insert("establish".into(), value);
    }
    if wanted(Bench::Handshakes) {
        for (key, transport) in [
            ("handshakes", HandshakeTransport::Tcp),
            ("handshakes_quic", HandshakeTransport::Quic),
        ] {
            let (row, value) = handshakes(&plan, transport).await?;
            rows.push(row);
            results.insert(key.into(), value);
        }
    }
    if wanted(Bench::Ping) {
        let (row, value) = ping(&plan).await?;
        rows.push(row);
        results.insert("ping".into(), value);
    }
    if wanted(Bench::Streams) {
        let (row, value) = streams(&plan).await?;
        rows.push(row);
        results.insert("streams".into(), value);
    }
    if wanted(Bench::Memory) {
        let (row, value) = memory(&plan).await?;
        rows.push(row);
        results.insert("memory".into(), value);
    }
    if wanted(Bench::Loaded) {
        let (row, value) = loaded(&plan, args.delay_ms).await?;
        rows.push(row);
        results.insert("loaded".into(), value);
    }
    if asked(Bench::IdleNode) {
        let plan = idle_node::IdlePlan {
            connections: args.idle_connections,
            processes: args.idle_processes.max(1),
            hyphae_bin: args.hyphae_bin.clone(),
            rust_libp2p_bin: args.rust_libp2p_bin.clone(),
            hyphae_args: args.hyphae_args.clone(),
        };
        let (new_rows, value) = idle_node::idle_node(&plan).await?;
        rows.extend(new_rows);
        results.insert("idle_node".into(), value);
    }
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    print_table(&rows);
    if let Some(path) = &args.json {
        let value = json!({
            "commit": hyphae_benches::measured_commit(),
            "quick": args.quick,
            "results": results,
            "table": rows.iter().map(|row| json!({
                "name": row.name,
                "unit": row.unit,
                "lower_is_better": row.lower_is_better,
                "hyphae": row.hyphae,
                "rust_libp2p": row.rust_libp2p,
                "ratio": row.hyphae / row.rust_libp2p,
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&value)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!("| benchmark | hyphae | rust-libp2p 0.57 | hyphae / rust-libp2p | better |");
    println!("|---|---:|---:|---:|---|");
    for row in rows {
        let cell = |value: f64, note: &str| {
            let figure = if value >= 100.0 {
                format!("{value:.0} {}", row.unit)
            } else {
                format!("{value:.2} {}", row.unit)
            };
            if note.is_empty() {
                figure
            } else {
                format!("{figure} ({note})")
            }
        };
        println!(
            "| {} | {} | {} | {:.2} | {} |",
            row.name,
            cell(row.hyphae, &row.notes[0]),
            cell(row.rust_libp2p, &row.notes[1]),
            row.hyphae / row.rust_libp2p,
            if row.lower_is_better {
                "lower"
            } else {
                "higher"
            },
        );
    }
}

fn median_of(values: &[f64]) -> f64 {
    let durations: Vec<Duration> = values.iter().map(|&v| Duration::from_secs_f64(v)).collect();
    median(&durations).map_or(f64::NAN, |d| d.as_secs_f64())
}

/// Benchmark 1: dial + 1-byte echo over a linkem path, child processes in two namespaces.
async fn establish(plan: &Plan, delay_ms: u64) -> anyhow::Result<(Vec<Row>, Value)> {
    let (link, rtt_ms) = start_link(delay_ms).await?;
    let ip = link.addr_b().to_string();
    // [transport][stack] median in ms.
    let mut medians = [[0.0; 2]; 2];
    let mut value = serde_json::Map::new();
    value.insert("rtt_ms".into(), json!(rtt_ms));
    for (s, stack) in STACKS.into_iter().enumerate() {
        let server = spawn_server(stack, &ip, Some(link.namespace_b()), MAX_STREAMS).await?;
        for (t, (transport, addr)) in [("tcp", &server.tcp), ("quic", &server.quic)]
            .into_iter()
            .enumerate()
        {
            eprintln!(
                "establish: {} {transport} ({} reps)",
                stack.arg(),
                plan.dial_reps
            );
            let reps = plan.dial_reps.to_string();
            let output = self_command(
                Some(link.namespace_a()),
                &[
                    "dial",
                    "--stack",
                    stack.arg(),
                    "--addr",
                    addr,
                    "--reps",
                    &reps,
                ],
            )?
            .stdin(Stdio::null())
            .output()
            .await?;
            ensure!(
                output.status.success(),
                "dial {} {transport} failed: {}",
                stack.arg(),
                String::from_utf8_lossy(&output.stderr)
            );
            let line: Value = serde_json::from_slice(&output.stdout)?;
            let samples: Vec<f64> = line["samples_ms"]
                .as_array()
                .context("no samples")?
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            let secs: Vec<f64> = samples.iter().map(|ms| ms / 1e3).collect();
            medians[t][s] = median_of(&secs) * 1e3;
            value.insert(
                format!("{}_{transport}", stack.arg().replace('-', "_")),
                json!({ "median_ms": medians[t][s], "rtts": medians[t][s] / rtt_ms, "samples_ms": samples }),
            );
        }
        server.stop().await?;
    }
    drop(link);
    let rows = ["TCP + Noise + Yamux", "QUIC"]
        .iter()
        .enumerate()
        .map(|(t, transport)| Row {
            name: format!("connect + 1-byte echo, {transport}, {rtt_ms:.0} ms RTT path"),
            unit: "ms",
            lower_is_better: true,
            hyphae: medians[t][0],
            rust_libp2p: medians[t][1],
            notes: [rtts(medians[t][0], rtt_ms), rtts(medians[t][1], rtt_ms)],
        })
        .collect();
    Ok((rows, Value::Object(value)))
}

/// A linkem path of `delay_ms` each way, and its round-trip time in ms.
async fn start_link(delay_ms: u64) -> anyhow::Result<(hyphae_linkem::Link, f64)> {
    let delay = Duration::from_millis(delay_ms);
    let link = tokio::task::spawn_blocking(move || {
        hyphae_linkem::Link::builder()
            .delay(delay)
            .prefix("cb")
            .start()
    })
    .await??;
    Ok((link, 2.0 * delay.as_secs_f64() * 1e3))
}

/// Benchmark 6: echo round trips on a TCP + Noise + Yamux connection over the linkem path,
/// idle and while another stream of it uploads, from a child process in namespace A.
///
/// Whatever the sender buffers below the multiplexer (its socket's unsent bytes, its
/// session's queue) is data the round trip's frames wait behind. Both ends run with the
/// stacks' default stream limit ([`DEFAULT_STREAMS`]), so that rust-libp2p's upload stream
/// can grow its window and fill the path.
async fn loaded(plan: &Plan, delay_ms: u64) -> anyhow::Result<(Row, Value)> {
    let (link, rtt_ms) = start_link(delay_ms).await?;
    let ip = link.addr_b().to_string();
    // Per stack: median idle RTT, median loaded RTT, upload rate meanwhile.
    let mut medians = [(0.0, 0.0, 0.0); 2];
    let mut value = serde_json::Map::new();
    value.insert("rtt_ms".into(), json!(rtt_ms));
    for (s, stack) in STACKS.into_iter().enumerate() {
        eprintln!(
            "loaded: {} ({} round trips)",
            stack.arg(),
            plan.loaded_pings
        );
        let server = spawn_server(stack, &ip, Some(link.namespace_b()), DEFAULT_STREAMS).await?;
        let pings = plan.loaded_pings.to_string();
        let output = self_command(
            Some(link.namespace_a()),
            &[
                "loaded",
                "--stack",
                stack.arg(),
                "--addr",
                &server.tcp,
                "--pings",
                &pings,
            ],
        )?
        .stdin(Stdio::null())
        .output()
        .await?;
        server.stop().await?;
        ensure!(
            output.status.success(),
            "loaded {} failed: {}",
            stack.arg(),
            String::from_utf8_lossy(&output.stderr)
        );
        let line: Value = serde_json::from_slice(&output.stdout)?;
        let samples = |key: &str| -> anyhow::Result<Vec<f64>> {
            Ok(line[key]
                .as_array()
                .with_context(|| format!("no {key}"))?
                .iter()
                .filter_map(Value::as_f64)
                .collect())
        };
        let (idle, loaded) = (samples("idle_ms")?, samples("loaded_ms")?);
        let median_ms =
            |ms: &[f64]| median_of(&ms.iter().map(|v| v / 1e3).collect::<Vec<_>>()) * 1e3;
        let upload_gbps = line["upload_gbps"].as_f64().context("no upload rate")?;
        medians[s] = (median_ms(&idle), median_ms(&loaded), upload_gbps);
        value.insert(
            stack.arg().replace('-', "_"),
            json!({
                "idle_median_ms": medians[s].0,
                "loaded_median_ms": medians[s].1,
                "upload_gbps": upload_gbps,
                "idle_ms": idle,
                "loaded_ms": loaded,
            }),
        );
    }
    drop(link);
    let row = Row {
        name: format!(
            "32-byte echo RTT while another stream uploads, TCP + Noise + Yamux, {rtt_ms:.0} ms RTT path, median of {}",
            plan.loaded_pings
        ),
        unit: "ms",
        lower_is_better: true,
        hyphae: medians[0].1,
        rust_libp2p: medians[1].1,
        notes: medians.map(|(idle, _, gbps)| format!("idle {idle:.1} ms; upload {gbps:.2} Gbit/s")),
    };
    Ok((row, Value::Object(value)))
}

/// `ms` in round trips of `rtt_ms`, for the table (nothing on a path without delay).
fn rtts(ms: f64, rtt_ms: f64) -> String {
    if rtt_ms > 0.0 {
        format!("{:.2} RTT", ms / rtt_ms)
    } else {
        String::new()
    }
}

/// What benchmark 2's clients connect over.
#[derive(Clone, Copy, Debug)]
enum HandshakeTransport {
    Tcp,
    Quic,
}

impl HandshakeTransport {
    fn describe(self) -> &'static str {
        match self {
            HandshakeTransport::Tcp => "TCP + Noise + Yamux",
            HandshakeTransport::Quic => "QUIC",
        }
    }
}

/// Benchmark 2: clients in this process reconnect to a listener process for some seconds.
/// Each repetition also records the CPU time both ends spent per handshake (this process
/// for the clients, /proc for the listener).
async fn handshakes(plan: &Plan, transport: HandshakeTransport) -> anyhow::Result<(Row, Value)> {
    let mut rates = [Vec::new(), Vec::new()];
    let mut cpu_us = [Vec::new(), Vec::new()];
    let mut value = serde_json::Map::new();
    for rep in 0..plan.handshake_reps {
        for (s, stack) in STACKS.into_iter().enumerate() {
            eprintln!("handshakes: {} {transport:?} rep {rep}", stack.arg());
            let server = spawn_server(stack, "127.0.0.1", None, MAX_STREAMS).await?;
            let addr = match transport {
                HandshakeTransport::Tcp => &server.tcp,
                HandshakeTransport::Quic => &server.quic,
            };
            let addr = without_p2p(addr).to_owned();
            let seconds = plan.handshake_seconds;
            let tasks: Vec<_> = (0..plan.handshake_clients)
                .map(|_| {
                    let addr = addr.clone();
                    tokio::spawn(async move {
                        let node = AnyNode::start(stack, &[], MAX_STREAMS).await?;
                        let deadline = Instant::now() + Duration::from_secs_f64(seconds);
                        let mut done = 0u64;
                        while Instant::now() < deadline {
                            let (peer, _) = node.connect_and_echo(&addr).await?;
                            node.disconnect(peer).await;
                            done += 1;
                        }
                        node.shutdown().await;
                        anyhow::Ok(done)
                    })
                })
                .collect();
            let start = Instant::now();
            let server_pid = server.pid()?;
            let cpu_before = cpu_time(std::process::id())? + cpu_time(server_pid)?;
            let mut total = 0;
            for task in futures::future::join_all(tasks).await {
                total += task??;
            }
            let rate = total as f64 / start.elapsed().as_secs_f64();
            rates[s].push(rate);
            let cpu = cpu_time(std::process::id())? + cpu_time(server_pid)? - cpu_before;
            cpu_us[s].push(cpu.as_secs_f64() * 1e6 / total.max(1) as f64);
            server.stop().await?;
        }
    }
    let medians = [median_rate(&rates[0]), median_rate(&rates[1])];
    value.insert("clients".into(), json!(plan.handshake_clients));
    value.insert("seconds".into(), json!(plan.handshake_seconds));
    value.insert("hyphae_per_s".into(), json!(rates[0]));
    value.insert("rust_libp2p_per_s".into(), json!(rates[1]));
    value.insert("hyphae_cpu_us_per_handshake".into(), json!(cpu_us[0]));
    value.insert("rust_libp2p_cpu_us_per_handshake".into(), json!(cpu_us[1]));
    let row = Row {
        name: format!(
            "handshakes/s, loopback, {} clients ({}, connect + 1-byte echo + close)",
            plan.handshake_clients,
            transport.describe()
        ),
        unit: "/s",
        lower_is_better: false,
        hyphae: medians[0],
        rust_libp2p: medians[1],
        notes: [0, 1].map(|s| format!("{:.0} µs CPU each", median_rate(&cpu_us[s]))),
    };
    Ok((row, Value::Object(value)))
}

fn median_rate(rates: &[f64]) -> f64 {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Two nodes of `stack` in this process, connected over loopback TCP.
async fn connected_pair(stack: Stack) -> anyhow::Result<(AnyNode, AnyNode, Peer)> {
    let server = AnyNode::start(stack, &["/ip4/127.0.0.1/tcp/0".parse()?], MAX_STREAMS).await?;
    let client = AnyNode::start(stack, &[], MAX_STREAMS).await?;
    let addr = server
        .listen_addrs()
        .into_iter()
        .next()
        .context("server listens nowhere")?;
    let peer = client.dial(&addr).await?;
    Ok((server, client, peer))
}

/// Benchmark 3: ping-sized round trips on an open stream of an established connection,
/// in batches that alternate between the stacks.
async fn ping(plan: &Plan) -> anyhow::Result<(Row, Value)> {
    let mut samples = [Vec::new(), Vec::new()];
    let mut pairs = Vec::new();
    for stack in STACKS {
        let (server, client, peer) = connected_pair(stack)
            .await
            .with_context(|| format!("{} pair", stack.arg()))?;
        // Warm up the stream and the connection's windows first.
        client
            .pings(peer, 20)
            .await
            .with_context(|| format!("{} warm-up pings", stack.arg()))?;
        pairs.push((server, client, peer));
    }
    for rep in 0..plan.ping_reps {
        for (s, stack) in STACKS.into_iter().enumerate() {
            eprintln!(
                "ping: {} rep {rep} ({} round trips)",
                stack.arg(),
                plan.pings
            );
            let (_, client, peer) = &pairs[s];
            samples[s].extend(
                client
                    .pings(*peer, plan.pings)
                    .await
                    .with_context(|| format!("{} pings", stack.arg()))?,
            );
        }
    }
    for (server, client, _) in pairs {
        client.shutdown().await;
        server.shutdown().await;
    }
    let micros = |samples: &[Duration]| median(samples).map_or(f64::NAN, |m| m.as_secs_f64() * 1e6);
    let medians = [micros(&samples[0]), micros(&samples[1])];
    let count = plan.pings * plan.ping_reps;
    let value = json!({ "count": count, "hyphae_us": medians[0], "rust_libp2p_us": medians[1] });
    let row = Row {
        name: format!("ping-sized (32 B) echo RTT on an open stream, loopback, median of {count}"),
        unit: "µs",
        lower_is_better: true,
        hyphae: medians[0],
        rust_libp2p: medians[1],
        notes: Default::default(),
    };
    Ok((row, value))
}

/// Benchmark 4: many concurrent uploads on one connection, to a listener in a child process.
///
/// Besides the aggregate rate, each repetition records the CPU time both ends spent (this
/// process for the uploading node, /proc for the listener): on 2 shared cores the rate
/// mostly reflects the work per byte, and this says where it goes.
async fn streams(plan: &Plan) -> anyhow::Result<(Row, Value)> {
    let mut times = [Vec::new(), Vec::new()];
    let mut client_cpu = [Vec::new(), Vec::new()];
    let mut server_cpu = [Vec::new(), Vec::new()];
    let mut ends = Vec::new();
    for stack in STACKS {
        let server = spawn_server(stack, "127.0.0.1", None, MAX_STREAMS).await?;
        let client = AnyNode::start(stack, &[], MAX_STREAMS).await?;
        let peer = client
            .dial(&server.tcp)
            .await
            .with_context(|| format!("{} dial", stack.arg()))?;
        ends.push((server, client, peer));
    }
    for rep in 0..plan.stream_reps {
        for (s, stack) in STACKS.into_iter().enumerate() {
            eprintln!(
                "streams: {} rep {rep}: {} × {} KiB",
                stack.arg(),
                plan.streams,
                plan.stream_bytes >> 10
            );
            let (server, client, peer) = &ends[s];
            let server_pid = server.pid()?;
            let cpu_before = (cpu_time(std::process::id())?, cpu_time(server_pid)?);
            let time = client
                .concurrent_uploads(*peer, plan.streams, plan.stream_bytes)
                .await
                .with_context(|| format!("{} uploads", stack.arg()))?;
            times[s].push(time.as_secs_f64());
            client_cpu[s].push((cpu_time(std::process::id())? - cpu_before.0).as_secs_f64());
            server_cpu[s].push((cpu_time(server_pid)? - cpu_before.1).as_secs_f64());
        }
    }
    for (server, client, _) in ends {
        client.shutdown().await;
        server.stop().await?;
    }
    let total_bytes = plan.streams as u64 * plan.stream_bytes;
    let gbits = |times: &[f64]| (total_bytes * 8) as f64 / median_of(times) / 1e9;
    // CPU seconds per GiB moved, both ends together.
    let cpu_per_gib = |s: usize| {
        let both: Vec<f64> = client_cpu[s]
            .iter()
            .zip(&server_cpu[s])
            .map(|(client, server)| (client + server) * (1u64 << 30) as f64 / total_bytes as f64)
            .collect();
        median_of(&both)
    };
    let value = json!({
        "streams": plan.streams,
        "bytes_per_stream": plan.stream_bytes,
        "hyphae_seconds": times[0],
        "rust_libp2p_seconds": times[1],
        "hyphae_client_cpu_seconds": client_cpu[0],
        "hyphae_server_cpu_seconds": server_cpu[0],
        "rust_libp2p_client_cpu_seconds": client_cpu[1],
        "rust_libp2p_server_cpu_seconds": server_cpu[1],
    });
    let row = Row {
        name: format!(
            "{} concurrent streams × {} KiB upload on one connection, loopback, aggregate",
            plan.streams,
            plan.stream_bytes >> 10
        ),
        unit: "Gbit/s",
        lower_is_better: false,
        hyphae: gbits(&times[0]),
        rust_libp2p: gbits(&times[1]),
        notes: [0, 1].map(|s| format!("{:.2} CPU s/GiB", cpu_per_gib(s))),
    };
    Ok((row, value))
}

/// How many sockets process `pid` has open: checks that the connections are really there.
fn socket_count(pid: u32) -> anyhow::Result<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        if std::fs::read_link(entry?.path())?
            .to_string_lossy()
            .starts_with("socket:")
        {
            count += 1;
        }
    }
    Ok(count)
}

/// Benchmark 5: RSS of a listener process before and after 1000 idle connections.
async fn memory(plan: &Plan) -> anyhow::Result<(Row, Value)> {
    let mut per_connection = [Vec::new(), Vec::new()];
    let mut value = serde_json::Map::new();
    let settle = Duration::from_secs(2);
    for rep in 0..plan.memory_reps {
        for (s, stack) in STACKS.into_iter().enumerate() {
            eprintln!(
                "memory: {} rep {rep}: {} idle connections",
                stack.arg(),
                plan.idle_connections
            );
            let server = spawn_server(stack, "127.0.0.1", None, MAX_STREAMS).await?;
            tokio::time::sleep(settle).await;
            let before = rss_kib(server.pid()?)?;
            let count = plan.idle_connections.to_string();
            let mut clients = self_command(
                None,
                &[
                    "clients",
                    "--stack",
                    stack.arg(),
                    "--addr",
                    &server.tcp,
                    "--count",
                    &count,
                ],
            )?
            .spawn()?;
            let line = stdout_lines(&mut clients)?
                .next_line()
                .await?
                .context("clients exited early")?;
            ensure!(line == format!("ready {count}"), "clients said {line:?}");
            tokio::time::sleep(settle).await;
            let after = rss_kib(server.pid()?)?;
            let sockets = socket_count(server.pid()?)?;
            ensure!(
                sockets >= plan.idle_connections,
                "the listener holds only {sockets} sockets"
            );
            drop(clients.stdin.take());
            let _ = tokio::time::timeout(Duration::from_secs(10), clients.wait()).await;
            server.stop().await?;
            let kib = (after as f64 - before as f64) / plan.idle_connections as f64;
            per_connection[s].push(kib);
            value.insert(
                format!("{}_rep{rep}", stack.arg().replace('-', "_")),
                json!({
                    "rss_before_kib": before,
                    "rss_after_kib": after,
                    "kib_per_connection": kib,
                    "listener_sockets": sockets,
                }),
            );
        }
    }
    value.insert("connections".into(), json!(plan.idle_connections));
    let row = Row {
        name: format!(
            "listener RSS per idle connection ({} connections, TCP + Noise + Yamux)",
            plan.idle_connections
        ),
        unit: "KiB",
        lower_is_better: true,
        hyphae: median_rate(&per_connection[0]),
        rust_libp2p: median_rate(&per_connection[1]),
        notes: Default::default(),
    };
    Ok((row, Value::Object(value)))
}
