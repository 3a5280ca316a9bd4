//! hyphae as a node of the libp2p/test-plans gossipsub-interop suite
//! (`gossipsub-interop/test-specs/implementation.md`, instructions in
//! `gossipsub-interop/script_instruction.py`).
//!
//! The contract: the node id comes from the hostname (`node<N>`), the Ed25519 key from the
//! node id (its little-endian bytes as the secret), peers listen on TCP port 9000 of host
//! `node<N>`; a `params.json` gives the script (connect, subscribe, publish, wait, set a
//! topic's validation delay, gossipsub parameters); messages are anonymous and their id is
//! their first 8 bytes as a big-endian integer; stdout carries NDJSON events (`PeerID` at
//! start, `Received Message` for every copy received, duplicates included).
//!
//! To run many nodes on one machine's loopback, `--node-id N --port-base P` replace the
//! hostname and port 9000: node N listens on 127.0.0.1:P+N (see `interop/gossipsub-interop.sh`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use hyphae::gossipsub::{
    Config, Gossipsub, Handle, Limits, Message, MessageId, MessageIdFn, Received, SignaturePolicy,
    Validation,
};
use hyphae::{Keypair, Multiaddr, Node, PeerId, Protocol};
use serde_json::{Value, json};

/// The contract's port.
const CONTRACT_PORT: u16 = 9000;

struct Args {
    params: String,
    node_id: Option<i32>,
    port_base: Option<u16>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        params: String::new(),
        node_id: None,
        port_base: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let value = words
            .next()
            .with_context(|| format!("{word} needs a value"))?;
        match word.as_str() {
            "--params" => args.params = value,
            "--node-id" => args.node_id = Some(value.parse()?),
            "--port-base" => args.port_base = Some(value.parse()?),
            _ => bail!("unknown argument {word}"),
        }
    }
    if args.params.is_empty() {
        bail!("usage: hyphae-gossipsub-interop --params <params.json> [--node-id N --port-base P]");
    }
    Ok(args)
}

/// Where node `id` listens: the contract's `node<id>:9000`, or loopback port `base + id`.
fn address_of(id: i32, port_base: Option<u16>) -> anyhow::Result<Multiaddr> {
    let (ip, port) = match port_base {
        Some(base) => {
            let port = u16::try_from(i32::from(base) + id).context("port out of range")?;
            (IpAddr::V4(Ipv4Addr::LOCALHOST), port)
        }
        None => {
            let host = format!("node{id}:{CONTRACT_PORT}");
            let addr = host
                .to_socket_addrs()
                .with_context(|| format!("resolving {host}"))?
                .find(|addr| addr.is_ipv4())
                .with_context(|| format!("no IPv4 address for {host}"))?;
            (addr.ip(), CONTRACT_PORT)
        }
    };
    let ip = match ip {
        IpAddr::V4(ip) => Protocol::Ip4(ip),
        IpAddr::V6(ip) => Protocol::Ip6(ip),
    };
    Ok(Multiaddr::empty().with(ip).with(Protocol::Tcp(port)))
}

fn node_id_from_hostname() -> anyhow::Result<i32> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::env::var("HOSTNAME"))
        .context("reading the hostname")?;
    let hostname = hostname.trim();
    hostname
        .strip_prefix("node")
        .and_then(|digits| digits.parse().ok())
        .with_context(|| format!("hostname {hostname:?} is not node<N>"))
}

/// The contract's key: the node id, little-endian, at the start of the Ed25519 secret.
fn keypair_of(id: i32) -> Keypair {
    let mut secret = [0u8; 32];
    secret[..4].copy_from_slice(&id.to_le_bytes());
    Keypair::ed25519_from_secret(&secret)
}

/// The contract's message id: the first 8 bytes, big-endian.
fn numeric_id(data: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = data.get(..8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// One NDJSON line on stdout.
fn log(msg: &str, fields: Value) {
    let mut line = json!({ "time": rfc3339(SystemTime::now()), "level": "INFO", "msg": msg });
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    println!("{line}");
}

/// `time` as RFC 3339 in UTC with microseconds.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_micros()
    )
}

/// The script's instructions that apply to node `id`, in order (`ifNodeIDEquals` unwrapped).
fn instructions_for(script: &[Value], id: i32) -> Vec<Value> {
    let mut mine = Vec::new();
    for instruction in script {
        let mut instruction = instruction;
        while instruction["type"] == "ifNodeIDEquals" {
            if instruction["nodeID"].as_i64() != Some(i64::from(id)) {
                break;
            }
            instruction = &instruction["instruction"];
        }
        if instruction["type"] != "ifNodeIDEquals" {
            mine.push(instruction.clone());
        }
    }
    mine
}

/// The router configuration of an `initGossipSub` instruction's parameters (go-libp2p-pubsub's
/// `GossipSubParams`, durations in nanoseconds).
fn config_from(params: &Value) -> Config {
    let mut config = Config {
        // Anonymous messages of any size the experiment asks for.
        max_transmit_size: 64 << 20,
        report_duplicates: true,
        ..Config::default()
    };
    let count = |name: &str| params[name].as_u64().map(|n| n as usize);
    let nanos = |name: &str| {
        params[name]
            .as_f64()
            .map(|n| Duration::from_nanos(n as u64))
    };
    if let Some(d) = count("D") {
        config.mesh_n = d;
    }
    if let Some(d) = count("Dlo") {
        config.mesh_n_low = d;
    }
    if let Some(d) = count("Dhi") {
        config.mesh_n_high = d;
    }
    if let Some(d) = count("Dscore") {
        config.mesh_n_score = d;
    }
    if let Some(d) = count("Dout") {
        config.mesh_outbound_min = d;
    }
    if let Some(d) = count("Dlazy") {
        config.gossip_lazy = d;
    }
    if let Some(n) = count("HistoryLength") {
        config.history_length = n;
    }
    if let Some(n) = count("HistoryGossip") {
        config.history_gossip = n;
    }
    if let Some(factor) = params["GossipFactor"].as_f64() {
        config.gossip_factor = factor;
    }
    if let Some(n) = count("GossipRetransmission") {
        config.gossip_retransmission = u32::try_from(n).unwrap_or(u32::MAX);
    }
    if let Some(interval) = nanos("HeartbeatInterval") {
        config.heartbeat_interval = interval;
    }
    if let Some(ttl) = nanos("FanoutTTL") {
        config.fanout_ttl = ttl;
    }
    if let Some(backoff) = nanos("PruneBackoff") {
        config.prune_backoff = backoff;
    }
    if let Some(backoff) = nanos("UnsubscribeBackoff") {
        config.unsubscribe_backoff = backoff;
    }
    if let Some(ticks) = params["OpportunisticGraftTicks"].as_u64() {
        config.opportunistic_graft_ticks = ticks;
    }
    if let Some(n) = count("OpportunisticGraftPeers") {
        config.opportunistic_graft_peers = n;
    }
    if let Some(n) = count("MaxIHaveLength") {
        config.max_ihave_length = n;
    }
    if let Some(n) = count("MaxIHaveMessages") {
        config.max_ihave_messages = n;
    }
    if let Some(n) = count("MaxIDontWantMessages") {
        config.max_idontwant_messages = n;
    }
    if let Some(time) = nanos("IWantFollowupTime") {
        config.iwant_followup_time = time;
    }
    if let Some(n) = count("IDontWantMessageThreshold") {
        config.idontwant_message_size_threshold = n;
    }
    if let Some(ttl) = nanos("IDontWantMessageTTL") {
        let heartbeat = config.heartbeat_interval.as_nanos().max(1);
        config.idontwant_heartbeats = u64::try_from(ttl.as_nanos() / heartbeat).unwrap_or(u64::MAX);
    }
    config
}

/// Per-topic validation delays (`setTopicValidationDelay`), shared with the validator.
type Delays = Arc<Mutex<HashMap<String, Duration>>>;

fn gossipsub(config: Config, delays: Delays) -> Gossipsub {
    let limits = Limits {
        max_rpc_len: config.max_transmit_size + 1024,
        ..Limits::default()
    };
    Gossipsub::new(config)
        .signature_policy(SignaturePolicy::StrictNoSign)
        .message_id_fn(MessageIdFn::new(|message: &Message| {
            let data = message.data.as_deref().unwrap_or_default();
            MessageId::new(data.get(..8).unwrap_or(data).to_vec())
        }))
        .limits(limits)
        .deliver_duplicates()
        .validator(move |_source: PeerId, message: Message| {
            let delay = delays
                .lock()
                .ok()
                .and_then(|delays| delays.get(&message.topic).copied());
            async move {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                Validation::Accept
            }
        })
}

fn log_received(received: &Received) {
    let Some(id) = numeric_id(received.data()) else {
        return;
    };
    log(
        "Received Message",
        json!({
            "service": "gossipsub",
            "id": id.to_string(),
            "from": received.source.to_string(),
            "topic": received.message.topic,
        }),
    );
}

struct Experiment {
    node: Node,
    gossip: Handle,
    delays: Delays,
    port_base: Option<u16>,
    start: Instant,
}

impl Experiment {
    /// Dials `addr`, retrying for a while: nodes of an experiment start at about the same
    /// time, so a peer may not listen yet.
    async fn connect(&self, addr: &Multiaddr) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.node.dial(addr).await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() >= deadline => return Err(error.into()),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    async fn run(&self, instruction: &Value) -> anyhow::Result<()> {
        match instruction["type"].as_str().unwrap_or_default() {
            "connect" => {
                for target in instruction["connectTo"].as_array().into_iter().flatten() {
                    let target = i32::try_from(target.as_i64().context("node id")?)?;
                    let peer = keypair_of(target).peer_id();
                    let addr = address_of(target, self.port_base)?.with(Protocol::P2p(peer));
                    self.connect(&addr)
                        .await
                        .with_context(|| format!("connecting to node {target} at {addr}"))?;
                    eprintln!("connected to node {target}");
                }
            }
            "subscribeToTopic" => {
                let topic = instruction["topicID"].as_str().context("topicID")?;
                let mut subscription = self.gossip.subscribe(topic).await?;
                tokio::spawn(async move {
                    while let Some(received) = subscription.next().await {
                        log_received(&received);
                    }
                });
            }
            "publish" => {
                let id = instruction["messageID"].as_u64().context("messageID")?;
                let size = instruction["messageSizeBytes"].as_u64().context("size")?;
                let topic = instruction["topicID"].as_str().context("topicID")?;
                let mut data = vec![0u8; usize::try_from(size)?.max(8)];
                data[..8].copy_from_slice(&id.to_be_bytes());
                match self.gossip.publish(topic, data).await {
                    Ok(_) => eprintln!("published message {id}"),
                    Err(error) => eprintln!("publishing message {id} failed: {error}"),
                }
            }
            "waitUntil" => {
                let elapsed = instruction["elapsedSeconds"]
                    .as_u64()
                    .context("elapsedSeconds")?;
                let until = self.start + Duration::from_secs(elapsed);
                tokio::time::sleep_until(until.into()).await;
            }
            "setTopicValidationDelay" => {
                let topic = instruction["topicID"].as_str().context("topicID")?;
                let seconds = instruction["delaySeconds"]
                    .as_f64()
                    .context("delaySeconds")?;
                if let Ok(mut delays) = self.delays.lock() {
                    delays.insert(topic.to_owned(), Duration::from_secs_f64(seconds.max(0.0)));
                }
            }
            // Applied when the node was built.
            "initGossipSub" => {}
            other => eprintln!("instruction {other:?} not supported: skipped"),
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let start = Instant::now();
    let args = parse_args()?;
    let params: Value = serde_json::from_str(
        &std::fs::read_to_string(&args.params)
            .with_context(|| format!("reading {}", args.params))?,
    )?;
    let node_id = match args.node_id {
        Some(id) => id,
        None => node_id_from_hostname()?,
    };
    let script = instructions_for(params["script"].as_array().context("no script")?, node_id);
    let config = script
        .iter()
        .find(|instruction| instruction["type"] == "initGossipSub")
        .map(|instruction| config_from(&instruction["gossipSubParams"]))
        .unwrap_or_else(|| config_from(&Value::Null));
    let delays = Delays::default();
    let listen = match args.port_base {
        Some(_) => address_of(node_id, args.port_base)?,
        None => Multiaddr::empty()
            .with(Protocol::Ip4(Ipv4Addr::UNSPECIFIED))
            .with(Protocol::Tcp(CONTRACT_PORT)),
    };
    let node = Node::builder()
        .keypair(keypair_of(node_id))
        .listen(listen)
        .service(gossipsub(config, delays.clone()))
        .start()
        .await?;
    log(
        "PeerID",
        json!({ "id": node.peer_id().to_string(), "node_id": node_id }),
    );
    let gossip = node
        .service::<Gossipsub>()
        .context("gossipsub is not running")?;
    let experiment = Experiment {
        node,
        gossip,
        delays,
        port_base: args.port_base,
        start,
    };
    for instruction in &script {
        experiment.run(instruction).await?;
    }
    experiment.node.shutdown().await;
    Ok(())
}
