//! Single-stream throughput on loopback, in one run: hyphae (TCP + Noise + Yamux) beside
//! rust-libp2p 0.57 and raw TCP, all with the perf protocol, plus one core's AEAD seal rate.
//!
//! `cargo run --release -p hyphae-benches --bin throughput [-- --bytes N --reps K --json PATH]`
//! (`--stack hyphae|rust-libp2p|raw-tcp`, repeated, measures only those: handy under a
//! profiler).
//!
//! Each figure is the median of K repetitions; repetitions interleave the stacks so that
//! noise on the shared machine falls on all of them alike. Results go to stdout as a
//! markdown table, progress to stderr.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use hyphae_benches::crypto::{self, Cipher};
use hyphae_benches::stats::{bits_per_second, median};
use hyphae_benches::{HyphaePair, RawTcpPair, RustLibp2pPair};
use hyphae_perf::Params;
use serde_json::json;

/// Single-stream throughput of hyphae, rust-libp2p and raw TCP on loopback.
#[derive(Parser)]
struct Args {
    /// Bytes per transfer (each upload, each download, each seal run).
    #[arg(long, default_value_t = 1 << 30)]
    bytes: u64,
    /// Repetitions per figure; the median is reported.
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Measure only these stacks (repeat the flag; default: all), e.g. to profile one.
    #[arg(long = "stack", value_enum)]
    stacks: Vec<Stack>,
}

/// The stacks compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Stack {
    Hyphae,
    RustLibp2p,
    RawTcp,
}

/// A stack under test.
enum Pair {
    Hyphae(HyphaePair),
    RustLibp2p(RustLibp2pPair),
    RawTcp(RawTcpPair),
}

impl Pair {
    fn name(&self) -> &'static str {
        match self {
            Pair::Hyphae(_) => "hyphae (TCP + Noise + Yamux)",
            Pair::RustLibp2p(_) => "rust-libp2p 0.57 (TCP + Noise + Yamux)",
            Pair::RawTcp(_) => "raw TCP",
        }
    }

    fn key(&self) -> &'static str {
        match self {
            Pair::Hyphae(_) => "hyphae",
            Pair::RustLibp2p(_) => "rust_libp2p",
            Pair::RawTcp(_) => "raw_tcp",
        }
    }

    async fn perf(&mut self, params: Params) -> anyhow::Result<Duration> {
        match self {
            Pair::Hyphae(pair) => pair.perf(params).await,
            Pair::RustLibp2p(pair) => pair.perf(params).await,
            Pair::RawTcp(pair) => pair.perf(params).await,
        }
        .with_context(|| format!("{} perf {params:?}", self.name()))
    }

    async fn shutdown(self) {
        match self {
            Pair::Hyphae(pair) => pair.shutdown().await,
            Pair::RustLibp2p(pair) => pair.shutdown(),
            Pair::RawTcp(pair) => pair.shutdown(),
        }
    }
}

/// The samples of one stack.
struct Measured {
    name: &'static str,
    key: &'static str,
    upload: Vec<Duration>,
    download: Vec<Duration>,
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

async fn measure_network(args: &Args) -> anyhow::Result<Vec<Measured>> {
    let mut pairs = Vec::new();
    for stack in [Stack::Hyphae, Stack::RustLibp2p, Stack::RawTcp] {
        if !args.stacks.is_empty() && !args.stacks.contains(&stack) {
            continue;
        }
        pairs.push(match stack {
            Stack::Hyphae => Pair::Hyphae(HyphaePair::start().await?),
            Stack::RustLibp2p => Pair::RustLibp2p(RustLibp2pPair::start().await?),
            Stack::RawTcp => Pair::RawTcp(RawTcpPair::start().await?),
        });
    }
    let mut measured: Vec<Measured> = pairs
        .iter()
        .map(|pair| Measured {
            name: pair.name(),
            key: pair.key(),
            upload: Vec::new(),
            download: Vec::new(),
        })
        .collect();
    // Warm up: connections, windows and allocators reach their steady state.
    let warm_up = args.bytes.min(64 << 20);
    for pair in &mut pairs {
        pair.perf(upload(warm_up)).await?;
        pair.perf(download(warm_up)).await?;
    }
    for rep in 1..=args.reps {
        for (pair, measured) in pairs.iter_mut().zip(&mut measured) {
            let up = pair.perf(upload(args.bytes)).await?;
            let down = pair.perf(download(args.bytes)).await?;
            eprintln!(
                "rep {rep}/{}: {:<40} up {}  down {}",
                args.reps,
                pair.name(),
                gbits(bits_per_second(args.bytes, up)),
                gbits(bits_per_second(args.bytes, down)),
            );
            measured.upload.push(up);
            measured.download.push(down);
        }
    }
    for pair in pairs {
        pair.shutdown().await;
    }
    Ok(measured)
}

fn measure_crypto(args: &Args) -> anyhow::Result<Vec<(Cipher, Vec<Duration>)>> {
    let mut results = Vec::new();
    for cipher in [Cipher::ChaCha20Poly1305, Cipher::Aes256Gcm] {
        let mut samples = Vec::new();
        for _ in 0..args.reps {
            samples.push(crypto::seal(cipher, args.bytes)?);
        }
        eprintln!(
            "{}: {}",
            cipher.name(),
            gbits(rate(crypto::sealed_bytes(args.bytes), &samples)?)
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

fn secs(samples: &[Duration]) -> Vec<f64> {
    samples.iter().map(Duration::as_secs_f64).collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.reps > 0 && args.bytes > 0,
        "--bytes and --reps must be positive"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let network = runtime.block_on(measure_network(&args))?;
    drop(runtime);
    let crypto = measure_crypto(&args)?;

    let rates = network
        .iter()
        .map(|m| Ok((rate(args.bytes, &m.upload)?, rate(args.bytes, &m.download)?)))
        .collect::<anyhow::Result<Vec<(f64, f64)>>>()?;
    let rate_of = |key: &str| {
        network
            .iter()
            .zip(&rates)
            .find(|(measured, _)| measured.key == key)
            .map(|(_, rate)| *rate)
    };
    let ratio = |other: &str| {
        let (hyphae, other) = (rate_of("hyphae")?, rate_of(other)?);
        Some((hyphae.0 / other.0, hyphae.1 / other.1))
    };
    let over_rust_libp2p = ratio("rust_libp2p");
    let over_raw_tcp = ratio("raw_tcp");

    println!(
        "Single-stream throughput on loopback: {} bytes per transfer, median of {} (tokio, {} worker threads)\n",
        args.bytes,
        args.reps,
        std::thread::available_parallelism().map_or(1, usize::from)
    );
    println!("| | upload | download |");
    println!("|---|---:|---:|");
    for (measured, (up, down)) in network.iter().zip(&rates) {
        println!("| {} | {} | {} |", measured.name, gbits(*up), gbits(*down));
    }
    for (label, ratio) in [
        ("hyphae / rust-libp2p", over_rust_libp2p),
        ("hyphae / raw TCP", over_raw_tcp),
    ] {
        if let Some((up, down)) = ratio {
            println!("| {label} | {up:.2}× | {down:.2}× |");
        }
    }
    println!(
        "\n| one core, ring, {}-byte records | seal rate |",
        crypto::RECORD
    );
    println!("|---|---:|");
    let mut crypto_json = serde_json::Map::new();
    for (cipher, samples) in &crypto {
        let sealed = crypto::sealed_bytes(args.bytes);
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
        for (measured, (up, down)) in network.iter().zip(&rates) {
            stacks.insert(
                measured.key.to_owned(),
                json!({
                    "name": measured.name,
                    "upload": {
                        "median_bits_per_second": up,
                        "samples_seconds": secs(&measured.upload),
                    },
                    "download": {
                        "median_bits_per_second": down,
                        "samples_seconds": secs(&measured.download),
                    },
                }),
            );
        }
        let document = json!({
            "benchmark": "throughput",
            "bytes": args.bytes,
            "reps": args.reps,
            "stacks": stacks,
            "ratios": {
                "hyphae_over_rust_libp2p": over_rust_libp2p
                    .map(|(upload, download)| json!({"upload": upload, "download": download})),
                "hyphae_over_raw_tcp": over_raw_tcp
                    .map(|(upload, download)| json!({"upload": upload, "download": download})),
            },
            "seal": crypto_json,
        });
        std::fs::write(path, serde_json::to_string_pretty(&document)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
