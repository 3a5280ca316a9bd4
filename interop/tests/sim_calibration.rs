//! The simulator (`hyphae-sim`) against real processes: one 30-node DHT run as
//! `hyphae-kad-peer` processes in two network namespaces joined by `hyphae-linkem` (25 ms one
//! way between them, nothing added inside one), and as 30 simulated cores on a two-place
//! region table with the same latencies. Lookup rounds, requests and latencies must agree
//! within the tolerances below; `sim/CALIBRATION.md` has the numbers and the reasons.
//!
//! Both sides are brought to the same state before anything is measured: every routing table
//! holds all 29 other servers (but for a bucket that more than k of them share: it holds k)
//! and every pair of nodes holds a connection, so the lookups measure rounds of round trips.
//! (The simulator seeds its tables from the ground truth; the real nodes bootstrap through
//! one node and then ping each other.) What a new connection
//! costs is measured on its own, a ping right after a disconnect against one on the open
//! connection, and compared with the model's `connection_setup_rtts`.
//!
//! Needs root, `/dev/net/tun` and iproute2, like linkem's own tests: without them it fails
//! saying so, it never passes vacuously. It measures time, so it runs alone: it shares
//! linkem's test lock, and `.config/nextest.toml` gives it every test thread.

use std::collections::{BTreeMap, HashSet};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use futures::future::join_all;
use hyphae::PeerId;
use hyphae::kad::{Config, Key, Rng};
use hyphae_interop::PeerProcess;
use hyphae_interop::kad::to_hex;
use hyphae_linkem::Link;
use hyphae_sim::adversary::AdversaryConfig;
use hyphae_sim::churn::ChurnConfig;
use hyphae_sim::network::{NetworkConfig, NodeClass, RegionTable, RegionTableSpec};
use hyphae_sim::simulation::{SimConfig, Simulation};
use tokio::process::Command;

/// Servers in the DHT, alternating between namespace A (even) and B (odd).
const NODES: usize = 30;
/// One-way delay between the namespaces.
const ONE_WAY_MS: f64 = 25.0;
/// The round trip across.
const RTT_MS: f64 = 2.0 * ONE_WAY_MS;
/// Lookups measured on the real processes, one at a time.
const REAL_LOOKUPS: usize = 120;
/// Nodes that run them, in turn (half in each namespace).
const QUERIERS: usize = 10;
/// Namespace-crossing pairs whose connection set-up is measured.
const SETUP_PAIRS: usize = 8;
/// Simulated networks (each with its own peer ids) and lookups in each. Pooled, they carry
/// little sampling noise beside the real lookups'; their spread says how far one network,
/// as the real run is, may be from the pool.
const SIM_SEEDS: u64 = 12;
const SIM_LOOKUPS: usize = 150;
/// Round trips a new connection costs before its first request can leave: TCP's handshake;
/// multistream-select choosing the security protocol (a default node offers Noise and TLS, so
/// the dialer waits for the answer instead of sending Noise's first message with its
/// proposal); Noise XX's first two messages. The third travels with the first request, the
/// muxer being agreed inside the handshake.
const CONNECTION_SETUP_RTTS: f64 = 3.0;
/// The whole real side (about 15 s).
const REAL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long routing tables may take to list every peer once all are connected (identify
/// runs after the connection is up).
const TABLE_TIMEOUT: Duration = Duration::from_secs(10);

// The tolerances, from what the model leaves out and from sampling (sim/CALIBRATION.md).

/// Hop rounds: the same core on complete tables, so only sampling may separate the means.
const HOPS_MEAN_TOLERANCE: f64 = 0.25;
/// Requests per lookup, as a share of the simulated mean: how many the lookup phase sends
/// depends on which answers come first, which processing can reorder among answers that
/// arrive together.
const REQUESTS_MEAN_TOLERANCE: f64 = 0.15;
/// Processing the model leaves out (the lookup's tens of messages encoded, decoded and
/// scheduled by debug builds; with no delay at all a whole lookup takes 11-18 ms here, and
/// 22 ms at the median beyond its round trips when another CPU-bound job shared the two
/// cores): a real lookup may take up to this much longer than its round trips...
const PROCESSING_MS: f64 = 20.0;
/// ... plus this share of them (a message arriving while the receiver is busy waits).
const PROCESSING_SHARE: f64 = 0.15;
/// Forwarding jitter the other way: nothing in the real run is faster than the model.
const FASTER_MS: f64 = 3.0;
/// How many standard errors a statistic of the real lookups may be off: the sampling of
/// its lookups and the draw of its one set of peer ids.
const SAMPLING_Z: f64 = 2.5;
/// Connection set-up, in round trips either way (the handshake's key exchanges and
/// signatures are the processing here).
const SETUP_RTTS_TOLERANCE: f64 = 0.25;

/// What one lookup measured.
#[derive(Debug, Clone, Copy)]
struct Lookup {
    ms: f64,
    hops: u32,
    requests: u32,
}

/// The lookups of one side.
#[derive(Debug, Clone)]
struct Figures {
    lookups: Vec<Lookup>,
}

impl Figures {
    fn hops(&self) -> Vec<f64> {
        self.lookups.iter().map(|l| f64::from(l.hops)).collect()
    }

    fn requests(&self) -> Vec<f64> {
        self.lookups.iter().map(|l| f64::from(l.requests)).collect()
    }

    fn ms(&self) -> Vec<f64> {
        self.lookups.iter().map(|l| l.ms).collect()
    }

    /// What each lookup took beyond the whole round trips across it spans: the processing.
    fn beyond_round_trips(&self) -> Vec<f64> {
        self.lookups
            .iter()
            .map(|l| {
                let rounds = ((l.ms + FASTER_MS) / RTT_MS).floor().max(1.0);
                l.ms - rounds * RTT_MS
            })
            .collect()
    }

    /// The share of lookups over within one round trip across (the rest take two or more).
    /// Two round trips across take at least 2 RTT of network time, so whatever ends sooner
    /// waited on one, however long its processing took (up to a round trip).
    fn one_round_share(&self) -> f64 {
        let fast = self
            .lookups
            .iter()
            .filter(|l| l.ms < 2.0 * RTT_MS - 1.0)
            .count();
        fast as f64 / self.lookups.len().max(1) as f64
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// The value at quantile `q` (nearest rank), `q` clamped to 0..=1.
fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize]
}

/// How much slower than `ms` of round trips a real lookup may be.
fn processing_allowance(ms: f64) -> f64 {
    PROCESSING_MS + PROCESSING_SHARE * ms
}

/// What the real run measured besides its lookups.
struct RealRun {
    figures: Figures,
    /// Ping on a new connection minus ping on the open one, per pair, ms.
    setup_ms: Vec<f64>,
    /// Ping on an open connection across the link, ms.
    cross_ping_ms: Vec<f64>,
    /// Ping on an open connection inside a namespace, ms.
    local_ping_ms: Vec<f64>,
}

#[test]
fn simulated_lookups_agree_with_real_processes_over_an_emulated_link() {
    let started = Instant::now();
    let link = Link::builder()
        .delay(Duration::from_secs_f64(ONE_WAY_MS / 1000.0))
        .prefix("lkcal")
        .start()
        .unwrap_or_else(|error| {
            panic!(
                "the calibration needs root, /dev/net/tun and `ip netns` (iproute2), as \
                 linkem's tests do; setting up the link failed: {error}"
            )
        });
    let _lock = exclusive();
    let addrs = private_addrs(&link);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let real = runtime.block_on(async {
        tokio::time::timeout(REAL_TIMEOUT, measure_real(&link, addrs, started))
            .await
            .unwrap_or_else(|_| panic!("the real run did not finish within {REAL_TIMEOUT:?}"))
    });
    drop(link);
    let sim = simulate();
    println!("[{:5.1} s] simulated", started.elapsed().as_secs_f64());
    compare(&real, &sim);
}

/// Serialises this test with linkem's tests that measure time or saturate the CPU (the same
/// lock file): a 10 Gbit/s transfer next to this run would delay its forwarding threads.
fn exclusive() -> std::fs::File {
    let file = std::fs::File::create(std::env::temp_dir().join("hyphae-linkem-tests.lock"))
        .expect("creating the test lock file");
    file.lock().expect("locking the test lock file");
    file
}

/// Gives each namespace a private address on its link and returns them (A, B).
///
/// The link's own addresses, 198.18.0.1 and .2, are public to the routing table's IP
/// diversity limit: all 30 peers would share one /16 group, and a table keeps at most 3
/// entries of a group. Private addresses are exempt (as on a LAN), like the simulator's.
fn private_addrs(link: &Link) -> (String, String) {
    // Inside the link's own namespaces, so they cannot clash with anything on the host.
    let a = "10.18.0.1".to_owned();
    let b = "10.18.0.2".to_owned();
    for (namespace, interface, addr) in [
        (link.namespace_a(), link.interface_a(), &a),
        (link.namespace_b(), link.interface_b(), &b),
    ] {
        let status = StdCommand::new("ip")
            .args(["-n", namespace, "addr", "add"])
            .arg(format!("{addr}/24"))
            .args(["dev", interface])
            .status()
            .expect("running ip addr add");
        assert!(status.success(), "ip addr add {addr} in {namespace} failed");
    }
    (a, b)
}

/// A real peer and what it said about itself.
struct Peer {
    id: PeerId,
    full_addr: String,
    process: PeerProcess,
}

impl Peer {
    async fn start(namespace: &str, ip: &str, bootstrap: Option<&str>) -> Peer {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", namespace])
            .arg(env!("CARGO_BIN_EXE_hyphae-kad-peer"))
            .args(["--listen", &format!("/ip4/{ip}/tcp/0")]);
        if let Some(addr) = bootstrap {
            command.args(["--bootstrap", addr]);
        }
        let mut process = PeerProcess::spawn(command);
        let full_addr = process.line("LISTEN ").await;
        let id = full_addr
            .rsplit_once("/p2p/")
            .and_then(|(_, id)| id.parse().ok())
            .unwrap_or_else(|| panic!("LISTEN {full_addr} has no /p2p/<id>"));
        process.line("READY").await;
        Peer {
            id,
            full_addr,
            process,
        }
    }

    async fn ask(&mut self, command: &str) -> String {
        self.process.send(command).await;
        self.process.next_line().await
    }

    /// `ping-stats`: the time of one ping to `peer` (an id, or an address ending in
    /// `/p2p/<id>`) and whether it needed a new connection.
    async fn ping(&mut self, peer: &str) -> (f64, bool) {
        let answer = self.ask(&format!("ping-stats {peer}")).await;
        let ms = field(&answer, "ms=")
            .and_then(|ms| ms.parse().ok())
            .unwrap_or_else(|| panic!("ping-stats answered {answer:?}"));
        (ms, field(&answer, "new=") == Some("true"))
    }

    /// The ids listed after `prefix` in the answer to `command`.
    async fn ids(&mut self, command: &str, prefix: &str) -> HashSet<PeerId> {
        let answer = self.ask(command).await;
        let ids = answer
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("{command} answered {answer:?}"));
        ids.split_whitespace()
            .map(|id| id.parse().expect("a peer id"))
            .collect()
    }
}

/// The value of `name` (e.g. `ms=`) in an answer of words `name=value`.
fn field<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer
        .split_whitespace()
        .find_map(|word| word.strip_prefix(name))
}

async fn measure_real(link: &Link, (ip_a, ip_b): (String, String), started: Instant) -> RealRun {
    let phase = |what: &str| println!("[{:5.1} s] {what}", started.elapsed().as_secs_f64());
    let place = |i: usize| {
        if i.is_multiple_of(2) {
            (link.namespace_a(), ip_a.as_str())
        } else {
            (link.namespace_b(), ip_b.as_str())
        }
    };
    let first = Peer::start(place(0).0, place(0).1, None).await;
    let bootstrap = first.full_addr.clone();
    let rest =
        join_all((1..NODES).map(|i| Peer::start(place(i).0, place(i).1, Some(&bootstrap)))).await;
    let mut peers = vec![first];
    peers.extend(rest);
    let ids: Vec<PeerId> = peers.iter().map(|p| p.id).collect();
    phase("real peers started");

    // Connect every pair: each node pings those after it (by address: it may not have
    // heard of them yet), all nodes at once.
    let full_addrs: Vec<String> = peers.iter().map(|p| p.full_addr.clone()).collect();
    join_all(peers.iter_mut().enumerate().map(|(i, peer)| {
        let later = full_addrs[i + 1..].to_vec();
        async move {
            for addr in later {
                peer.ping(&addr).await;
            }
        }
    }))
    .await;
    await_complete_tables(&mut peers, &ids).await;
    phase("every pair connected, every table complete");

    // Connection set-up, one pair at a time on a quiet network: a ping right after a
    // disconnect dials first; the next one uses the connection.
    let mut setup_ms = Vec::new();
    let mut cross_ping_ms = Vec::new();
    for pair in 0..SETUP_PAIRS {
        let (from, to) = (2 * pair, 2 * pair + 1 + 2 * (pair % 3));
        let other = ids[to].to_string();
        let answer = peers[from].ask(&format!("disconnect {other}")).await;
        assert_eq!(answer, "DISCONNECTED");
        let (cold, is_new) = peers[from].ping(&other).await;
        assert!(is_new, "the ping after a disconnect reused a connection");
        let (warm, is_new) = peers[from].ping(&other).await;
        assert!(!is_new);
        setup_ms.push(cold - warm);
        cross_ping_ms.push(warm);
    }
    let mut local_ping_ms = Vec::new();
    for pair in 0..SETUP_PAIRS {
        // Inside A, then inside B, in turn.
        let from = 2 * pair + pair % 2;
        let (warm, is_new) = peers[from].ping(&ids[from + 2].to_string()).await;
        assert!(
            !is_new,
            "node {from} lost its connection to node {}",
            from + 2
        );
        local_ping_ms.push(warm);
    }
    phase("connection set-up measured");

    let mut rng = Rng::from_seed(1);
    let mut lookups = Vec::new();
    for n in 0..REAL_LOOKUPS {
        let querier = n % QUERIERS;
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        let answer = peers[querier]
            .ask(&format!("closest-stats hex:{}", to_hex(&key)))
            .await;
        let number = |name: &str| -> f64 {
            field(&answer, name)
                .and_then(|value| value.parse().ok())
                .unwrap_or_else(|| panic!("closest-stats answered {answer:?}"))
        };
        let found: HashSet<PeerId> = field(&answer, "peers=")
            .unwrap_or_default()
            .split(',')
            .filter_map(|id| id.parse().ok())
            .collect();
        let truth = true_closest(&ids, ids[querier], &Key::for_bytes(&key));
        assert!(
            truth.iter().all(|id| found.contains(id)),
            "lookup {n} from node {querier} missed some of the 20 closest: {answer}"
        );
        lookups.push(Lookup {
            ms: number("ms="),
            hops: number("hops=") as u32,
            requests: number("requests=") as u32,
        });
    }
    phase("real lookups done");
    // Still one connection per pair: no lookup paid for a dial.
    for peer in &mut peers {
        let connected = peer.ids("connected", "CONNECTED").await;
        assert_eq!(connected.len(), NODES - 1, "{} lost connections", peer.id);
    }
    RealRun {
        figures: Figures { lookups },
        setup_ms,
        cross_ping_ms,
        local_ping_ms,
    }
}

/// Waits until every real node is connected to all others and its table is complete.
async fn await_complete_tables(peers: &mut [Peer], ids: &[PeerId]) {
    let deadline = tokio::time::Instant::now() + TABLE_TIMEOUT;
    for peer in peers.iter_mut() {
        let others: HashSet<PeerId> = ids.iter().copied().filter(|id| *id != peer.id).collect();
        // A bucket holds at most k: of a larger one, any k will do (the simulator samples).
        let full = bucket_sizes(peer.id, others.iter(), Config::default().k);
        loop {
            let connected = peer.ids("connected", "CONNECTED").await;
            let table = peer.ids("table", "TABLE").await;
            if connected == others
                && table.is_subset(&others)
                && bucket_sizes(peer.id, table.iter(), usize::MAX) == full
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: {} of {} others connected, {} in the table (of {} that fit) after \
                 {TABLE_TIMEOUT:?}",
                peer.id,
                connected.len(),
                others.len(),
                table.len(),
                full.values().sum::<usize>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How many of `peers` fall in each bucket of `local`'s table (by the length of the prefix
/// their keys share), at most `cap` each.
fn bucket_sizes<'a>(
    local: PeerId,
    peers: impl Iterator<Item = &'a PeerId>,
    cap: usize,
) -> BTreeMap<u32, usize> {
    let local = Key::for_peer(&local);
    let mut sizes = BTreeMap::new();
    for peer in peers {
        let size = sizes
            .entry(local.common_prefix_len(&Key::for_peer(peer)))
            .or_insert(0);
        *size = (*size + 1).min(cap);
    }
    sizes
}

/// The k servers closest to `target`, but `querier`.
fn true_closest(ids: &[PeerId], querier: PeerId, target: &Key) -> Vec<PeerId> {
    let mut others: Vec<PeerId> = ids.iter().copied().filter(|id| *id != querier).collect();
    others.sort_by_key(|id| Key::for_peer(id).distance(target));
    others.truncate(Config::default().k);
    others
}

/// The testbed as the simulator sees it: two places, 25 ms apart one way, the nodes
/// alternating between them; links as fast as linkem forwards (~10 Gbit/s); nothing lost,
/// everyone reachable.
fn network() -> NetworkConfig {
    let regions = RegionTable::new(RegionTableSpec {
        names: vec!["a".to_owned(), "b".to_owned()],
        weights: Vec::new(),
        one_way_latency_ms: vec![vec![0.0, ONE_WAY_MS], vec![ONE_WAY_MS, 0.0]],
        nodes: vec!["a".to_owned(), "b".to_owned()],
    })
    .expect("a well-formed table");
    NetworkConfig {
        loss: 0.0,
        unreachable_share: 0.0,
        connection_setup_rtts: CONNECTION_SETUP_RTTS,
        classes: vec![NodeClass {
            upload_mbit: 10_000.0,
            download_mbit: 10_000.0,
            weight: 1,
        }],
        regions,
        ..NetworkConfig::default()
    }
}

/// The simulated lookups, pooled, and how much one network differs from the next.
struct Simulated {
    figures: Figures,
    /// Variance of the one-round share between networks (sets of peer ids) beyond the
    /// sampling variance of the lookups in each: who is near whom decides how many lookups
    /// need a second round trip.
    geometry_variance: f64,
}

/// Runs the same topology in the simulator, once per seed, and pools the lookups.
fn simulate() -> Simulated {
    let mut lookups = Vec::new();
    let mut shares = Vec::new();
    for seed in 1..=SIM_SEEDS {
        let mut sim = Simulation::new(SimConfig {
            seed,
            nodes: NODES,
            network: network(),
            kad: Config::default(),
            churn: ChurnConfig::default(),
            adversaries: AdversaryConfig::default(),
        });
        sim.seed_routing_tables(Config::default().k);
        connect_every_pair(&mut sim);
        for n in 0..SIM_LOOKUPS {
            let mut key = [0u8; 32];
            sim.rng().fill(&mut key);
            lookups.push(sim_lookup(&mut sim, n % QUERIERS, key.to_vec()));
        }
        let network = Figures {
            lookups: lookups[lookups.len() - SIM_LOOKUPS..].to_vec(),
        };
        shares.push(network.one_round_share());
    }
    let share = mean(&shares);
    let between = shares.iter().map(|s| (s - share).powi(2)).sum::<f64>()
        / (shares.len() as f64 - 1.0).max(1.0);
    let within = share * (1.0 - share) / SIM_LOOKUPS as f64;
    Simulated {
        figures: Figures { lookups },
        geometry_variance: (between - within).max(0.0),
    }
}

/// Brings the simulation to the real side's state, a connection between every pair: a node
/// not yet connected to another looks up that node's id, which asks it.
fn connect_every_pair(sim: &mut Simulation) {
    for node in 0..NODES {
        for other in 0..NODES {
            if other != node && !sim.links().is_connected(node, other) {
                let key = sim.nodes()[other].peer.to_bytes();
                sim_lookup(sim, node, key);
            }
        }
    }
    for a in 0..NODES {
        for b in 0..a {
            assert!(sim.links().is_connected(a, b), "{a} and {b} never met");
        }
    }
}

/// One lookup by `node`, run to its end with nothing else going on.
fn sim_lookup(sim: &mut Simulation, node: usize, key: Vec<u8>) -> Lookup {
    let now = sim.now_instant();
    let started = sim.now();
    let query = sim
        .dht_mut(node)
        .get_closest_peers(key, now)
        .expect("a query slot");
    sim.touch(node);
    sim.watch(node, query);
    loop {
        sim.step().expect("the lookup's events");
        if let Some(done) = sim.take_finished().into_iter().next() {
            return Lookup {
                ms: (done.at.0 - started.0) as f64 / 1e6,
                hops: done.stats.hops,
                requests: done.stats.requests as u32,
            };
        }
    }
}

/// Prints both sides and checks that they agree.
fn compare(real: &RealRun, simulated: &Simulated) {
    let sim = &simulated.figures;
    let setup_rtts = quantile(&real.setup_ms, 0.5) / RTT_MS;
    let n = real.figures.lookups.len() as f64;
    let (real_ms, sim_ms) = (real.figures.ms(), sim.ms());
    let (real_hops, sim_hops) = (real.figures.hops(), sim.hops());
    let (real_requests, sim_requests) = (real.figures.requests(), sim.requests());
    let rows = [
        ("hop rounds, mean", mean(&real_hops), mean(&sim_hops)),
        (
            "hop rounds, median",
            quantile(&real_hops, 0.5),
            quantile(&sim_hops, 0.5),
        ),
        ("requests, mean", mean(&real_requests), mean(&sim_requests)),
        (
            "latency p50, ms",
            quantile(&real_ms, 0.5),
            quantile(&sim_ms, 0.5),
        ),
        (
            "latency p90, ms",
            quantile(&real_ms, 0.9),
            quantile(&sim_ms, 0.9),
        ),
        ("latency mean, ms", mean(&real_ms), mean(&sim_ms)),
        (
            "beyond whole round trips, median ms",
            quantile(&real.figures.beyond_round_trips(), 0.5),
            quantile(&sim.beyond_round_trips(), 0.5),
        ),
        (
            "lookups within one round trip across",
            real.figures.one_round_share(),
            sim.one_round_share(),
        ),
        (
            "connection set-up, round trips",
            setup_rtts,
            CONNECTION_SETUP_RTTS,
        ),
    ];
    let mut table = format!(
        "{NODES} servers, {ONE_WAY_MS} ms one way between two namespaces; {} real lookups, \
         {} simulated ({SIM_SEEDS} seeds)\n\n| | real | sim |\n|---|---|---|\n",
        real.figures.lookups.len(),
        sim.lookups.len()
    );
    for (name, real, sim) in rows {
        table.push_str(&format!("| {name} | {real:.2} | {sim:.2} |\n"));
    }
    let deciles = |values: &[f64]| -> Vec<f64> {
        (1..10)
            .map(|q| rounded(quantile(values, f64::from(q) / 10.0)))
            .collect()
    };
    table.push_str(&format!(
        "\none-round share between simulated networks: sd {:.3} beyond sampling\n\
         ping on an open connection, median: across {:.2} ms, inside a namespace {:.2} ms\n\
         set-up per pair (ms): {:?}\nlatency deciles (ms), real: {:?}\n\
         latency deciles (ms), sim:  {:?}\n",
        simulated.geometry_variance.sqrt(),
        quantile(&real.cross_ping_ms, 0.5),
        quantile(&real.local_ping_ms, 0.5),
        real.setup_ms
            .iter()
            .map(|ms| rounded(*ms))
            .collect::<Vec<_>>(),
        deciles(&real_ms),
        deciles(&sim_ms),
    ));
    println!("{table}");

    assert!(
        (mean(&real_hops) - mean(&sim_hops)).abs() <= HOPS_MEAN_TOLERANCE,
        "mean hop rounds differ by more than {HOPS_MEAN_TOLERANCE}\n{table}"
    );
    assert_eq!(
        quantile(&real_hops, 0.5),
        quantile(&sim_hops, 0.5),
        "median hop rounds differ\n{table}"
    );
    let requests = (mean(&real_requests), mean(&sim_requests));
    assert!(
        (requests.0 - requests.1).abs() <= REQUESTS_MEAN_TOLERANCE * requests.1,
        "mean requests differ by more than {REQUESTS_MEAN_TOLERANCE} of the simulated\n{table}"
    );
    // How far a share (a quantile) of the real lookups may be from the simulated one.
    let error = |p: f64| SAMPLING_Z * (p * (1.0 - p) / n + simulated.geometry_variance).sqrt();
    // How many round trips a lookup needs: the shares that finish within one agree.
    let share = sim.one_round_share();
    let share_error = error(share);
    assert!(
        (real.figures.one_round_share() - share).abs() <= share_error,
        "the shares of lookups within one round trip differ by more than {share_error:.3}\n{table}"
    );
    // The latency quantiles: the real one lies where the simulated distribution puts that
    // quantile give or take its error (latencies form clusters a round trip apart, so a
    // quantile near a cluster's edge may fall in either), and above that by no more than
    // processing.
    for q in [0.5, 0.9] {
        let real_q = quantile(&real_ms, q);
        let error = error(q);
        let low = quantile(&sim_ms, q - error) - FASTER_MS;
        let high_ms = quantile(&sim_ms, q + error);
        let high = high_ms + processing_allowance(high_ms);
        assert!(
            (low..=high).contains(&real_q),
            "latency quantile {q}: real {real_q:.1} ms outside [{low:.1}, {high:.1}], the \
             simulated quantiles {:.2}..{:.2} widened by processing\n{table}",
            q - error,
            q + error
        );
    }
    // Within a cluster, what the real lookup adds is processing: at the median, no more than
    // the allowance over the round trips it took.
    let median_excess = quantile(&real.figures.beyond_round_trips(), 0.5);
    assert!(
        (-FASTER_MS..=processing_allowance(RTT_MS)).contains(&median_excess),
        "real lookups take {median_excess:.1} ms beyond their round trips at the median\n{table}"
    );
    assert!(
        (setup_rtts - CONNECTION_SETUP_RTTS).abs() <= SETUP_RTTS_TOLERANCE,
        "a new connection costs {setup_rtts:.2} round trips, the model \
         {CONNECTION_SETUP_RTTS}\n{table}"
    );
}

/// `value` to one decimal, for printing.
fn rounded(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
