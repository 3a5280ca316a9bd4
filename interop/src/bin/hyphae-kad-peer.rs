//! hyphae as a peer of the kad interop tests: the same line contract as
//! `rust-libp2p-kad` and `js/kad-peer.mjs`, so a test treats the three alike.
//!
//! `hyphae-kad-peer [--listen ADDR] [--bootstrap ADDR/p2p/ID]... [--mode server|client]
//! [--slow-after-ms MS]` prints `LISTEN <addr>/p2p/<id>`, joins, prints `READY`, then answers one command per stdin
//! line: `provide <key>` → `PROVIDED <hex key>`; `find-providers <key>` → `PROVIDER <id>`
//! lines then `END <hex key>`; `put <key> <value>` → `PUT`; `get <key>` → `VALUE <value>` or
//! `NOTFOUND`; `find-peer <id>` → `PEER <id> <addr>...` or `NOTFOUND`; `closest <key>` →
//! `CLOSEST <id>...`; `table` → `TABLE <id>...`. Failures print `ERROR <text>`. Keys are
//! UTF-8 text, or hex after `hex:` ([`hyphae_interop::kad`] has the whole contract).
//! Commands beyond the contract, for measurements (`tests/sim_calibration.rs`):
//! `closest-stats <key>` → `STATS ms=… requests=… failures=… timeouts=… hops=…
//! peers=<id>,<id>…` (the lookup's time measured here, so the answer's trip through stdout
//! does not count);
//! `ping-stats <id>` or `ping-stats <multiaddr>/p2p/<id>` → `PINGED ms=… new=true|false`
//! (one ping, timed with the dial it may need: `new` says whether a connection had to be
//! made first);
//! `disconnect <id>` → `DISCONNECTED` (once the connections to it are gone);
//! `connected` → `CONNECTED <id>…`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::kad::{Kademlia, Mode, ModeSetting};
use hyphae::{Multiaddr, Node, PeerId};
use hyphae_interop::kad::{COMMAND_TIMEOUT, parse_key, to_hex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast::error::RecvError;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs to stderr, which the tests let through (`RUST_LOG=hyphae_kad=debug` tells why a
    // request failed), or, with HYPHAE_KAD_PEER_LOG_DIR set, to a file of its own there named
    // by its process id, so that the logs of many peers in one test can be told apart (with
    // `hyphae=info` the node's `listening` line names its peer id).
    let filter = tracing_subscriber::EnvFilter::from_default_env();
    match std::env::var_os("HYPHAE_KAD_PEER_LOG_DIR") {
        Some(dir) => {
            let path = std::path::Path::new(&dir).join(format!("{}.log", std::process::id()));
            let file = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .init();
        }
        None => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
    let mut listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse()?;
    let mut bootstrap = Vec::new();
    let mut mode = Mode::Server;
    let mut config = hyphae::kad::Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--listen" => listen = value.parse()?,
            "--bootstrap" => bootstrap.push(value.parse::<Multiaddr>()?),
            "--mode" if value == "server" => mode = Mode::Server,
            "--mode" if value == "client" => mode = Mode::Client,
            // How long a lookup waits for an answer before it goes on without it.
            "--slow-after-ms" => config.slow_after = Duration::from_millis(value.parse()?),
            _ => bail!("unknown argument {flag} {value}"),
        }
    }
    let service = Kademlia::new(config)
        .mode(ModeSetting::Fixed(mode))
        .accept_all_records()
        .bootstrap(bootstrap.iter().cloned());
    // Every peer of a namespace shares its address: no per-address caps.
    let node = Node::builder()
        .limits(hyphae::Limits::default().allowing_every_address())
        .listen(listen)
        .service(service)
        .start()
        .await?;
    let dht = node.service::<Kademlia>().context("kad service")?;
    println!("LISTEN {}", node.listen_addrs()[0]);
    if !bootstrap.is_empty() {
        dht.bootstrap().await?;
    }
    println!("READY");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match tokio::time::timeout(COMMAND_TIMEOUT, command(&node, &dht, verb, rest.trim())).await {
            Ok(Ok(answer)) => println!("{answer}"),
            Ok(Err(error)) => println!("ERROR {error:#}"),
            // As the contract says: a lookup that ran out of time found nothing more.
            Err(_) => match verb {
                "get" | "find-peer" => println!("NOTFOUND"),
                "find-providers" => println!("END {}", to_hex(&parse_key(rest.trim())?)),
                "closest" => println!("CLOSEST"),
                _ => println!("ERROR timed out"),
            },
        }
    }
    node.shutdown().await;
    Ok(())
}

/// How long `disconnect` waits for the connections to a peer to be gone.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(5);

async fn command(
    node: &Node,
    dht: &hyphae::kad::Handle,
    verb: &str,
    rest: &str,
) -> anyhow::Result<String> {
    Ok(match verb {
        "provide" => {
            let key = parse_key(rest)?;
            dht.provide(key.clone()).await?;
            format!("PROVIDED {}", to_hex(&key))
        }
        "find-providers" => {
            let key = parse_key(rest)?;
            let mut providers = dht.find_providers(key.clone(), 20).await;
            let mut answer = String::new();
            while let Some(provider) = providers.next().await {
                answer.push_str(&format!("PROVIDER {}\n", provider.peer));
            }
            answer.push_str(&format!("END {}", to_hex(&key)));
            answer
        }
        "put" => {
            // The value is the rest of the line, spaces included.
            let (key, value) = rest.split_once(' ').context("put <key> <value>")?;
            dht.put_value(parse_key(key)?, value.as_bytes().to_vec())
                .await?;
            "PUT".to_owned()
        }
        "get" => match dht.get_value(parse_key(rest)?).await.best().await {
            Ok(record) => format!("VALUE {}", String::from_utf8_lossy(&record.value)),
            Err(hyphae::kad::Error::NotFound) => "NOTFOUND".to_owned(),
            Err(error) => return Err(error.into()),
        },
        "find-peer" => {
            let peer: PeerId = rest.parse()?;
            match dht.find_peer(peer).await {
                Ok(found) => {
                    let addrs: Vec<String> = found.addrs.iter().map(ToString::to_string).collect();
                    format!("PEER {peer} {}", addrs.join(" "))
                }
                Err(hyphae::kad::Error::NotFound) => "NOTFOUND".to_owned(),
                Err(error) => return Err(error.into()),
            }
        }
        "closest" => {
            let peers = dht.get_closest_peers(parse_key(rest)?).await?;
            let ids: Vec<String> = peers.iter().map(|p| p.peer.to_string()).collect();
            format!("CLOSEST {}", ids.join(" "))
        }
        "closest-stats" => {
            let started = Instant::now();
            let (peers, stats) = dht.get_closest_peers_with_stats(parse_key(rest)?).await?;
            let ids: Vec<String> = peers.iter().map(|p| p.peer.to_string()).collect();
            format!(
                "STATS ms={:.1} requests={} failures={} timeouts={} hops={} peers={}",
                started.elapsed().as_secs_f64() * 1000.0,
                stats.requests,
                stats.failures,
                stats.timeouts,
                stats.hops,
                ids.join(",")
            )
        }
        "ping-stats" => {
            // `<id>`, or `<multiaddr>/p2p/<id>` for a peer not heard of yet.
            let peer: PeerId = if rest.starts_with('/') {
                let addr: Multiaddr = rest.parse()?;
                let peer = addr.peer_id().context("the address needs /p2p/<id>")?;
                node.peerstore().add_addrs(peer, [addr]);
                peer
            } else {
                rest.parse()?
            };
            let is_new = !node.is_connected(&peer);
            let started = Instant::now();
            node.ping(peer).await?;
            format!(
                "PINGED ms={:.2} new={is_new}",
                started.elapsed().as_secs_f64() * 1000.0
            )
        }
        "disconnect" => {
            let peer: PeerId = rest.parse()?;
            let mut events = node.events();
            node.disconnect(peer).await;
            // A closed connection leaves the pool a moment later, when its task ends (then
            // the node reports it); until then a request would still find it and not dial.
            let closed = async {
                while node.is_connected(&peer) {
                    // Missed events (lag) only mean checking again.
                    if let Err(RecvError::Closed) = events.recv().await {
                        bail!("the node stopped");
                    }
                }
                Ok("DISCONNECTED".to_owned())
            };
            match tokio::time::timeout(DISCONNECT_TIMEOUT, closed).await {
                Ok(answer) => answer?,
                Err(_) => bail!("still connected to {peer} after {DISCONNECT_TIMEOUT:?}"),
            }
        }
        "connected" => {
            let ids: Vec<String> = node
                .connected_peers()
                .iter()
                .map(ToString::to_string)
                .collect();
            format!("CONNECTED {}", ids.join(" "))
        }
        "table" => {
            let ids: Vec<String> = dht
                .routing_table()
                .await?
                .iter()
                .map(|p| p.peer.to_string())
                .collect();
            format!("TABLE {}", ids.join(" "))
        }
        _ => bail!("unknown command {verb:?}"),
    })
}
