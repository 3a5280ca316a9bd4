//! The attack suite: each known attack on a libp2p node, run for a bounded time against a
//! hyphae node and a rust-libp2p node on loopback, one after the other in the same run,
//! while an honest peer tries every second to be served (connect + identify + ping).
//!
//! `cargo run --release -p hyphae-benches --bin attack [-- --attack NAME --seconds N --json
//! PATH]` (`--attack` repeated runs only those; `--stack` likewise). Needs the release
//! `hyphae` binary (`cargo build --release -p hyphae-cli`) beside this one, or `--hyphae-bin`.
//! Results go to stdout as a markdown table, progress to stderr.
//!
//! Each (attack, node) pair gets a fresh node process. For each one: the honest peer is
//! served once (warm-up), resident memory and CPU time are read (the baseline), the attack
//! and the honest probes start together, the attack runs `--seconds` and goes on until the
//! last probe started within them ends (at most 5 s more, so every probe meets the attack),
//! then it stops and the node is watched until its memory is back within the margin of the
//! baseline and an honest probe is served again (recovery, bounded by
//! `--recovery-seconds`).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use hyphae::{Multiaddr, PeerId, Protocol};
use hyphae_benches::attack::measure::{self, Peak};
use hyphae_benches::attack::probe::{self, Served};
use hyphae_benches::attack::{Attack, Counters, Target};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Runs known attacks against a hyphae node and a rust-libp2p node and measures both.
#[derive(Parser)]
struct Args {
    /// Run only these attacks (repeat the flag; default: all).
    #[arg(long = "attack", value_enum)]
    attacks: Vec<Attack>,
    /// Attack only these nodes (repeat the flag; default: hyphae and rust-libp2p).
    #[arg(long = "stack", value_enum)]
    stacks: Vec<Stack>,
    /// How long each attack runs, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// How long to wait for a node to recover after an attack, in seconds.
    #[arg(long, default_value_t = 30)]
    recovery_seconds: u64,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The `hyphae` binary (default: the one beside this binary).
    #[arg(long)]
    hyphae_bin: Option<PathBuf>,
    /// The `rust-libp2p-defaults` binary (default: the one beside this binary).
    #[arg(long)]
    rust_libp2p_bin: Option<PathBuf>,
    /// Let the nodes' stderr through (their logs) instead of discarding it.
    #[arg(long)]
    node_logs: bool,
}

/// A node under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Stack {
    /// `hyphae node` with its defaults.
    Hyphae,
    /// The `rust-libp2p-defaults` binary: rust-libp2p 0.57 with its defaults.
    RustLibp2p,
    /// `hyphae node --cap-loopback`: hyphae's defaults with loopback not exempt from the
    /// per-address caps (not run unless asked for).
    HyphaeCapped,
}

impl Stack {
    fn name(self) -> &'static str {
        match self {
            Stack::Hyphae => "hyphae",
            Stack::RustLibp2p => "rust-libp2p",
            Stack::HyphaeCapped => "hyphae-capped",
        }
    }
}

/// Resident memory counts as recovered within this fraction of the baseline, or within
/// [`RECOVERY_SLACK_KIB`] of it if that is more: allocators keep some freed memory, and a
/// node of 10 MiB would otherwise have to come back within 1 MiB.
const RECOVERY_MARGIN: f64 = 0.10;
/// See [`RECOVERY_MARGIN`].
const RECOVERY_SLACK_KIB: u64 = 4 * 1024;

/// What one attack did to one node.
struct Outcome {
    attack: Attack,
    stack: Stack,
    survived: bool,
    served: Served,
    baseline_kib: u64,
    peak_kib: u64,
    cpu: Option<Duration>,
    attack_time: Duration,
    recovery: Option<Duration>,
    /// Resident memory when recovery was reached or the wait ended.
    after_kib: Option<u64>,
    counters: Value,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let attacks = if args.attacks.is_empty() {
        Attack::ALL.to_vec()
    } else {
        args.attacks.clone()
    };
    let stacks = if args.stacks.is_empty() {
        vec![Stack::Hyphae, Stack::RustLibp2p]
    } else {
        args.stacks.clone()
    };
    let mut outcomes = Vec::new();
    for &attack in &attacks {
        for &stack in &stacks {
            eprintln!(
                "{} on {} for {} s ...",
                attack.name(),
                stack.name(),
                args.seconds
            );
            let outcome = run(attack, stack, &args).await?;
            eprintln!("  {}", row(&outcome));
            eprintln!("  sent: {} (units: {})", outcome.counters, attack.unit());
            if let Some(error) = &outcome.served.first_error {
                eprintln!("  first honest failure: {error}");
            }
            outcomes.push(outcome);
        }
    }
    print_table(&outcomes);
    if let Some(path) = &args.json {
        let results: Vec<Value> = outcomes.iter().map(to_json).collect();
        std::fs::write(path, serde_json::to_string_pretty(&results)?)?;
    }
    Ok(())
}

/// Runs `attack` on a fresh `stack` node and measures it.
async fn run(attack: Attack, stack: Stack, args: &Args) -> anyhow::Result<Outcome> {
    let mut node = Tested::spawn(stack, args).await?;
    let pid = node.pid;
    let honest = attack.honest_addr(&node.target);
    probe::until_served(&honest, 10).await.with_context(|| {
        format!(
            "{} did not serve the honest peer before the attack",
            stack.name()
        )
    })?;
    // Let the warm-up connection's work settle before the baseline.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline_kib = measure::rss_kib(pid)?;
    let cpu_before = measure::cpu_time(pid)?;
    let peak = Arc::new(Peak::default());
    let sampler = tokio::spawn(measure::sample_peak(pid, Arc::clone(&peak)));

    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let attacking = tokio::spawn(attack.run(node.target.clone(), Arc::clone(&counters)));
    let served = probe::every_second(
        honest.clone(),
        tokio::time::sleep(Duration::from_secs(args.seconds)),
    )
    .await;
    let cpu = measure::cpu_time(pid)
        .ok()
        .map(|after| after.saturating_sub(cpu_before));
    attacking.abort();
    let _ = attacking.await;
    let attack_time = started.elapsed();
    let survived = node.child.try_wait()?.is_none();
    let (recovery, after_kib) = if survived {
        let recovery = recover(pid, baseline_kib, &honest, args.recovery_seconds).await;
        (recovery, measure::rss_kib(pid).ok())
    } else {
        (None, None)
    };
    sampler.abort();
    node.child.kill().await.ok();
    Ok(Outcome {
        attack,
        stack,
        survived,
        served,
        baseline_kib,
        peak_kib: peak.kib(),
        cpu,
        attack_time,
        recovery,
        after_kib,
        counters: counters.to_json(),
    })
}

/// Time until the node's memory is back within the margin of `baseline_kib` and an honest
/// probe is served; `None` if that takes longer than `limit_seconds`.
async fn recover(
    pid: u32,
    baseline_kib: u64,
    honest: &Multiaddr,
    limit_seconds: u64,
) -> Option<Duration> {
    let start = Instant::now();
    let limit = Duration::from_secs(limit_seconds);
    let margin = RECOVERY_SLACK_KIB.max((baseline_kib as f64 * RECOVERY_MARGIN) as u64);
    while start.elapsed() < limit {
        let settled = measure::rss_kib(pid).is_ok_and(|kib| kib <= baseline_kib + margin);
        if settled && probe::probe(honest).await.is_ok() {
            let elapsed = start.elapsed();
            return (elapsed <= limit).then_some(elapsed);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

/// A node under test, running as a child process.
struct Tested {
    child: Child,
    pid: u32,
    target: Target,
}

impl Tested {
    /// Starts a `stack` node listening on loopback TCP and QUIC and reads its addresses.
    async fn spawn(stack: Stack, args: &Args) -> anyhow::Result<Tested> {
        let mut command = match stack {
            Stack::Hyphae => {
                let mut command = Command::new(hyphae_benches::binary_or_sibling(
                    &args.hyphae_bin,
                    "hyphae",
                )?);
                command.arg("node");
                command
            }
            Stack::RustLibp2p => Command::new(hyphae_benches::binary_or_sibling(
                &args.rust_libp2p_bin,
                "rust-libp2p-defaults",
            )?),
            Stack::HyphaeCapped => {
                let mut command = Command::new(hyphae_benches::binary_or_sibling(
                    &args.hyphae_bin,
                    "hyphae",
                )?);
                command.args(["node", "--cap-loopback"]);
                command
            }
        };
        command
            .args(["--listen", "/ip4/127.0.0.1/tcp/0"])
            .args(["--listen", "/ip4/127.0.0.1/udp/0/quic-v1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if args.node_logs {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", stack.name()))?;
        let pid = child.id().context("no pid")?;
        let mut lines = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let target = tokio::time::timeout(Duration::from_secs(30), async {
            let (mut peer, mut tcp, mut quic) = (None, None, None);
            while peer.is_none() || tcp.is_none() || quic.is_none() {
                let line = lines.next_line().await?.context("the node exited")?;
                if let Some(id) = line.strip_prefix("PeerId: ") {
                    peer = Some(id.trim().parse::<PeerId>()?);
                } else if let Some(addr) = line.strip_prefix("Listening on ") {
                    let addr: Multiaddr = addr.trim().parse()?;
                    match socket_addr(&addr) {
                        Some((socket, true)) => quic = Some((socket, addr)),
                        Some((socket, false)) => tcp = Some((socket, addr)),
                        None => {}
                    }
                }
            }
            let (Some(peer), Some(tcp), Some(quic)) = (peer, tcp, quic) else {
                bail!("unreachable: the loop ends when all are known");
            };
            anyhow::Ok(Target {
                tcp: tcp.0,
                quic: quic.0,
                peer,
                tcp_addr: with_peer(tcp.1, peer),
                quic_addr: with_peer(quic.1, peer),
            })
        })
        .await
        .with_context(|| format!("{} did not print its addresses", stack.name()))??;
        // Whatever else the node prints is read and dropped, so it never blocks on stdout.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Tested { child, pid, target })
    }
}

/// The IPv4 socket address of a `/ip4/../tcp/..` or `/ip4/../udp/../quic-v1` address, and
/// whether it is QUIC.
fn socket_addr(addr: &Multiaddr) -> Option<(std::net::SocketAddr, bool)> {
    let (mut ip, mut port, mut is_quic) = (None, None, false);
    for protocol in addr.iter() {
        match protocol {
            Protocol::Ip4(v4) => ip = Some(v4),
            Protocol::Tcp(p) => port = Some(p),
            Protocol::Udp(p) => port = Some(p),
            Protocol::QuicV1 => is_quic = true,
            _ => {}
        }
    }
    Some((std::net::SocketAddr::from((ip?, port?)), is_quic))
}

/// `addr` ending in `/p2p/<peer>` (once).
fn with_peer(mut addr: Multiaddr, peer: PeerId) -> Multiaddr {
    if addr
        .iter()
        .any(|protocol| matches!(protocol, Protocol::P2p(_)))
    {
        let _ = addr.pop();
    }
    addr.with(Protocol::P2p(peer))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// One row of the results table.
fn row(outcome: &Outcome) -> String {
    let served = &outcome.served;
    format!(
        "| {} | {} | {} | {}/{} | {:.2} s | {:.1} | {:.1} | {} | {} | {} |",
        outcome.attack.name(),
        outcome.stack.name(),
        if outcome.survived { "yes" } else { "**no**" },
        served.successes,
        served.attempts,
        served.worst.as_secs_f64(),
        mib(outcome.peak_kib.saturating_sub(outcome.baseline_kib)),
        mib(outcome.baseline_kib),
        outcome
            .cpu
            .map_or("-".to_owned(), |cpu| format!("{:.1}", cpu.as_secs_f64())),
        outcome.recovery.map_or_else(
            || "not within the wait".to_owned(),
            |recovery| format!("{:.1}", recovery.as_secs_f64())
        ),
        outcome.after_kib.map_or("-".to_owned(), |kib| format!(
            "{:.1}",
            mib(kib) - mib(outcome.baseline_kib)
        )),
    )
}

fn print_table(outcomes: &[Outcome]) {
    println!(
        "| attack | node | survived | honest served | worst honest | peak RSS growth (MiB) | baseline RSS (MiB) | CPU (s) | recovery (s) | RSS left after (MiB) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for outcome in outcomes {
        println!("{}", row(outcome));
    }
}

fn to_json(outcome: &Outcome) -> Value {
    let served = &outcome.served;
    json!({
        "attack": outcome.attack.name(),
        "node": outcome.stack.name(),
        "survived": outcome.survived,
        "honest_attempts": served.attempts,
        "honest_successes": served.successes,
        "honest_worst_s": served.worst.as_secs_f64(),
        "honest_first_error": served.first_error,
        "baseline_rss_kib": outcome.baseline_kib,
        "peak_rss_kib": outcome.peak_kib,
        "cpu_s": outcome.cpu.map(|cpu| cpu.as_secs_f64()),
        "attack_s": outcome.attack_time.as_secs_f64(),
        "recovery_s": outcome.recovery.map(|recovery| recovery.as_secs_f64()),
        "after_rss_kib": outcome.after_kib,
        "sent": outcome.counters,
        "sent_unit": outcome.attack.unit(),
    })
}
