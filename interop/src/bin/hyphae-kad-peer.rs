//! hyphae as a peer of the kad interop tests: the same line contract as
//! `rust-libp2p-kad` and `js/kad-peer.mjs`, so a test treats the three alike.
//!
//! `hyphae-kad-peer [--listen ADDR] [--bootstrap ADDR/p2p/ID]... [--mode server|client]`
//! prints `LISTEN <addr>/p2p/<id>`, joins, prints `READY`, then answers one command per stdin
//! line: `provide <key>` → `PROVIDED <hex key>`; `find-providers <key>` → `PROVIDER <id>`
//! lines then `END <hex key>`; `put <key> <value>` → `PUT`; `get <key>` → `VALUE <value>` or
//! `NOTFOUND`; `find-peer <id>` → `PEER <id> <addr>...` or `NOTFOUND`; `closest <key>` →
//! `CLOSEST <id>...` then `STATS ms=… requests=… hops=…`; `table` → `TABLE <id>...`.
//! Failures print `ERROR <text>`. Keys are UTF-8 text, or hex after `hex:`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::kad::{Kademlia, Mode, ModeSetting};
use hyphae::{Multiaddr, Node, PeerId};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Each command's deadline: an answer line always comes.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse()?;
    let mut bootstrap = Vec::new();
    let mut mode = Mode::Server;
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
            _ => bail!("unknown argument {flag} {value}"),
        }
    }
    let service = Kademlia::default()
        .mode(ModeSetting::Fixed(mode))
        .accept_all_records()
        .bootstrap(bootstrap.iter().cloned());
    let node = Node::builder()
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
        let words: Vec<&str> = line.split_whitespace().collect();
        match tokio::time::timeout(COMMAND_TIMEOUT, command(&dht, &words)).await {
            Ok(Ok(answer)) => println!("{answer}"),
            Ok(Err(error)) => println!("ERROR {error:#}"),
            Err(_) => println!("ERROR timed out"),
        }
    }
    node.shutdown().await;
    Ok(())
}

async fn command(dht: &hyphae::kad::Handle, words: &[&str]) -> anyhow::Result<String> {
    Ok(match words {
        ["provide", key] => {
            let key = key_bytes(key)?;
            dht.provide(key.clone()).await?;
            format!("PROVIDED {}", hex(&key))
        }
        ["find-providers", key] => {
            let key = key_bytes(key)?;
            let mut providers = dht.find_providers(key.clone(), 20).await;
            let mut answer = String::new();
            while let Some(provider) = providers.next().await {
                answer.push_str(&format!("PROVIDER {}\n", provider.peer));
            }
            answer.push_str(&format!("END {}", hex(&key)));
            answer
        }
        ["put", key, value] => {
            dht.put_value(key_bytes(key)?, value.as_bytes().to_vec())
                .await?;
            "PUT".to_owned()
        }
        ["get", key] => match dht.get_value(key_bytes(key)?).await.best().await {
            Ok(record) => format!("VALUE {}", String::from_utf8_lossy(&record.value)),
            Err(hyphae::kad::Error::NotFound) => "NOTFOUND".to_owned(),
            Err(error) => return Err(error.into()),
        },
        ["find-peer", peer] => {
            let peer: PeerId = peer.parse()?;
            match dht.find_peer(peer).await {
                Ok(found) => {
                    let addrs: Vec<String> = found.addrs.iter().map(ToString::to_string).collect();
                    format!("PEER {peer} {}", addrs.join(" "))
                }
                Err(hyphae::kad::Error::NotFound) => "NOTFOUND".to_owned(),
                Err(error) => return Err(error.into()),
            }
        }
        ["closest", key] => {
            let started = Instant::now();
            let (peers, stats) = dht.get_closest_peers_with_stats(key_bytes(key)?).await?;
            let ids: Vec<String> = peers.iter().map(|p| p.peer.to_string()).collect();
            format!(
                "CLOSEST {}\nSTATS ms={:.1} requests={} hops={}",
                ids.join(" "),
                started.elapsed().as_secs_f64() * 1000.0,
                stats.requests,
                stats.hops
            )
        }
        ["table"] => {
            let ids: Vec<String> = dht
                .routing_table()
                .await?
                .iter()
                .map(|p| p.peer.to_string())
                .collect();
            format!("TABLE {}", ids.join(" "))
        }
        _ => bail!("unknown command {words:?}"),
    })
}

/// Key bytes: UTF-8 text, or hexadecimal after `hex:`.
fn key_bytes(text: &str) -> anyhow::Result<Vec<u8>> {
    let Some(digits) = text.strip_prefix("hex:") else {
        return Ok(text.as_bytes().to_vec());
    };
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .filter(|pair| pair.len() == 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .with_context(|| format!("not hex: {digits}"))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
