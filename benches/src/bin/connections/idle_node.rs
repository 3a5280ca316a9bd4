//! Benchmark 7: a node under test as operators run it (`hyphae node --max-connections
//! 20000`, beside the `rust-libp2p-defaults` binary with the same services) holding
//! thousands of idle connections, each from its own peer with a default node's services
//! (ping, identify, Kademlia, gossipsub); the node's RSS growth, in total and per connection.
//!
//! The peers run in a few child processes of this binary (`peers` subcommand), each on one
//! thread, so that neither their memory nor most of their CPU is the node's.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, ensure};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

use super::{Row, STACKS, Stack, rss_kib, self_command, socket_count, stdout_lines};

/// Settings of the benchmark, from the command line.
pub(crate) struct IdlePlan {
    /// Peers, each with one connection to the node.
    pub connections: usize,
    /// Child processes the peers are spread over.
    pub processes: usize,
    /// `hyphae` binary.
    pub hyphae_bin: Option<PathBuf>,
    /// `rust-libp2p-defaults` binary.
    pub rust_libp2p_bin: Option<PathBuf>,
    /// Extra arguments for `hyphae node`.
    pub hyphae_args: Vec<String>,
}

/// Time the node is left alone before and after the connections: past identify, the
/// gossipsub streams and their first heartbeats, and a keepalive ping (every 15 s).
const SETTLE: Duration = Duration::from_secs(20);

/// Peers of one `peers` process that dial at once.
const DIALS_AT_ONCE: usize = 16;

/// The `peers` subcommand: connects `count` peers of `stack` to `addr`, prints one JSON line
/// (how many connected, how many failed and the first error), then keeps them connected
/// until stdin closes.
pub(crate) async fn peers(stack: Stack, addr: &str, count: usize) -> anyhow::Result<()> {
    let mut hyphae_peers = Vec::new();
    let mut rust_peers = Vec::new();
    let mut failed = 0;
    let mut first_error = None;
    let mut outcomes = futures::stream::iter(0..count)
        .map(|_| async move {
            anyhow::Ok(match stack {
                Stack::Hyphae => {
                    let addr: hyphae::Multiaddr = addr.parse()?;
                    Peer::Hyphae(hyphae_benches::idle_node::hyphae_peer(&addr).await?)
                }
                Stack::RustLibp2p => {
                    let addr: libp2p::Multiaddr = addr.parse()?;
                    Peer::RustLibp2p(hyphae_benches::idle_node::rust_peer(&addr).await?)
                }
            })
        })
        .buffer_unordered(DIALS_AT_ONCE);
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Ok(Peer::Hyphae(node)) => hyphae_peers.push(node),
            Ok(Peer::RustLibp2p(task)) => rust_peers.push(task),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    drop(outcomes);
    let connected = hyphae_peers.len() + rust_peers.len();
    println!(
        "{}",
        json!({ "connected": connected, "failed": failed, "first_error": first_error })
    );
    super::wait_for_stdin_eof().await;
    for task in rust_peers {
        task.abort();
    }
    Ok(())
}

enum Peer {
    Hyphae(hyphae::Node),
    RustLibp2p(tokio::task::JoinHandle<()>),
}

/// The node under test, a child process.
struct Tested {
    child: Child,
    pid: u32,
    /// Its TCP address without `/p2p`.
    tcp: String,
    /// `host:port` of its metrics (hyphae only).
    metrics: Option<String>,
}

impl Tested {
    async fn spawn(stack: Stack, plan: &IdlePlan) -> anyhow::Result<Tested> {
        let mut command = match stack {
            Stack::Hyphae => {
                let mut command = Command::new(hyphae_benches::binary_or_sibling(
                    &plan.hyphae_bin,
                    "hyphae",
                )?);
                command
                    .args(["node", "--max-connections", "20000"])
                    .args(["--metrics", "127.0.0.1:0"])
                    .args(&plan.hyphae_args);
                command
            }
            Stack::RustLibp2p => {
                let mut command = Command::new(hyphae_benches::binary_or_sibling(
                    &plan.rust_libp2p_bin,
                    "rust-libp2p-defaults",
                )?);
                // rust-libp2p closes a connection its behaviours do not keep alive after
                // 10 s; `hyphae node` closes none for idleness.
                command.args(["--services", "all", "--idle-timeout-secs", "86400"]);
                command
            }
        };
        let mut child = command
            .args(["--listen", "/ip4/127.0.0.1/tcp/0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {} node", stack.arg()))?;
        let pid = child.id().context("no pid")?;
        let mut lines = stdout_lines(&mut child)?;
        let wants_metrics = stack == Stack::Hyphae;
        let (tcp, metrics) = tokio::time::timeout(Duration::from_secs(30), async {
            let (mut tcp, mut metrics) = (None, None);
            while tcp.is_none() || (wants_metrics && metrics.is_none()) {
                let line = lines.next_line().await?.context("the node exited")?;
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    tcp = Some(super::without_p2p(addr.trim()).to_owned());
                } else if let Some(url) = line.strip_prefix("Metrics on http://") {
                    metrics = url.trim().strip_suffix("/metrics").map(str::to_owned);
                }
            }
            anyhow::Ok((tcp.context("no TCP address")?, metrics))
        })
        .await
        .context("the node did not print its addresses")??;
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Tested {
            child,
            pid,
            tcp,
            metrics,
        })
    }

    /// The node's metrics that say what it holds: connections, streams and memory by
    /// scope, refusals.
    async fn metrics(&self) -> anyhow::Result<Vec<String>> {
        let Some(addr) = &self.metrics else {
            return Ok(Vec::new());
        };
        let mut socket = tokio::net::TcpStream::connect(addr).await?;
        socket
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: node\r\nConnection: close\r\n\r\n")
            .await?;
        let mut text = String::new();
        tokio::time::timeout(Duration::from_secs(10), socket.read_to_string(&mut text))
            .await
            .context("metrics timed out")??;
        let wanted = [
            "hyphae_connections{",
            "hyphae_resource_memory_bytes{",
            "hyphae_resource_streams{",
            "hyphae_resource_refusals{",
            "hyphae_streams_refused_total{",
            "hyphae_connections_refused_total{",
            "hyphae_connections_trimmed_total",
        ];
        Ok(text
            .lines()
            .filter(|line| wanted.iter().any(|prefix| line.starts_with(prefix)))
            .map(str::to_owned)
            .collect())
    }
}

/// The soft limit on open files of this process (children inherit it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Benchmark 7 for both stacks, one after the other.
pub(crate) async fn idle_node(plan: &IdlePlan) -> anyhow::Result<(Vec<Row>, Value)> {
    if let Some(limit) = open_files_limit() {
        ensure!(
            limit > plan.connections as u64 + 100,
            "the open-files limit ({limit}) is below {} connections (ulimit -n)",
            plan.connections
        );
    }
    let mut per_connection = [f64::NAN; 2];
    let mut total_mib = [f64::NAN; 2];
    let mut notes: [String; 2] = Default::default();
    let mut value = serde_json::Map::new();
    for (s, stack) in STACKS.into_iter().enumerate() {
        eprintln!(
            "idle-node: {}: {} peers in {} processes",
            stack.arg(),
            plan.connections,
            plan.processes
        );
        let tested = Tested::spawn(stack, plan).await?;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let before = rss_kib(tested.pid)?;
        let sockets_before = socket_count(tested.pid)?;
        let mut children = Vec::new();
        for p in 0..plan.processes {
            let count = plan.connections / plan.processes
                + usize::from(p < plan.connections % plan.processes);
            let count = count.to_string();
            let args = [
                "peers",
                "--stack",
                stack.arg(),
                "--addr",
                &tested.tcp,
                "--count",
                &count,
            ];
            let mut child = self_command(None, &args)?.stderr(Stdio::null()).spawn()?;
            let lines = stdout_lines(&mut child)?;
            children.push((child, lines));
        }
        let (mut connected, mut failed, mut errors) = (0, 0, Vec::new());
        for (_, lines) in &mut children {
            let line = tokio::time::timeout(Duration::from_secs(600), lines.next_line())
                .await
                .context("peers took over 10 minutes to connect")??
                .context("a peers process exited early")?;
            let report: Value = serde_json::from_str(&line)?;
            connected += report["connected"].as_u64().unwrap_or(0);
            failed += report["failed"].as_u64().unwrap_or(0);
            if let Some(error) = report["first_error"].as_str() {
                errors.push(error.to_owned());
            }
        }
        eprintln!("idle-node: {connected} connected, {failed} failed {errors:?}; settling");
        let rss_at_connected = rss_kib(tested.pid)?;
        tokio::time::sleep(SETTLE).await;
        let after = rss_kib(tested.pid)?;
        let sockets = socket_count(tested.pid)?;
        let held = sockets.saturating_sub(sockets_before);
        let hwm = peak_rss_kib(tested.pid).unwrap_or(0);
        let metrics = tested
            .metrics()
            .await
            .unwrap_or_else(|error| vec![format!("metrics failed: {error:#}")]);
        eprintln!(
            "idle-node: {}: RSS {before} -> {after} KiB (peak {hwm}), {held} connections held",
            stack.arg()
        );
        for (mut child, _) in children {
            drop(child.stdin.take());
            if tokio::time::timeout(Duration::from_secs(30), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        let mut child = tested.child;
        let _ = child.kill().await;
        if held < connected as usize {
            notes[s] = format!("{held} of {connected} connections held");
        }
        ensure!(held > 0, "{} holds no connection", stack.arg());
        let growth = after as f64 - before as f64;
        per_connection[s] = growth / held as f64;
        total_mib[s] = after as f64 / 1024.0;
        value.insert(
            stack.arg().replace('-', "_"),
            json!({
                "rss_before_kib": before,
                "rss_when_connected_kib": rss_at_connected,
                "rss_after_kib": after,
                "rss_peak_kib": hwm,
                "kib_per_connection": per_connection[s],
                "connected": connected,
                "failed": failed,
                "errors": errors,
                "listener_sockets_before": sockets_before,
                "listener_sockets": sockets,
                "connections_held": held,
                "metrics": metrics,
            }),
        );
    }
    value.insert("connections".into(), json!(plan.connections));
    value.insert("peer_processes".into(), json!(plan.processes));
    value.insert("settle_s".into(), json!(SETTLE.as_secs()));
    value.insert("hyphae_args".into(), json!(plan.hyphae_args));
    let rows = vec![
        Row {
            name: format!(
                "node RSS per idle connection ({} peers with ping, identify, Kademlia, gossipsub; `hyphae node --max-connections 20000` / rust-libp2p-defaults --services all)",
                plan.connections
            ),
            unit: "KiB",
            lower_is_better: true,
            hyphae: per_connection[0],
            rust_libp2p: per_connection[1],
            notes: notes.clone(),
        },
        Row {
            name: format!(
                "node RSS with {} idle connections (as above)",
                plan.connections
            ),
            unit: "MiB",
            lower_is_better: true,
            hyphae: total_mib[0],
            rust_libp2p: total_mib[1],
            notes,
        },
    ];
    Ok((rows, Value::Object(value)))
}

/// VmHWM of process `pid` (its peak RSS), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
