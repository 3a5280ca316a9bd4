//! Gossipsub benchmarks, hyphae beside rust-libp2p 0.57 in one run. The node under test runs
//! alone in a child process (this binary's `serve` subcommand), so that its memory is its
//! own; its peers are hyphae nodes in this process, the same for both stacks, so only the
//! node under test differs. Both stacks: TCP + Noise + Yamux on loopback, gossipsub with the
//! spec's defaults (D = 6, 1 s heartbeat), anonymous messages (`StrictNoSign`), the message id
//! of [`gossip_hyphae::message_id_of`], no validation, 1 MiB RPCs.
//!
//! 1. **relay**: publisher → node under test → subscriber, a line (each node's mesh is one
//!    peer). The publisher keeps at most a window of messages in flight (published, not yet
//!    arrived at the subscriber), so no queue has to drop; the rate is what arrived over the
//!    time from the first publish to the last arrival, and the delivery ratio says whether
//!    anything was lost (a stall of [`STALL`] ends a run).
//! 2. **peers**: RSS growth of the node under test, subscribed to one topic, once P peers
//!    connected and subscribed to it, per peer (the connection's own memory included).
//! 3. **topics**: RSS growth of the node under test with a few connected peers once it and
//!    they joined T topics, per topic.
//!
//! `cargo run --release -p hyphae-benches --bin gossip [-- --quick --reps N --json PATH]`
//! (`--bench NAME`, repeated, runs only those). Results go to stdout as a markdown table,
//! progress to stderr.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use hyphae::gossipsub::{Handle, Subscription};
use hyphae::{Multiaddr, Node};
use hyphae_benches::gossip_hyphae::{self, message, seq_of, topic};
use hyphae_benches::gossip_libp2p::RustGossipNode;
use hyphae_benches::process::rss_kib;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::watch;

/// Gossipsub benchmarks of hyphae and rust-libp2p.
#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    mode: Option<Mode>,
    /// Tiny sizes and one repetition: a smoke run.
    #[arg(long)]
    quick: bool,
    /// Repetitions of each measurement (default 3, 1 with --quick).
    #[arg(long)]
    reps: Option<usize>,
    /// Also write the results as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run only these benchmarks (repeat the flag; default: all).
    #[arg(long = "bench", value_enum)]
    benches: Vec<Bench>,
    /// Topics of the per-topic benchmark (default 1000, 20 with --quick).
    #[arg(long)]
    topics: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Bench {
    Relay,
    Peers,
    Topics,
}

#[derive(Subcommand)]
enum Mode {
    /// Run a node of STACK on loopback, print its address, then answer commands on stdin
    /// (`subscribe COUNT`, `peers TOPIC`, `delivered`) until it closes.
    Serve {
        #[arg(long, value_enum)]
        stack: Stack,
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

/// How long a relay run waits for the next arrival before it counts the rest as lost.
const STALL: Duration = Duration::from_secs(3);
/// Time for meshes and heartbeats to settle before memory is read: three heartbeats.
const SETTLE: Duration = Duration::from_secs(3);
/// Longest wait for peers, meshes or subscriptions to show up.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);
/// Peers of the per-topic benchmark.
const TOPIC_PEERS: usize = 4;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    match args.mode {
        Some(Mode::Serve { stack }) => serve(stack).await,
        None => run(&args).await,
    }
}

// ---------------------------------------------------------------------------------------
// The node under test (child process).

/// The node under test, of either stack.
enum TestedNode {
    Hyphae {
        node: Node,
        handle: Handle,
        /// Held so that the topics stay joined; topic 0's is drained by a task instead.
        subscriptions: Vec<Subscription>,
        delivered: Arc<AtomicU64>,
    },
    RustLibp2p(RustGossipNode),
}

impl TestedNode {
    async fn start(stack: Stack) -> anyhow::Result<TestedNode> {
        let listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse()?;
        Ok(match stack {
            Stack::Hyphae => {
                let (node, handle) = gossip_hyphae::start(&[listen]).await?;
                TestedNode::Hyphae {
                    node,
                    handle,
                    subscriptions: Vec::new(),
                    delivered: Arc::default(),
                }
            }
            Stack::RustLibp2p => {
                TestedNode::RustLibp2p(RustGossipNode::start(&[listen.to_string().parse()?]).await?)
            }
        })
    }

    fn addr(&self) -> anyhow::Result<String> {
        match self {
            TestedNode::Hyphae { node, .. } => {
                // Listen addresses end in /p2p/<id> already.
                Ok(node
                    .listen_addrs()
                    .first()
                    .context("no address")?
                    .to_string())
            }
            TestedNode::RustLibp2p(node) => Ok(node
                .listen_addrs()
                .first()
                .context("no address")?
                .to_string()),
        }
    }

    async fn subscribe(&mut self, count: usize) -> anyhow::Result<()> {
        match self {
            TestedNode::Hyphae {
                handle,
                subscriptions,
                delivered,
                ..
            } => {
                for index in subscriptions.len()..count {
                    let mut subscription = handle.subscribe(topic(index)).await?;
                    if index == 0 {
                        let delivered = delivered.clone();
                        tokio::spawn(async move {
                            while subscription.next().await.is_some() {
                                delivered.fetch_add(1, Ordering::Relaxed);
                            }
                        });
                    } else {
                        subscriptions.push(subscription);
                    }
                }
                Ok(())
            }
            TestedNode::RustLibp2p(node) => node.subscribe(count).await,
        }
    }

    /// Connected peers subscribed to topic `index`, and mesh peers in it.
    async fn peers(&self, index: usize) -> anyhow::Result<(usize, usize)> {
        match self {
            TestedNode::Hyphae { handle, .. } => Ok((
                handle.topic_peers(topic(index)).await.len(),
                handle.mesh_peers(topic(index)).await.len(),
            )),
            TestedNode::RustLibp2p(node) => node.peers(index).await,
        }
    }

    async fn delivered(&self) -> anyhow::Result<u64> {
        match self {
            TestedNode::Hyphae { delivered, .. } => Ok(delivered.load(Ordering::Relaxed)),
            TestedNode::RustLibp2p(node) => node.delivered().await,
        }
    }

    async fn shutdown(self) {
        match self {
            TestedNode::Hyphae { node, .. } => node.shutdown().await,
            TestedNode::RustLibp2p(node) => node.shutdown(),
        }
    }
}

async fn serve(stack: Stack) -> anyhow::Result<()> {
    // Off unless RUST_LOG asks: the child's stderr is the parent's.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let mut node = TestedNode::start(stack).await?;
    println!("{}", node.addr()?);
    println!("ready");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["subscribe", count] => {
                node.subscribe(count.parse()?).await?;
                "ok".to_owned()
            }
            ["peers", index] => {
                let (subscribed, mesh) = node.peers(index.parse()?).await?;
                format!("{subscribed} {mesh}")
            }
            ["delivered"] => node.delivered().await?.to_string(),
            _ => bail!("unknown command {line:?}"),
        };
        println!("{reply}");
    }
    node.shutdown().await;
    Ok(())
}

/// A node under test in its child process.
struct Tested {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    addr: Multiaddr,
}

impl Tested {
    async fn spawn(stack: Stack) -> anyhow::Result<Tested> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", "--stack", stack.arg()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().context("no stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("no stdout")?).lines();
        let addr = stdout.next_line().await?.context("node exited early")?;
        let ready = stdout.next_line().await?;
        if ready.as_deref() != Some("ready") {
            bail!("node said {ready:?}, not ready");
        }
        Ok(Tested {
            child,
            stdin,
            stdout,
            addr: addr.parse()?,
        })
    }

    async fn ask(&mut self, command: &str) -> anyhow::Result<String> {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await?;
        self.stdout.next_line().await?.context("node exited")
    }

    /// Waits until at least `subscribed` peers are subscribed to topic `index` and the mesh
    /// has at least `mesh` peers; returns both counts.
    async fn wait_for_peers(
        &mut self,
        index: usize,
        subscribed: usize,
        mesh: usize,
    ) -> anyhow::Result<(usize, usize)> {
        let deadline = Instant::now() + SETUP_TIMEOUT;
        loop {
            let reply = self.ask(&format!("peers {index}")).await?;
            let (have_subscribed, have_mesh) = reply.split_once(' ').context("peers reply")?;
            let counts = (have_subscribed.parse()?, have_mesh.parse()?);
            if counts.0 >= subscribed && counts.1 >= mesh {
                return Ok(counts);
            }
            if Instant::now() > deadline {
                let first = self.ask("peers 0").await?;
                bail!(
                    "topic {index}: {counts:?} peers and mesh, waited for {subscribed} and \
                     {mesh} (topic 0: {first})"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn rss_kib(&self) -> anyhow::Result<u64> {
        rss_kib(self.child.id().context("node exited")?)
    }

    async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin);
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The peers (this process) and the measurements.

/// Settings of one run.
struct Plan {
    reps: usize,
    /// (messages, bytes each, window) of each relay measurement.
    relay: Vec<(u64, usize, u64)>,
    peer_counts: Vec<usize>,
    topic_count: usize,
}

impl Plan {
    fn new(args: &Args) -> Plan {
        if args.quick {
            Plan {
                reps: args.reps.unwrap_or(1),
                relay: vec![(300, 1024, 64), (30, 64 * 1024, 8)],
                peer_counts: vec![10],
                topic_count: args.topics.unwrap_or(20),
            }
        } else {
            Plan {
                reps: args.reps.unwrap_or(3),
                relay: vec![(20_000, 1024, 128), (2_000, 64 * 1024, 32)],
                peer_counts: vec![200, 1000],
                topic_count: args.topics.unwrap_or(1000),
            }
        }
    }
}

/// One table row: a median per stack, with notes.
struct Row {
    name: String,
    unit: &'static str,
    lower_is_better: bool,
    hyphae: f64,
    rust_libp2p: f64,
    notes: [String; 2],
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let plan = Plan::new(args);
    let wanted = |bench| args.benches.is_empty() || args.benches.contains(&bench);
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    if wanted(Bench::Relay) {
        for &(count, size, window) in &plan.relay {
            let (row, value) = relay(&plan, count, size, window).await?;
            rows.push(row);
            results.insert(format!("relay_{}b", size), value);
        }
    }
    if wanted(Bench::Peers) {
        for &peers in &plan.peer_counts {
            let (row, value) = memory_per_peer(&plan, peers).await?;
            rows.push(row);
            results.insert(format!("memory_{peers}_peers"), value);
        }
    }
    if wanted(Bench::Topics) {
        let (row, value) = memory_per_topic(&plan, plan.topic_count).await?;
        rows.push(row);
        results.insert(format!("memory_{}_topics", plan.topic_count), value);
    }
    print_table(&rows);
    if let Some(path) = &args.json {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&Value::Object(results))? + "\n",
        )?;
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

/// The median of `values` (the mean of the middle two for an even count); NaN if empty.
fn median_of(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[middle],
        _ => (sorted[middle - 1] + sorted[middle]) / 2.0,
    }
}

/// A hyphae peer (this process) subscribed to `topics` topics, connected to `addr`.
async fn peer(
    addr: &Multiaddr,
    topics: usize,
) -> anyhow::Result<(Node, Handle, Vec<Subscription>)> {
    let (node, handle) = gossip_hyphae::start(&[]).await?;
    let mut subscriptions = Vec::with_capacity(topics);
    for index in 0..topics {
        subscriptions.push(handle.subscribe(topic(index)).await?);
    }
    node.dial(addr).await?;
    Ok((node, handle, subscriptions))
}

async fn wait_for_mesh(handle: &Handle, index: usize) -> anyhow::Result<()> {
    tokio::time::timeout(
        SETUP_TIMEOUT,
        handle.wait_for(
            |handle| async move { handle.mesh_peers(topic(index)).await },
            |mesh| !mesh.is_empty(),
        ),
    )
    .await
    .context("no mesh formed")?;
    Ok(())
}

/// What one relay run measured.
struct RelayRun {
    delivered: u64,
    /// From the first publish to the last arrival.
    time: Duration,
    /// Messages the node under test delivered to its own application.
    tested_delivered: u64,
}

/// Benchmark 1, one run: `count` messages of `size` bytes, at most `window` in flight.
async fn relay_once(
    stack: Stack,
    count: u64,
    size: usize,
    window: u64,
) -> anyhow::Result<RelayRun> {
    let mut tested = Tested::spawn(stack).await?;
    tested.ask("subscribe 1").await?;
    // The publisher's subscription is held: it keeps the publisher in the topic's mesh.
    let (publisher, publish, _joined) = peer(&tested.addr, 1).await?;
    let (subscriber, _, mut subscriptions) = peer(&tested.addr, 1).await?;
    wait_for_mesh(&publish, 0).await?;
    tested.wait_for_peers(0, 2, 2).await?;
    let mut arrivals = subscriptions.pop().context("no subscription")?;

    // (messages arrived, when the last did)
    let (arrived_tx, mut arrived) = watch::channel((0u64, Instant::now()));
    let counter = tokio::spawn(async move {
        let mut seen = 0u64;
        while let Some(received) = arrivals.next().await {
            if seq_of(received.data()).is_some() && received.data().len() == size {
                seen += 1;
                arrived_tx.send_replace((seen, Instant::now()));
            }
        }
    });

    let start = Instant::now();
    let mut sent = 0;
    while sent < count {
        // `wait_for` answers with a read guard of the watch: it must go before the publish
        // below awaits, or the counter's `send_replace` blocks its worker thread on the
        // lock (a loaded machine hung a run so: the driver task was queued on that worker).
        let stalled = tokio::time::timeout(
            STALL,
            arrived.wait_for(|&(seen, _)| sent.saturating_sub(seen) < window),
        )
        .await
        .is_err();
        if stalled {
            break;
        }
        publish.publish(topic(0), message(sent, size)).await?;
        sent += 1;
    }
    loop {
        if arrived.borrow().0 >= sent {
            break;
        }
        if tokio::time::timeout(STALL, arrived.changed())
            .await
            .is_err()
        {
            break;
        }
    }
    let (delivered, last) = *arrived.borrow();
    // The node under test forwards a message and hands it to its own subscriber at the same
    // time: the subscriber downstream may see the last message before the node's own count
    // does. Ask until the count stops short of what was sent for good (STALL).
    let asked_until = Instant::now() + STALL;
    let tested_delivered = loop {
        let count: u64 = tested.ask("delivered").await?.parse()?;
        if count >= sent || Instant::now() >= asked_until {
            break count;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    counter.abort();
    publisher.shutdown().await;
    subscriber.shutdown().await;
    tested.stop().await?;
    Ok(RelayRun {
        delivered,
        time: last.saturating_duration_since(start),
        tested_delivered,
    })
}

/// Benchmark 1: messages per second relayed by the node under test.
async fn relay(plan: &Plan, count: u64, size: usize, window: u64) -> anyhow::Result<(Row, Value)> {
    let mut rates = [Vec::new(), Vec::new()];
    let mut megabytes = [Vec::new(), Vec::new()];
    let mut ratios = [Vec::new(), Vec::new()];
    let mut runs = [Vec::new(), Vec::new()];
    for rep in 0..plan.reps {
        for (s, stack) in STACKS.into_iter().enumerate() {
            eprintln!(
                "relay: {} rep {rep}: {count} messages of {size} bytes, window {window}",
                stack.arg()
            );
            let run = relay_once(stack, count, size, window).await?;
            let seconds = run.time.as_secs_f64().max(1e-9);
            let rate = run.delivered as f64 / seconds;
            eprintln!(
                "  {} of {count} in {seconds:.3} s: {rate:.0} messages/s (the relay delivered {})",
                run.delivered, run.tested_delivered
            );
            rates[s].push(rate);
            megabytes[s].push(rate * size as f64 / 1e6);
            ratios[s].push(run.delivered as f64 / count as f64);
            runs[s].push(json!({
                "delivered": run.delivered,
                "seconds": seconds,
                "messages_per_second": rate,
                "relay_delivered": run.tested_delivered,
            }));
        }
    }
    let note = |s: usize| {
        format!(
            "{:.1} MB/s, delivered {:.3}",
            median_of(&megabytes[s]),
            ratios[s].iter().copied().fold(f64::INFINITY, f64::min)
        )
    };
    let row = Row {
        name: format!("relay, {count} × {} KiB, window {window}", size / 1024),
        unit: "msg/s",
        lower_is_better: false,
        hyphae: median_of(&rates[0]),
        rust_libp2p: median_of(&rates[1]),
        notes: [note(0), note(1)],
    };
    let value = json!({
        "messages": count,
        "bytes": size,
        "window": window,
        "hyphae": runs[0],
        "rust_libp2p": runs[1],
        "min_delivery_ratio": [
            ratios[0].iter().copied().fold(f64::INFINITY, f64::min),
            ratios[1].iter().copied().fold(f64::INFINITY, f64::min),
        ],
    });
    Ok((row, value))
}

/// RSS growth of the node under test, in KiB, from joining `topics` topics and connecting
/// `peers` peers that join them too.
async fn memory_growth(stack: Stack, peers: usize, topics: usize) -> anyhow::Result<(f64, Value)> {
    let mut tested = Tested::spawn(stack).await?;
    let addr = tested.addr.clone();
    // The per-peer benchmark measures peers joining a topic the node is in; the per-topic
    // benchmark measures topics joined by the node and its connected peers.
    let per_peer = topics == 1;
    if per_peer {
        tested.ask("subscribe 1").await?;
    }
    let mut nodes = Vec::new();
    if !per_peer {
        for _ in 0..peers {
            let (node, handle, _) = peer(&addr, 0).await?;
            tokio::time::timeout(
                SETUP_TIMEOUT,
                handle.wait_for(
                    |handle| async move { handle.stats().await.peers },
                    |&peers| peers >= 1,
                ),
            )
            .await
            .context("no pubsub stream")?;
            nodes.push((node, handle, Vec::new()));
        }
    }
    tokio::time::sleep(SETTLE).await;
    let before = tested.rss_kib()?;
    if per_peer {
        nodes = futures::stream::iter(0..peers)
            .map(|_| peer(&addr, 1))
            .buffer_unordered(32)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
    } else {
        tested.ask(&format!("subscribe {topics}")).await?;
        for (_, handle, subscriptions) in &mut nodes {
            for index in 0..topics {
                subscriptions.push(handle.subscribe(topic(index)).await?);
            }
        }
    }
    let mesh = peers.min(6);
    let (subscribed, mesh) = tested.wait_for_peers(topics - 1, peers, mesh).await?;
    tokio::time::sleep(SETTLE).await;
    let after = tested.rss_kib()?;
    tested.stop().await?;
    futures::future::join_all(nodes.iter().map(|(node, _, _)| node.shutdown())).await;
    let growth = after as f64 - before as f64;
    Ok((
        growth,
        json!({
            "rss_before_kib": before,
            "rss_after_kib": after,
            "subscribed_peers": subscribed,
            "mesh_peers": mesh,
        }),
    ))
}

/// Benchmark 2: RSS per peer of a node in one topic with `peers` peers.
async fn memory_per_peer(plan: &Plan, peers: usize) -> anyhow::Result<(Row, Value)> {
    let mut per_peer = [Vec::new(), Vec::new()];
    let mut runs = [Vec::new(), Vec::new()];
    for rep in 0..plan.reps {
        for (s, stack) in STACKS.into_iter().enumerate() {
            eprintln!(
                "peers: {} rep {rep}: {peers} peers in one topic",
                stack.arg()
            );
            let (growth, value) = memory_growth(stack, peers, 1).await?;
            eprintln!("  {:.2} KiB per peer ({value})", growth / peers as f64);
            per_peer[s].push(growth / peers as f64);
            runs[s].push(value);
        }
    }
    let row = Row {
        name: format!("memory per peer, {peers} peers in one topic"),
        unit: "KiB",
        lower_is_better: true,
        hyphae: median_of(&per_peer[0]),
        rust_libp2p: median_of(&per_peer[1]),
        notes: Default::default(),
    };
    let value = json!({
        "peers": peers,
        "kib_per_peer": [per_peer[0], per_peer[1]],
        "hyphae": runs[0],
        "rust_libp2p": runs[1],
    });
    Ok((row, value))
}

/// Benchmark 3: RSS per topic of a node and [`TOPIC_PEERS`] peers all in `topics` topics.
async fn memory_per_topic(plan: &Plan, topics: usize) -> anyhow::Result<(Row, Value)> {
    let mut per_topic = [Vec::new(), Vec::new()];
    let mut runs = [Vec::new(), Vec::new()];
    for rep in 0..plan.reps {
        for (s, stack) in STACKS.into_iter().enumerate() {
            eprintln!(
                "topics: {} rep {rep}: {topics} topics, {TOPIC_PEERS} peers in each",
                stack.arg()
            );
            let (growth, value) = memory_growth(stack, TOPIC_PEERS, topics).await?;
            eprintln!("  {:.2} KiB per topic ({value})", growth / topics as f64);
            per_topic[s].push(growth / topics as f64);
            runs[s].push(value);
        }
    }
    let row = Row {
        name: format!("memory per topic, {topics} topics, {TOPIC_PEERS} peers in each"),
        unit: "KiB",
        lower_is_better: true,
        hyphae: median_of(&per_topic[0]),
        rust_libp2p: median_of(&per_topic[1]),
        notes: Default::default(),
    };
    let value = json!({
        "topics": topics,
        "peers": TOPIC_PEERS,
        "kib_per_topic": [per_topic[0], per_topic[1]],
        "hyphae": runs[0],
        "rust_libp2p": runs[1],
    });
    Ok((row, value))
}
