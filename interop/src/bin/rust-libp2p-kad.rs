//! A rust-libp2p Kademlia peer (the crates.io `libp2p` crate, `kad` feature) that hyphae's
//! interop tests put into mixed DHT networks, driven through the line contract of
//! [`hyphae_interop::kad`]:
//!
//! `rust-libp2p-kad [--listen <multiaddr>] [--bootstrap <multiaddr>/p2p/<id>]... [--mode server|client]`
//!
//! What rust-libp2p needs told, beyond its defaults:
//! - the mode, set explicitly: on its own it stays a client until it has a confirmed external
//!   address;
//! - each listen address as a confirmed external address: those are the only addresses it puts
//!   in its `ADD_PROVIDER` records, and js-libp2p ignores a provider record without any;
//! - the listen addresses a peer announces through identify, when it announces `/ipfs/kad/1.0.0`:
//!   rust-libp2p adds peers that dialled us to its routing table only with an address given
//!   to it (`add_address`);
//! - inbound `PUT_VALUE` and `ADD_PROVIDER` are stored unfiltered (its default, set here
//!   explicitly), so no validator is needed for the `example` namespace.
//!
//! Wire keys: the key's bytes as they are, for every command (`RecordKey::new(&bytes)`).
//! Only answers go to stdout; notes on unusual events go to stderr.

use std::collections::HashSet;
use std::fmt::Display;
use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::StreamExt;
use hyphae_interop::kad::{COMMAND_TIMEOUT, PROTOCOL, parse_key, to_hex};
use libp2p::kad::store::MemoryStore;
use libp2p::kad::{
    self, GetClosestPeersError, GetProvidersOk, GetRecordOk, Mode, QueryId, QueryResult, Quorum,
    Record, RecordKey, StoreInserts,
};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, identify, noise, ping, tcp, yamux};
use tokio::io::AsyncBufReadExt;
use tokio::time::Instant;

/// The agent version this peer announces.
const AGENT: &str = "rust-kad-peer";
/// rust-libp2p's own limit on one query: below [`COMMAND_TIMEOUT`], so that a slow query ends
/// with what it found rather than with the command's timeout.
const QUERY_TIMEOUT: Duration = Duration::from_secs(25);
/// How long listening, connecting to the bootstrap peers and the self-lookup may take.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long an idle connection stays open: longer than a test, so that the peers of the
/// routing tables stay connected.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);
const USAGE: &str = "usage: rust-libp2p-kad [--listen <multiaddr>] \
                     [--bootstrap <multiaddr>/p2p/<id>]... [--mode server|client]";

#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    kad: kad::Behaviour<MemoryStore>,
}

/// The command line.
struct Options {
    listen: Multiaddr,
    bootstrap: Vec<(PeerId, Multiaddr)>,
    mode: Mode,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        listen: "/ip4/127.0.0.1/tcp/0".parse()?,
        bootstrap: Vec::new(),
        mode: Mode::Server,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--listen" => options.listen = value.parse().context("parsing --listen")?,
            "--bootstrap" => {
                let addr: Multiaddr = value.parse().context("parsing --bootstrap")?;
                let Some(Protocol::P2p(peer)) = addr.iter().last() else {
                    bail!("--bootstrap {addr} does not end in /p2p/<id>");
                };
                options.bootstrap.push((peer, addr));
            }
            "--mode" => {
                options.mode = match value.as_str() {
                    "server" => Mode::Server,
                    "client" => Mode::Client,
                    other => bail!("--mode {other}: expected server or client"),
                }
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// One command line of stdin.
#[derive(Debug)]
enum Command {
    Provide(Vec<u8>),
    FindProviders(Vec<u8>),
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Get(Vec<u8>),
    FindPeer(PeerId),
    Closest(Vec<u8>),
    /// Beyond the contract, for measurements: `closest-stats <key>` answers
    /// `STATS ms=… requests=… hops=- peers=<id>,<id>…` (rust-libp2p does not count hops).
    ClosestStats(Vec<u8>),
    Table,
}

fn parse_command(line: &str) -> Result<Command, String> {
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    let key = |text: &str| {
        if text.is_empty() || text.contains(' ') {
            return Err(format!("{name} needs one key"));
        }
        parse_key(text).map_err(|error| error.to_string())
    };
    Ok(match name {
        "provide" => Command::Provide(key(rest)?),
        "find-providers" => Command::FindProviders(key(rest)?),
        "put" => {
            let (k, value) = rest.split_once(' ').ok_or("put needs a key and a value")?;
            Command::Put {
                key: key(k)?,
                value: value.as_bytes().to_vec(),
            }
        }
        "get" => Command::Get(key(rest)?),
        "find-peer" => Command::FindPeer(
            rest.parse()
                .map_err(|error| format!("find-peer {rest:?}: {error}"))?,
        ),
        "closest" => Command::Closest(key(rest)?),
        "closest-stats" => Command::ClosestStats(key(rest)?),
        "table" if rest.is_empty() => Command::Table,
        _ => return Err(format!("unknown command {line:?}")),
    })
}

/// The running command, as far as answering it needs.
enum Waiting {
    Provide {
        key: Vec<u8>,
    },
    FindProviders {
        key: Vec<u8>,
        found: HashSet<PeerId>,
    },
    Put,
    Get,
    FindPeer(PeerId),
    Closest,
    ClosestStats,
}

/// The command being run: its query, what it still waits for, and when it times out.
struct Running {
    query: QueryId,
    waiting: Waiting,
    deadline: Instant,
}

/// Prints one answer line and flushes it (a broken stdout is ignored: stdin closing follows).
fn say(line: impl Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `addr` without a trailing `/p2p/<id>`.
fn without_peer_id(mut addr: Multiaddr) -> Multiaddr {
    if let Some(Protocol::P2p(_)) = addr.iter().last() {
        addr.pop();
    }
    addr
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rust-libp2p-kad: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = parse_options(&args)?;
    let mut swarm = new_swarm(options.mode)?;
    tokio::time::timeout(STARTUP_TIMEOUT, start(&mut swarm, options))
        .await
        .context("startup timed out")??;
    say("READY");

    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut running: Option<Running> = None;
    loop {
        // Without a running command this deadline is never awaited.
        let deadline = running
            .as_ref()
            .map_or_else(|| Instant::now() + COMMAND_TIMEOUT, |r| r.deadline);
        tokio::select! {
            line = lines.next_line(), if running.is_none() => {
                let Ok(Some(line)) = line else {
                    return Ok(());
                };
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                match parse_command(line) {
                    Ok(command) => running = begin(&mut swarm, command),
                    Err(error) => say(format_args!("ERROR {error}")),
                }
            }
            () = tokio::time::sleep_until(deadline), if running.is_some() => {
                if let Some(timed_out) = running.take() {
                    answer_timeout(&timed_out.waiting);
                    if let Some(mut query) = swarm.behaviour_mut().kad.query_mut(&timed_out.query) {
                        query.finish();
                    }
                }
            }
            event = swarm.select_next_some() => {
                observe(&mut swarm, &event);
                if let SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                    id, result, step, stats
                })) = event
                    && let Some(current) = running.as_mut().filter(|r| r.query == id)
                    && answer(&mut swarm, current, result, &stats, step.last)
                {
                    running = None;
                }
            }
        }
    }
}

fn new_swarm(mode: Mode) -> anyhow::Result<Swarm<Behaviour>> {
    let swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key| {
            let mut config = kad::Config::new(StreamProtocol::new(PROTOCOL));
            config.set_query_timeout(QUERY_TIMEOUT);
            config.set_record_filtering(StoreInserts::Unfiltered);
            let local = key.public().to_peer_id();
            let mut kad = kad::Behaviour::with_config(local, MemoryStore::new(local), config);
            kad.set_mode(Some(mode));
            Behaviour {
                identify: identify::Behaviour::new(
                    identify::Config::new("ipfs/0.1.0".into(), key.public())
                        .with_agent_version(AGENT.into()),
                ),
                ping: ping::Behaviour::default(),
                kad,
            }
        })?
        .with_swarm_config(|config| config.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    Ok(swarm)
}

/// Listens (printing `LISTEN`), connects to the bootstrap peers and runs the self-lookup.
async fn start(swarm: &mut Swarm<Behaviour>, options: Options) -> anyhow::Result<()> {
    let local = *swarm.local_peer_id();
    swarm.listen_on(options.listen)?;
    loop {
        let event = swarm.select_next_some().await;
        observe(swarm, &event);
        if let SwarmEvent::NewListenAddr { address, .. } = event {
            say(format_args!("LISTEN {address}/p2p/{local}"));
            break;
        }
    }

    let mut connecting = HashSet::new();
    for (peer, addr) in options.bootstrap {
        swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        swarm.dial(addr)?;
        connecting.insert(peer);
    }
    if connecting.is_empty() {
        return Ok(());
    }
    while !connecting.is_empty() {
        let event = swarm.select_next_some().await;
        observe(swarm, &event);
        match event {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                connecting.remove(&peer_id);
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } if connecting.contains(&peer) => bail!("cannot reach bootstrap peer {peer}: {error}"),
            _ => {}
        }
    }

    let bootstrap = swarm.behaviour_mut().kad.bootstrap()?;
    loop {
        let event = swarm.select_next_some().await;
        observe(swarm, &event);
        if let SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
            id,
            result: QueryResult::Bootstrap(result),
            step,
            ..
        })) = event
            && id == bootstrap
        {
            if let Err(error) = result {
                eprintln!("rust-libp2p-kad: bootstrap: {error}");
            }
            if step.last {
                return Ok(());
            }
        }
    }
}

/// What every event teaches the node, whatever command is running.
fn observe(swarm: &mut Swarm<Behaviour>, event: &SwarmEvent<BehaviourEvent>) {
    match event {
        SwarmEvent::NewListenAddr { address, .. } => {
            swarm.add_external_address(address.clone());
        }
        SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
            peer_id,
            info,
            ..
        })) if info.protocols.iter().any(|p| p.as_ref() == PROTOCOL) => {
            for addr in &info.listen_addrs {
                swarm.behaviour_mut().kad.add_address(peer_id, addr.clone());
            }
        }
        SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
            eprintln!("rust-libp2p-kad: dial {peer_id:?} failed: {error}");
        }
        _ => {}
    }
}

/// Starts `command`; returns what it waits for, or `None` when it was answered at once.
fn begin(swarm: &mut Swarm<Behaviour>, command: Command) -> Option<Running> {
    let kad = &mut swarm.behaviour_mut().kad;
    let (query, waiting) = match command {
        Command::Provide(key) => match kad.start_providing(RecordKey::new(&key)) {
            Ok(query) => (query, Waiting::Provide { key }),
            Err(error) => {
                say(format_args!("ERROR {error}"));
                return None;
            }
        },
        Command::FindProviders(key) => (
            kad.get_providers(RecordKey::new(&key)),
            Waiting::FindProviders {
                key,
                found: HashSet::new(),
            },
        ),
        Command::Put { key, value } => {
            match kad.put_record(Record::new(RecordKey::new(&key), value), Quorum::One) {
                Ok(query) => (query, Waiting::Put),
                Err(error) => {
                    say(format_args!("ERROR {error}"));
                    return None;
                }
            }
        }
        Command::Get(key) => (kad.get_record(RecordKey::new(&key)), Waiting::Get),
        Command::FindPeer(peer) => (kad.get_closest_peers(peer), Waiting::FindPeer(peer)),
        Command::Closest(key) => (kad.get_closest_peers(key), Waiting::Closest),
        Command::ClosestStats(key) => (kad.get_closest_peers(key), Waiting::ClosestStats),
        Command::Table => {
            let mut line = String::from("TABLE");
            for bucket in kad.kbuckets() {
                for entry in bucket.iter() {
                    line.push(' ');
                    line.push_str(&entry.node.key.preimage().to_string());
                }
            }
            say(line);
            return None;
        }
    };
    Some(Running {
        query,
        waiting,
        deadline: Instant::now() + COMMAND_TIMEOUT,
    })
}

/// The addresses of `peer` in the routing table, if it is there.
fn table_addresses(swarm: &mut Swarm<Behaviour>, peer: &PeerId) -> Vec<Multiaddr> {
    let kad = &mut swarm.behaviour_mut().kad;
    let Some(bucket) = kad.kbucket(*peer) else {
        return Vec::new();
    };
    bucket
        .iter()
        .find(|entry| entry.node.key.preimage() == peer)
        .map(|entry| entry.node.value.iter().cloned().collect())
        .unwrap_or_default()
}

/// Answers a command whose time ran out, as if its query had ended with nothing more.
fn answer_timeout(waiting: &Waiting) {
    match waiting {
        Waiting::Provide { .. } | Waiting::Put => {
            say(format_args!("ERROR timed out after {COMMAND_TIMEOUT:?}"));
        }
        Waiting::FindProviders { key, .. } => say(format_args!("END {}", to_hex(key))),
        Waiting::Get | Waiting::FindPeer(_) => say("NOTFOUND"),
        Waiting::Closest => say("CLOSEST"),
        Waiting::ClosestStats => say("STATS timed-out"),
    }
}

/// Answers from one result of the running command's query; returns whether it is answered.
fn answer(
    swarm: &mut Swarm<Behaviour>,
    running: &mut Running,
    result: QueryResult,
    stats: &kad::QueryStats,
    is_last: bool,
) -> bool {
    match (&mut running.waiting, result) {
        (Waiting::Provide { key }, QueryResult::StartProviding(result)) => {
            match result {
                Ok(_) => say(format_args!("PROVIDED {}", to_hex(key))),
                Err(error) => say(format_args!("ERROR {error}")),
            }
            true
        }
        (Waiting::FindProviders { key, found }, QueryResult::GetProviders(result)) => {
            if let Ok(GetProvidersOk::FoundProviders { providers, .. }) = result {
                for provider in providers {
                    if found.insert(provider) {
                        say(format_args!("PROVIDER {provider}"));
                    }
                }
            }
            // The last result is `FinishedWithNoAdditionalRecord` or a timeout, found or not.
            if is_last {
                say(format_args!("END {}", to_hex(key)));
            }
            is_last
        }
        (Waiting::Put, QueryResult::PutRecord(result)) => {
            match result {
                Ok(_) => say("PUT"),
                Err(error) => say(format_args!("ERROR {error}")),
            }
            true
        }
        (Waiting::Get, QueryResult::GetRecord(result)) => {
            match result {
                Ok(GetRecordOk::FoundRecord(found)) => {
                    say(format_args!(
                        "VALUE {}",
                        String::from_utf8_lossy(&found.record.value)
                    ));
                    // The first record answers the command; rust-libp2p would go on asking.
                    if let Some(mut query) = swarm.behaviour_mut().kad.query_mut(&running.query) {
                        query.finish();
                    }
                }
                Ok(GetRecordOk::FinishedWithNoAdditionalRecord { .. }) | Err(_) => {
                    say("NOTFOUND");
                }
            }
            true
        }
        (Waiting::FindPeer(target), QueryResult::GetClosestPeers(result)) => {
            let peers = match result {
                Ok(ok) => ok.peers,
                Err(GetClosestPeersError::Timeout { peers, .. }) => peers,
            };
            match peers.into_iter().find(|info| info.peer_id == *target) {
                Some(info) => {
                    let mut addrs = info.addrs;
                    if addrs.is_empty() {
                        // Peers the query started from (its own routing table) come without
                        // addresses; the routing table has them.
                        addrs = table_addresses(swarm, target);
                    }
                    let mut line = format!("PEER {target}");
                    for addr in addrs {
                        line.push(' ');
                        line.push_str(&without_peer_id(addr).to_string());
                    }
                    say(line);
                }
                None => say("NOTFOUND"),
            }
            true
        }
        (Waiting::Closest, QueryResult::GetClosestPeers(result)) => {
            let peers = match result {
                Ok(ok) => ok.peers,
                Err(GetClosestPeersError::Timeout { peers, .. }) => peers,
            };
            let mut line = String::from("CLOSEST");
            for info in peers {
                line.push(' ');
                line.push_str(&info.peer_id.to_string());
            }
            say(line);
            true
        }
        (Waiting::ClosestStats, QueryResult::GetClosestPeers(result)) => {
            let peers = match result {
                Ok(ok) => ok.peers,
                Err(GetClosestPeersError::Timeout { peers, .. }) => peers,
            };
            let ids: Vec<String> = peers.iter().map(|info| info.peer_id.to_string()).collect();
            say(format_args!(
                "STATS ms={:.1} requests={} hops=- peers={}",
                stats.duration().unwrap_or_default().as_secs_f64() * 1000.0,
                stats.num_requests(),
                ids.join(",")
            ));
            true
        }
        (_, other) => {
            eprintln!("rust-libp2p-kad: unexpected result for the running command: {other:?}");
            false
        }
    }
}
