//! Single-stream throughput, in one run: hyphae beside rust-libp2p 0.57 (each over TCP +
//! Noise + Yamux, TCP + TLS + Yamux and QUIC) and raw TCP, all with the perf protocol, on
//! loopback in this process (plus one core's AEAD seal rate) or over a 60 ms path.
//!
//! `cargo run --release -p hyphae-benches --bin throughput [-- --bytes N --reps K --json PATH]`
//! (`--stack hyphae|rust-libp2p|rust-libp2p-matched|raw-tcp` and `--transport
//! tcp-noise|tcp-tls|quic`, each repeatable, measure only those: handy under a profiler).
//! `rust-libp2p-matched` is rust-libp2p over QUIC given hyphae's windows and packet size (the
//! like-for-like row; see [`hyphae_benches::QuicSettings`]).
//!
//! `--path processes` measures the perf programs users run, on loopback: a server process
//! per stack and one client process per transfer, `hyphae perf`, `rust-libp2p-perf` and
//! `raw-tcp-perf` (each on its own multi-threaded tokio runtime), looked up in `--bin-dir`
//! (default: this binary's directory, so `cargo build --release -p hyphae-cli -p
//! hyphae-benches` first). `--path wan` runs the same programs across two network
//! namespaces joined by `hyphae-linkem` (`--delay-ms` each way, 30 by default,
//! `--loss-percent` each way, none by default, TCP buffer maxima of `--tcp-buffer-mib` in
//! both namespaces, 128 by default; root needed). On both the perf contract's time includes connection setup, so each figure is
//! `bytes / (median time − median time of an empty exchange)`: the transfer alone; the
//! table also gives the contract's figures.
//!
//! Each figure is the median of K repetitions; repetitions interleave the stacks so that
//! noise on the shared machine falls on all of them alike. Results go to stdout as a
//! markdown table, progress to stderr.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use hyphae_benches::crypto::{self, Cipher};
use hyphae_benches::perf_path::{PerfPath, Stack, WAN_TCP_BUFFER_MAX, WanConditions};
use hyphae_benches::process::MachineCpu;
use hyphae_benches::stats::{bits_per_second, median, paired_speedup};
use hyphae_benches::{EndThread, HyphaePair, QuicSettings, RawTcpPair, RustLibp2pPair, Transport};
use hyphae_perf::Params;
use serde_json::json;
use tokio::runtime::Handle;

/// Single-stream throughput of hyphae, rust-libp2p and raw TCP.
#[derive(Parser, Clone)]
struct Args {
    /// Bytes per transfer (each upload, each download, each seal run) [default: 1 GiB on
    /// loopback, 256 MiB on the wan path].
    #[arg(long)]
    bytes: Option<u64>,
    /// Repetitions per figure; the median is reported.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Measure only these stacks (repeat the flag; default: all).
    #[arg(long = "stack", value_enum)]
    stacks: Vec<Stack>,
    /// Measure hyphae and rust-libp2p only over these (repeat the flag; default: all).
    #[arg(long = "transport", value_enum)]
    transports: Vec<Transport>,
    /// Where the bytes go.
    #[arg(long, value_enum, default_value_t = NetPath::Loopback)]
    path: NetPath,
    /// One-way delay of the wan path, in milliseconds.
    #[arg(long, default_value_t = 30)]
    delay_ms: u64,
    /// Packet loss of the wan path in percent, in each direction (0.1 drops one packet in
    /// a thousand).
    #[arg(long, default_value_t = 0.0, value_parser = parse_loss_percent)]
    loss_percent: f64,
    /// TCP buffer maxima (`net.ipv4.tcp_rmem` / `tcp_wmem`) in the wan path's namespaces,
    /// in MiB.
    #[arg(long, default_value_t = WAN_TCP_BUFFER_MAX >> 20)]
    tcp_buffer_mib: usize,
    /// Bottleneck rate of the wan path in Mbit/s, in each direction, with a drop-tail
    /// queue of one bandwidth-delay product (0: no limit). It counts the IP bytes of the
    /// 64 KiB super-packets linkem forwards.
    #[arg(long, default_value_t = 0)]
    rate_mbit: u64,
    /// Where the processes and wan paths find `hyphae`, `rust-libp2p-perf` and
    /// `raw-tcp-perf`.
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

impl Args {
    /// The wan path these arguments ask for.
    fn wan(&self) -> WanConditions {
        WanConditions {
            loss: self.loss_percent / 100.0,
            tcp_buffer_max: self.tcp_buffer_mib << 20,
            rate: (self.rate_mbit > 0).then(|| self.rate_mbit.saturating_mul(1_000_000) / 8),
            ..WanConditions::new(Duration::from_millis(self.delay_ms))
        }
    }

    /// The wan path's rate limit, for headings.
    fn rate_label(&self) -> String {
        match self.rate_mbit {
            0 => "no rate limit".to_owned(),
            mbit => format!("{mbit} Mbit/s bottleneck"),
        }
    }
}

/// A loss percentage: a number from 0 to 100.
fn parse_loss_percent(text: &str) -> Result<f64, String> {
    let percent: f64 = text.parse().map_err(|error| format!("{error}"))?;
    if (0.0..=100.0).contains(&percent) {
        Ok(percent)
    } else {
        Err(format!("{percent} is not a percentage from 0 to 100"))
    }
}

/// Where the bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum NetPath {
    /// Loopback, both ends in this process.
    Loopback,
    /// Loopback, each end a perf program in its own process.
    Processes,
    /// Two namespaces joined by linkem, each end a perf program in its own process.
    Wan,
}

/// One row of the table: a stack over a transport (raw TCP has none).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Row {
    stack: Stack,
    transport: Option<Transport>,
}

impl Row {
    fn name(self) -> String {
        let stack = match self.stack {
            Stack::Hyphae => "hyphae",
            Stack::RustLibp2p => "rust-libp2p 0.57",
            Stack::RustLibp2pMatched => "rust-libp2p 0.57 with hyphae's QUIC windows",
            Stack::RawTcp => "raw TCP",
        };
        match self.transport {
            Some(transport) => format!("{stack} ({transport})"),
            None => stack.to_owned(),
        }
    }

    fn key(self) -> String {
        let stack = match self.stack {
            Stack::Hyphae => "hyphae",
            Stack::RustLibp2p => "rust_libp2p",
            Stack::RustLibp2pMatched => "rust_libp2p_matched",
            Stack::RawTcp => "raw_tcp",
        };
        match self.transport {
            Some(transport) => format!("{stack}/{}", transport.key()),
            None => stack.to_owned(),
        }
    }
}

/// The rows the arguments select, in table order.
fn rows(args: &Args) -> Vec<Row> {
    let stacks = [
        Stack::Hyphae,
        Stack::RustLibp2p,
        Stack::RustLibp2pMatched,
        Stack::RawTcp,
    ]
    .into_iter()
    .filter(|stack| args.stacks.is_empty() || args.stacks.contains(stack));
    let transports: Vec<Transport> = Transport::ALL
        .into_iter()
        .filter(|t| args.transports.is_empty() || args.transports.contains(t))
        .collect();
    let mut rows = Vec::new();
    for stack in stacks {
        if stack == Stack::RawTcp {
            rows.push(Row {
                stack,
                transport: None,
            });
        } else if stack == Stack::RustLibp2pMatched {
            // Its settings differ from rust-libp2p's only over QUIC.
            if transports.contains(&Transport::Quic) {
                rows.push(Row {
                    stack,
                    transport: Some(Transport::Quic),
                });
            }
        } else {
            rows.extend(transports.iter().map(|&transport| Row {
                stack,
                transport: Some(transport),
            }));
        }
    }
    rows
}

/// A stack under test on loopback.
enum Pair {
    Hyphae(HyphaePair),
    RustLibp2p(RustLibp2pPair),
    RawTcp(RawTcpPair),
}

impl Pair {
    /// Starts the pair, its server's tasks on `server`.
    async fn start(row: Row, server: &Handle) -> anyhow::Result<Pair> {
        let transport = row.transport.unwrap_or(Transport::TcpNoise);
        Ok(match row.stack {
            Stack::Hyphae => {
                Pair::Hyphae(HyphaePair::start_with_server_on(transport, server).await?)
            }
            Stack::RustLibp2p => {
                Pair::RustLibp2p(RustLibp2pPair::start_with_server_on(transport, server).await?)
            }
            Stack::RustLibp2pMatched => Pair::RustLibp2p(
                RustLibp2pPair::start_with(transport, server, QuicSettings::Matched).await?,
            ),
            Stack::RawTcp => Pair::RawTcp(RawTcpPair::start_with_server_on(server).await?),
        })
    }

    async fn perf(&mut self, params: Params) -> anyhow::Result<Duration> {
        match self {
            Pair::Hyphae(pair) => pair.perf(params).await,
            Pair::RustLibp2p(pair) => pair.perf(params).await,
            Pair::RawTcp(pair) => pair.perf(params).await,
        }
    }

    async fn shutdown(self) {
        match self {
            Pair::Hyphae(pair) => pair.shutdown().await,
            Pair::RustLibp2p(pair) => pair.shutdown(),
            Pair::RawTcp(pair) => pair.shutdown(),
        }
    }
}

/// The samples of one row.
struct Measured {
    row: Row,
    upload: Vec<Duration>,
    download: Vec<Duration>,
    /// Paths between processes: empty exchanges, the connection setup and one round trip.
    empty: Vec<Duration>,
    /// Paths between processes: how busy the machine's CPUs were during each transfer (0 to
    /// 1), to tell a path bound by the CPU from one bound by the link.
    upload_busy: Vec<f64>,
    download_busy: Vec<f64>,
}

impl Measured {
    fn new(row: Row) -> Measured {
        Measured {
            row,
            upload: Vec::new(),
            download: Vec::new(),
            empty: Vec::new(),
            upload_busy: Vec::new(),
            download_busy: Vec::new(),
        }
    }

    fn log(&self, rep: usize, reps: usize, bytes: u64) {
        let (Some(up), Some(down)) = (self.upload.last(), self.download.last()) else {
            return;
        };
        let busy = match (self.upload_busy.last(), self.download_busy.last()) {
            (Some(up), Some(down)) => {
                format!("  (CPUs busy {:.0} % / {:.0} %)", 100.0 * up, 100.0 * down)
            }
            _ => String::new(),
        };
        eprintln!(
            "rep {rep}/{reps}: {:<40} up {}  down {}{busy}",
            self.row.name(),
            gbits(bits_per_second(bytes, *up)),
            gbits(bits_per_second(bytes, *down)),
        );
    }
}

fn upload(bytes: u64) -> Params {
    Params {
        upload_bytes: bytes,
        download_bytes: 0,
    }
}

fn download(bytes: u64) -> Params {
    Params {
        upload_bytes: 0,
        download_bytes: bytes,
    }
}

async fn measure_loopback(
    args: &Args,
    bytes: u64,
    server: &Handle,
) -> anyhow::Result<Vec<Measured>> {
    let mut pairs = Vec::new();
    for row in rows(args) {
        let pair = Pair::start(row, server)
            .await
            .with_context(|| format!("starting {}", row.name()))?;
        pairs.push((row, pair));
    }
    let mut measured: Vec<Measured> = pairs.iter().map(|(row, _)| Measured::new(*row)).collect();
    // Warm up: connections, windows and allocators reach their steady state.
    let warm_up = bytes.min(64 << 20);
    for (row, pair) in &mut pairs {
        for params in [upload(warm_up), download(warm_up)] {
            pair.perf(params)
                .await
                .with_context(|| format!("{} perf {params:?}", row.name()))?;
        }
    }
    for rep in 1..=args.reps {
        for ((row, pair), measured) in pairs.iter_mut().zip(&mut measured) {
            let context = || format!("{} perf", row.name());
            measured
                .upload
                .push(pair.perf(upload(bytes)).await.with_context(context)?);
            measured
                .download
                .push(pair.perf(download(bytes)).await.with_context(context)?);
            measured.log(rep, args.reps, bytes);
        }
    }
    for (_, pair) in pairs {
        pair.shutdown().await;
    }
    Ok(measured)
}

fn measure_processes(args: &Args, bytes: u64) -> anyhow::Result<Vec<Measured>> {
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("this binary has no directory")?
            .to_owned(),
    };
    let rows = rows(args);
    let mut stacks: Vec<Stack> = Vec::new();
    for row in &rows {
        if !stacks.contains(&row.stack) {
            stacks.push(row.stack);
        }
    }
    let path = match args.path {
        NetPath::Wan => PerfPath::linked(&args.wan(), &bin_dir, &stacks)?,
        _ => PerfPath::loopback(&bin_dir, &stacks)?,
    };
    if let Some((ns_a, ns_b)) = path.namespaces() {
        eprintln!(
            "link up: {ns_a} <-> {ns_b}, {} ms and {}% loss each way, {}, TCP buffers up to {} MiB",
            args.delay_ms,
            args.loss_percent,
            args.rate_label(),
            args.tcp_buffer_mib
        );
    }
    let mut measured: Vec<Measured> = rows.iter().map(|row| Measured::new(*row)).collect();
    let empty = Params {
        upload_bytes: 0,
        download_bytes: 0,
    };
    for rep in 1..=args.reps {
        for measured in &mut measured {
            let row = measured.row;
            let transport = row.transport.unwrap_or(Transport::TcpNoise);
            let context = || format!("{} perf", row.name());
            measured.empty.push(
                path.perf(row.stack, transport, empty)
                    .with_context(context)?,
            );
            let before = MachineCpu::now()?;
            measured.upload.push(
                path.perf(row.stack, transport, upload(bytes))
                    .with_context(context)?,
            );
            let between = MachineCpu::now()?;
            measured.download.push(
                path.perf(row.stack, transport, download(bytes))
                    .with_context(context)?,
            );
            let after = MachineCpu::now()?;
            measured.upload_busy.push(between.busy_since(&before));
            measured.download_busy.push(after.busy_since(&between));
            measured.log(rep, args.reps, bytes);
        }
    }
    drop(path);
    Ok(measured)
}

fn measure_crypto(args: &Args, bytes: u64) -> anyhow::Result<Vec<(Cipher, Vec<Duration>)>> {
    let mut results = Vec::new();
    for cipher in Cipher::ALL {
        let mut samples = Vec::new();
        for _ in 0..args.reps {
            samples.push(crypto::seal(cipher, bytes)?);
        }
        eprintln!(
            "{}: {}",
            cipher.name(),
            gbits(rate(crypto::sealed_bytes(bytes), &samples)?)
        );
        results.push((cipher, samples));
    }
    Ok(results)
}

fn gbits(bits_per_second: f64) -> String {
    format!("{:.2} Gbit/s", bits_per_second / 1e9)
}

/// The median rate of `samples` that each moved `bytes`.
fn rate(bytes: u64, samples: &[Duration]) -> anyhow::Result<f64> {
    Ok(bits_per_second(
        bytes,
        median(samples).context("no samples")?,
    ))
}

/// The median rate of `samples` that each moved `bytes` after an overhead whose median
/// `empty` gives: the transfer alone.
fn net_rate(bytes: u64, samples: &[Duration], empty: &[Duration]) -> anyhow::Result<f64> {
    let total = median(samples).context("no samples")?;
    let overhead = median(empty).context("no empty exchanges")?;
    let net = total
        .checked_sub(overhead)
        .filter(|net| !net.is_zero())
        .context("a transfer took no longer than an empty exchange")?;
    Ok(bits_per_second(bytes, net))
}

fn secs(samples: &[Duration]) -> Vec<f64> {
    samples.iter().map(Duration::as_secs_f64).collect()
}

/// The rates of one row: (upload, download), and on the wan path the contract's too.
struct Rates {
    up: f64,
    down: f64,
    contract: Option<(f64, f64)>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bytes = args.bytes.unwrap_or(match args.path {
        NetPath::Loopback | NetPath::Processes => 1 << 30,
        NetPath::Wan => 256 << 20,
    });
    anyhow::ensure!(
        args.reps > 0 && bytes > 0,
        "--bytes and --reps must be positive"
    );
    let (network, crypto) = match args.path {
        NetPath::Loopback => {
            // One thread per end: the clients here, the servers on their own thread.
            let server = EndThread::start()?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            // The clients run in a task like the servers' handlers, not in `block_on`'s own
            // future, which tokio polls only between batches of tasks: a reader there falls
            // behind its connection's task and data piles up to the window.
            let task_args = args.clone();
            let server_handle = server.handle().clone();
            let network = runtime.block_on(async move {
                tokio::spawn(
                    async move { measure_loopback(&task_args, bytes, &server_handle).await },
                )
                .await
            })??;
            drop(runtime);
            drop(server);
            (network, measure_crypto(&args, bytes)?)
        }
        NetPath::Processes | NetPath::Wan => (measure_processes(&args, bytes)?, Vec::new()),
    };

    let rates = network
        .iter()
        .map(|m| {
            Ok(if m.empty.is_empty() {
                Rates {
                    up: rate(bytes, &m.upload)?,
                    down: rate(bytes, &m.download)?,
                    contract: None,
                }
            } else {
                Rates {
                    up: net_rate(bytes, &m.upload, &m.empty)?,
                    down: net_rate(bytes, &m.download, &m.empty)?,
                    contract: Some((rate(bytes, &m.upload)?, rate(bytes, &m.download)?)),
                }
            })
        })
        .collect::<anyhow::Result<Vec<Rates>>>()?;
    let rate_of = |stack: Stack, transport: Option<Transport>| {
        network
            .iter()
            .zip(&rates)
            .find(|(m, _)| m.row.stack == stack && m.row.transport == transport)
            .map(|(_, rates)| (rates.up, rates.down))
    };
    let measured_of = |stack: Stack, transport: Option<Transport>| {
        network
            .iter()
            .find(|m| m.row.stack == stack && m.row.transport == transport)
    };
    let mut ratios = Vec::new();
    for transport in Transport::ALL {
        let Some(hyphae) = rate_of(Stack::Hyphae, Some(transport)) else {
            continue;
        };
        for (over, other) in [
            ("rust-libp2p", rate_of(Stack::RustLibp2p, Some(transport))),
            (
                "rust-libp2p with hyphae's QUIC windows",
                rate_of(Stack::RustLibp2pMatched, Some(transport)),
            ),
            ("raw TCP", rate_of(Stack::RawTcp, None)),
        ] {
            if let Some(other) = other {
                ratios.push((
                    format!("hyphae / {over} ({transport})"),
                    hyphae.0 / other.0,
                    hyphae.1 / other.1,
                ));
            }
        }
        // On loopback the host's slow moments move both stacks of one repetition: the
        // median of per-repetition ratios sees past them better than the ratio of medians.
        if args.path != NetPath::Wan
            && let (Some(ours), Some(theirs)) = (
                measured_of(Stack::Hyphae, Some(transport)),
                measured_of(Stack::RustLibp2p, Some(transport)),
            )
            && let (Some(up), Some(down)) = (
                paired_speedup(&ours.upload, &theirs.upload),
                paired_speedup(&ours.download, &theirs.download),
            )
        {
            ratios.push((
                format!("hyphae / rust-libp2p ({transport}), median of per-repetition ratios"),
                up,
                down,
            ));
        }
    }

    match args.path {
        NetPath::Loopback => {
            println!(
                "Single-stream throughput on loopback: {bytes} bytes per transfer, median of {} (each end on its own thread, a current-thread tokio runtime)\n",
                args.reps,
            );
            println!("| | upload | download |");
            println!("|---|---:|---:|");
        }
        NetPath::Processes | NetPath::Wan => {
            if args.path == NetPath::Processes {
                println!(
                    "Single-stream throughput on loopback between perf programs (`hyphae perf`, `rust-libp2p-perf`, `raw-tcp-perf`, a process per end): {bytes} bytes per transfer, median of {}; transfer alone (contract time incl. connection setup in the last columns)\n",
                    args.reps,
                );
            } else {
                let loss = if args.loss_percent > 0.0 {
                    format!("{}% loss each way", args.loss_percent)
                } else {
                    "no loss".to_owned()
                };
                println!(
                    "Single-stream throughput over linkem, {} ms RTT, {loss}, {}, TCP buffers up to {} MiB: {bytes} bytes per transfer, median of {}; transfer alone (contract time incl. connection setup in the last columns)\n",
                    2 * args.delay_ms,
                    args.rate_label(),
                    args.tcp_buffer_mib,
                    args.reps,
                );
            }
            println!(
                "| | upload | download | setup + 1 RTT | upload (contract) | download (contract) |"
            );
            println!("|---|---:|---:|---:|---:|---:|");
        }
    }
    for (measured, rates) in network.iter().zip(&rates) {
        match rates.contract {
            None => println!(
                "| {} | {} | {} |",
                measured.row.name(),
                gbits(rates.up),
                gbits(rates.down)
            ),
            Some((up, down)) => println!(
                "| {} | {} | {} | {:.0} ms | {} | {} |",
                measured.row.name(),
                gbits(rates.up),
                gbits(rates.down),
                median(&measured.empty).unwrap_or_default().as_secs_f64() * 1e3,
                gbits(up),
                gbits(down)
            ),
        }
    }
    let pad = if args.path != NetPath::Loopback {
        " | | |"
    } else {
        ""
    };
    for (label, up, down) in &ratios {
        println!("| {label} | {up:.2}× | {down:.2}× |{pad}");
    }
    let mut crypto_json = serde_json::Map::new();
    if !crypto.is_empty() {
        println!(
            "\n| one core, {}-byte records | seal rate |",
            crypto::RECORD
        );
        println!("|---|---:|");
    }
    for (cipher, samples) in &crypto {
        let sealed = crypto::sealed_bytes(bytes);
        let bits = rate(sealed, samples)?;
        println!("| {} | {} |", cipher.name(), gbits(bits));
        crypto_json.insert(
            cipher.name().to_owned(),
            json!({
                "bytes": sealed,
                "median_bits_per_second": bits,
                "samples_seconds": secs(samples),
            }),
        );
    }

    if let Some(path) = &args.json {
        let mut stacks = serde_json::Map::new();
        for (measured, rates) in network.iter().zip(&rates) {
            stacks.insert(
                measured.row.key(),
                json!({
                    "name": measured.row.name(),
                    "upload": {
                        "median_bits_per_second": rates.up,
                        "samples_seconds": secs(&measured.upload),
                        "machine_cpu_busy": measured.upload_busy,
                    },
                    "download": {
                        "median_bits_per_second": rates.down,
                        "samples_seconds": secs(&measured.download),
                        "machine_cpu_busy": measured.download_busy,
                    },
                    "empty_exchange_seconds": secs(&measured.empty),
                }),
            );
        }
        let ratios: serde_json::Map<String, serde_json::Value> = ratios
            .iter()
            .map(|(label, up, down)| (label.clone(), json!({"upload": up, "download": down})))
            .collect();
        let document = json!({
            "benchmark": "throughput",
            "commit": hyphae_benches::measured_commit(),
            "path": format!("{:?}", args.path).to_lowercase(),
            "one_way_delay_ms": (args.path == NetPath::Wan).then_some(args.delay_ms),
            "loss": (args.path == NetPath::Wan).then(|| args.wan().loss),
            "tcp_buffer_max": (args.path == NetPath::Wan).then_some(args.wan().tcp_buffer_max),
            "rate_bytes_per_second": (args.path == NetPath::Wan).then(|| args.wan().rate).flatten(),
            "bytes": bytes,
            "reps": args.reps,
            "stacks": stacks,
            "ratios": ratios,
            "seal": crypto_json,
        });
        std::fs::write(path, serde_json::to_string_pretty(&document)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(["throughput"].iter().chain(args))
    }

    #[test]
    fn loss_percent_becomes_the_wan_paths_loss_probability() -> anyhow::Result<()> {
        let args = parse(&["--path", "wan", "--loss-percent", "0.1", "--delay-ms", "20"])?;
        let wan = args.wan();
        assert!((wan.loss - 0.001).abs() < 1e-12, "{wan:?}");
        assert_eq!(wan.one_way, Duration::from_millis(20));
        assert_eq!(wan.tcp_buffer_max, WAN_TCP_BUFFER_MAX);
        Ok(())
    }

    #[test]
    fn the_wan_path_is_lossless_with_wide_buffers_by_default() -> anyhow::Result<()> {
        let wan = parse(&["--path", "wan"])?.wan();
        assert_eq!(wan, WanConditions::new(Duration::from_millis(30)));
        assert_eq!(wan.loss, 0.0);
        assert_eq!(wan.tcp_buffer_max, 128 << 20);
        let wan = parse(&["--path", "wan", "--tcp-buffer-mib", "32"])?.wan();
        assert_eq!(wan.tcp_buffer_max, 32 << 20);
        Ok(())
    }

    #[test]
    fn rate_mbit_becomes_the_wan_paths_bottleneck_in_bytes() -> anyhow::Result<()> {
        assert_eq!(parse(&["--path", "wan"])?.wan().rate, None);
        let args = parse(&["--path", "wan", "--rate-mbit", "5000"])?;
        assert_eq!(args.wan().rate, Some(625_000_000));
        assert_eq!(args.rate_label(), "5000 Mbit/s bottleneck");
        Ok(())
    }

    #[test]
    fn loss_outside_zero_to_a_hundred_percent_is_refused() {
        assert!(parse(&["--loss-percent", "-1"]).is_err());
        assert!(parse(&["--loss-percent", "101"]).is_err());
        assert!(parse(&["--loss-percent", "lots"]).is_err());
        assert!(parse(&["--loss-percent", "100"]).is_ok());
    }
}
