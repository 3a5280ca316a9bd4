//! `hyphae node`: run a node until interrupted.

use std::path::PathBuf;

use anyhow::Context;
use hyphae::gossipsub::Gossipsub;
use hyphae::kad::{DiskStore, Kademlia, Mode, ModeSetting, StoreLimits};
use hyphae::resources::{ResourceLimits, file_descriptor_limit};
use hyphae::{IpNet, Limits, Multiaddr, Node, Protocol};

/// Arguments of `hyphae node`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Address to listen on; may be repeated. TCP (`/ip4/0.0.0.0/tcp/4001`), WebSocket
    /// (`…/tcp/4002/ws`) and QUIC (`/ip4/0.0.0.0/udp/4001/quic-v1`) addresses work.
    #[arg(long, value_name = "ADDR", default_values_t = default_listen())]
    listen: Vec<Multiaddr>,
    /// Key file to use as the node's identity (created with a new Ed25519 key if missing).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// How the node takes part in the Kademlia DHT: `server` answers queries, `client` only
    /// asks, `auto` serves once the node has a confirmed public address, `off` runs no DHT.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = ["server", "client", "auto", "off"])]
    dht: String,
    /// A DHT peer to join through, as a multiaddr ending in /p2p/<peer id>; may be repeated.
    #[arg(long, value_name = "MULTIADDR")]
    bootstrap: Vec<Multiaddr>,
    /// Keep the DHT's records and provider entries in this database file (created if
    /// missing), so that they survive restarts; in memory otherwise.
    #[arg(long, value_name = "FILE")]
    dht_store: Option<PathBuf>,
    /// Accept DHT records of any namespace without validation (test networks).
    #[arg(long, value_name = "VALIDATOR", value_parser = ["accept-all"])]
    validator: Option<String>,
    /// Join this gossipsub topic and relay its messages; may be repeated. (The node speaks
    /// gossipsub either way, but relays only the topics it joined.)
    #[arg(long, value_name = "TOPIC")]
    topic: Vec<String>,
    /// Most connections held at once. At the limit, a new peer still gets in when a less
    /// valued connection can make room for it. The resource manager's stream counts make
    /// room for the long-lived streams (gossipsub, ping) of this many connections.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
    /// Past this many connections, close the least valued down to the low watermark
    /// (default: 15/16 of --max-connections).
    #[arg(long, value_name = "N")]
    high_watermark: Option<usize>,
    /// Where closing the least valued connections stops (default: 7/8 of
    /// --max-connections).
    #[arg(long, value_name = "N")]
    low_watermark: Option<usize>,
    /// Serve the node's metrics for Prometheus at http://ADDR/metrics (e.g.
    /// 127.0.0.1:9090; port 0 for any free port).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    /// A network exempt from the per-address caps and rates of inbound connections (as
    /// 10.0.0.0/8), besides loopback; may be repeated.
    #[arg(long, value_name = "CIDR")]
    allow: Vec<IpNet>,
    /// Cap loopback peers like any other address (by default loopback is exempt from the
    /// per-address caps and rates).
    #[arg(long)]
    cap_loopback: bool,
    /// Memory peers may make the node hold, in MiB: receive windows, queues, requests in
    /// flight. Every scope's limits (per peer, per connection, per service) scale with it.
    /// Default: 1/8 of the machine's memory.
    #[arg(long, value_name = "MIB")]
    memory_budget: Option<u64>,
}

/// Open files `hyphae node` keeps beyond its connections' sockets: listeners, the DHT store,
/// metrics requests, DNS lookups, the runtime's own.
const DESCRIPTORS_KEPT: u64 = 256;

/// Any free TCP port and any free UDP port for QUIC, on every IPv4 interface.
fn default_listen() -> [Multiaddr; 2] {
    let any = std::net::Ipv4Addr::UNSPECIFIED;
    let tcp = Multiaddr::empty()
        .with(Protocol::Ip4(any))
        .with(Protocol::Tcp(0));
    let quic = Multiaddr::empty()
        .with(Protocol::Ip4(any))
        .with(Protocol::Udp(0))
        .with(Protocol::QuicV1);
    [tcp, quic]
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let mut limits = Limits {
        max_connections: args.max_connections,
        high_watermark: args.high_watermark,
        low_watermark: args.low_watermark,
        ..Limits::default()
    };
    if args.cap_loopback {
        limits.allow.clear();
    }
    limits.allow.extend(args.allow);
    if let Some(mib) = args.memory_budget {
        limits.resources = ResourceLimits::for_memory_budget(mib.saturating_mul(1024 * 1024));
    }
    limits.resources = limits
        .resources
        .with_streams_for_connections(args.max_connections as u64);
    // A library shares its process, so its default is half the descriptors (as go-libp2p);
    // this process is the node, and keeps only a few for itself.
    if let Some(open_files) = file_descriptor_limit() {
        let system = &mut limits.resources.system;
        system.file_descriptors = system
            .file_descriptors
            .max(open_files.saturating_sub(DESCRIPTORS_KEPT));
    }
    let mut builder = Node::builder().limits(limits);
    if let Some(path) = &args.key {
        builder = builder.keypair(crate::id::load_or_create(path, None)?);
    }
    for addr in args.listen {
        builder = builder.listen(addr);
    }
    let mode = match args.dht.as_str() {
        "server" => Some(ModeSetting::Fixed(Mode::Server)),
        "client" => Some(ModeSetting::Fixed(Mode::Client)),
        "auto" => Some(ModeSetting::Automatic),
        _ => None,
    };
    if let Some(mode) = mode {
        let mut dht = Kademlia::default().mode(mode).bootstrap(args.bootstrap);
        if args.validator.is_some() {
            dht = dht.accept_all_records();
        }
        if let Some(path) = &args.dht_store {
            let store = DiskStore::open(path, StoreLimits::default())
                .with_context(|| format!("opening the DHT store {}", path.display()))?;
            dht = dht.store(store);
        }
        builder = builder.service(dht);
    }
    let node = builder.service(Gossipsub::default()).start().await?;
    let gossip = node
        .service::<Gossipsub>()
        .context("the gossipsub service is not running")?;
    // Joined topics are relayed; their messages are read and dropped here (a dropped
    // subscription would leave its topic).
    for topic in args.topic {
        let mut subscription = gossip.subscribe(topic).await?;
        tokio::spawn(async move { while subscription.next().await.is_some() {} });
    }
    println!("PeerId: {}", node.peer_id());
    for addr in node.listen_addrs() {
        println!("Listening on {addr}");
    }
    if let Some(addr) = args.metrics {
        let bound = crate::metrics::serve(addr, node.clone())
            .await
            .with_context(|| format!("serving metrics on {addr}"))?;
        println!("Metrics on http://{bound}/metrics");
    }
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    Ok(())
}
