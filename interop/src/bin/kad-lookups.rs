//! Lookup figures on a local DHT of real processes: hyphae and rust-libp2p servers (and
//! optionally js-libp2p) in one network, each answering `closest-stats <key>` lookups in
//! turn; prints per implementation the lookup time (measured here, from command to answer),
//! requests sent, hops (hyphae counts them; rust-libp2p does not) and how many of the true
//! 20 closest peers each lookup found.
//!
//! `kad-lookups [--hyphae N] [--rust N] [--js N] [--lookups M] [--seed S]`
//!
//! Everything runs on loopback, so times measure each implementation's processing and
//! scheduling more than round trips (this machine's kernel has no netem to delay loopback;
//! the simulator models latency). Requests and the share of the true closest found do not
//! depend on that.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::PeerId;
use hyphae::kad::{Key, Rng};
use hyphae_interop::kad::to_hex;
use hyphae_interop::{PeerProcess, js_dir};
use tokio::process::Command;

#[derive(Debug, Clone)]
struct Args {
    hyphae: usize,
    rust: usize,
    js: usize,
    lookups: usize,
    seed: u64,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut parsed = Args {
        hyphae: 20,
        rust: 20,
        js: 0,
        lookups: 30,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?
            .parse()
            .with_context(|| format!("{flag} needs a number"))?;
        let count = usize::try_from(value)?;
        match flag.as_str() {
            "--hyphae" => parsed.hyphae = count,
            "--rust" => parsed.rust = count,
            "--js" => parsed.js = count,
            "--lookups" => parsed.lookups = count,
            "--seed" => parsed.seed = value,
            _ => bail!("unknown flag {flag}"),
        }
    }
    if parsed.hyphae == 0 {
        bail!("--hyphae must be at least 1: the first hyphae server is the bootstrap node");
    }
    Ok(parsed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Implementation {
    Hyphae,
    Rust,
    Js,
}

impl Implementation {
    fn name(self) -> &'static str {
        match self {
            Implementation::Hyphae => "hyphae",
            Implementation::Rust => "rust-libp2p",
            Implementation::Js => "js-libp2p",
        }
    }

    fn command(self) -> anyhow::Result<Command> {
        let sibling = |name: &str| -> anyhow::Result<PathBuf> {
            let exe = std::env::current_exe()?;
            Ok(exe.with_file_name(name))
        };
        Ok(match self {
            Implementation::Hyphae => Command::new(sibling("hyphae-kad-peer")?),
            Implementation::Rust => Command::new(sibling("rust-libp2p-kad")?),
            Implementation::Js => {
                let dir = js_dir();
                let mut command = Command::new("node");
                command.current_dir(&dir).arg(dir.join("kad-peer.mjs"));
                command
            }
        })
    }
}

struct Peer {
    implementation: Implementation,
    id: PeerId,
    process: PeerProcess,
}

async fn start(
    implementation: Implementation,
    bootstrap: Option<&str>,
) -> anyhow::Result<(Peer, String)> {
    let mut command = implementation.command()?;
    command.args(["--mode", "server"]);
    if let Some(addr) = bootstrap {
        command.args(["--bootstrap", addr]);
    }
    command.stderr(std::process::Stdio::null());
    let mut process = PeerProcess::spawn(command);
    let full_addr = process.line("LISTEN ").await;
    let id: PeerId = full_addr
        .rsplit_once("/p2p/")
        .context("LISTEN without /p2p")?
        .1
        .parse()?;
    process.line("READY").await;
    Ok((
        Peer {
            implementation,
            id,
            process,
        },
        full_addr,
    ))
}

/// One lookup's figures.
struct Sample {
    elapsed: Duration,
    requests: Option<f64>,
    hops: Option<f64>,
    recall: f64,
}

async fn lookup(peer: &mut Peer, all: &[PeerId], key: &[u8]) -> anyhow::Result<Sample> {
    // js-libp2p's program knows only the contract's `closest`: no statistics from it.
    let verb = match peer.implementation {
        Implementation::Js => "closest",
        Implementation::Hyphae | Implementation::Rust => "closest-stats",
    };
    let started = Instant::now();
    peer.process
        .send(&format!("{verb} hex:{}", to_hex(key)))
        .await;
    let answer = peer.process.next_line().await;
    let elapsed = started.elapsed();
    let field = |name: &str| {
        answer
            .split_whitespace()
            .find_map(|word| word.strip_prefix(name))
            .map(str::to_owned)
    };
    let found: HashSet<String> = match answer.strip_prefix("CLOSEST") {
        Some(ids) => ids.split_whitespace().map(str::to_owned).collect(),
        None => field("peers=")
            .with_context(|| format!("{verb} answered {answer:?}"))?
            .split(',')
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let requests = field("requests=").and_then(|requests| requests.parse().ok());
    let hops = field("hops=").and_then(|hops| hops.parse().ok());
    let target = Key::for_bytes(key);
    let mut truth: Vec<&PeerId> = all.iter().filter(|id| **id != peer.id).collect();
    truth.sort_by_key(|id| Key::for_peer(id).distance(&target));
    truth.truncate(20);
    let hits = truth
        .iter()
        .filter(|id| found.contains(&id.to_string()))
        .count();
    Ok(Sample {
        elapsed,
        requests,
        hops,
        recall: hits as f64 / truth.len().max(1) as f64,
    })
}

/// The mean of the values present, or a dash.
fn mean_of(values: impl Iterator<Item = Option<f64>>) -> String {
    let values: Vec<f64> = values.flatten().collect();
    if values.is_empty() {
        return "–".to_owned();
    }
    format!("{:.2}", values.iter().sum::<f64>() / values.len() as f64)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

async fn measure(args: &Args) -> anyhow::Result<()> {
    let (first, bootstrap) = start(Implementation::Hyphae, None).await?;
    let mut peers = vec![first];
    let mut plan = Vec::new();
    plan.extend(std::iter::repeat_n(Implementation::Hyphae, args.hyphae - 1));
    plan.extend(std::iter::repeat_n(Implementation::Rust, args.rust));
    plan.extend(std::iter::repeat_n(Implementation::Js, args.js));
    // Interleave, so neither implementation joins a network made of itself.
    let mut rng = Rng::from_seed(args.seed);
    for i in (1..plan.len()).rev() {
        plan.swap(i, rng.below(i as u64 + 1) as usize);
    }
    for implementation in plan {
        peers.push(start(implementation, Some(&bootstrap)).await?.0);
    }
    let all: Vec<PeerId> = peers.iter().map(|peer| peer.id).collect();
    eprintln!("{} servers up; warming their tables", peers.len());
    for round in 0..2 {
        for peer in &mut peers {
            let mut key = [0u8; 32];
            rng.fill(&mut key);
            lookup(peer, &all, &key)
                .await
                .with_context(|| format!("warm-up round {round}"))?;
        }
    }
    let implementations = [
        Implementation::Hyphae,
        Implementation::Rust,
        Implementation::Js,
    ];
    let mut samples: Vec<Vec<Sample>> = implementations.iter().map(|_| Vec::new()).collect();
    for i in 0..args.lookups {
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        // The same key from one querier of each implementation, in turn.
        for (slot, implementation) in implementations.iter().enumerate() {
            let queriers: Vec<usize> = (0..peers.len())
                .filter(|&p| peers[p].implementation == *implementation)
                .collect();
            if queriers.is_empty() {
                continue;
            }
            let querier = queriers[i % queriers.len()];
            samples[slot].push(lookup(&mut peers[querier], &all, &key).await?);
        }
    }
    println!(
        "{} servers ({} hyphae, {} rust-libp2p, {} js-libp2p) on loopback, {} lookups per implementation",
        peers.len(),
        args.hyphae,
        args.rust,
        args.js,
        args.lookups
    );
    println!();
    println!(
        "| querier | median ms | p90 ms | requests (mean) | hops (mean) | true 20 closest found |"
    );
    println!("|---|---|---|---|---|---|");
    for (implementation, samples) in implementations.iter().zip(&samples) {
        if samples.is_empty() {
            continue;
        }
        let mut times: Vec<f64> = samples
            .iter()
            .map(|s| s.elapsed.as_secs_f64() * 1000.0)
            .collect();
        times.sort_by(f64::total_cmp);
        let count = samples.len() as f64;
        let requests = mean_of(samples.iter().map(|s| s.requests));
        let hops = mean_of(samples.iter().map(|s| s.hops));
        let recall = samples.iter().map(|s| s.recall).sum::<f64>() / count;
        println!(
            "| {} | {:.1} | {:.1} | {} | {} | {:.1} % |",
            implementation.name(),
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            requests,
            hops,
            recall * 100.0
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    measure(&parse_args()?).await
}
