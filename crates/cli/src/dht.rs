//! `hyphae dht`: join the DHT through bootstrap peers, run one operation, print one result
//! per line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use hyphae::kad::{self, Kademlia, Mode, ModeSetting};
use hyphae::{Multiaddr, Node, PeerId};

/// Arguments of `hyphae dht`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// A peer to join through, as a multiaddr ending in /p2p/<peer id>; may be repeated.
    #[arg(long, value_name = "MULTIADDR", required = true)]
    bootstrap: Vec<Multiaddr>,
    /// Address to listen on; may be repeated (none by default: a one-shot client needs none).
    #[arg(long, value_name = "ADDR")]
    listen: Vec<Multiaddr>,
    /// Key file to use as the node's identity (created if missing).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Keys (and `put` values, and printed values) are hexadecimal bytes, not UTF-8 text.
    #[arg(long)]
    hex: bool,
    /// Accept records of any namespace without validation (test networks; the public DHT
    /// only stores `/pk/` and `/ipns/` records).
    #[arg(long, value_name = "VALIDATOR", value_parser = ["accept-all"])]
    validator: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    #[command(subcommand)]
    operation: Operation,
}

#[derive(clap::Subcommand)]
enum Operation {
    /// Print the addresses of a peer, one per line.
    FindPeer {
        /// The peer id.
        peer: PeerId,
    },
    /// Print the peers closest to a key, nearest first.
    Closest {
        /// The key.
        key: String,
    },
    /// Announce that this node provides a key; print how many peers accepted.
    Provide {
        /// The key.
        key: String,
        /// Keep running (and reannouncing) until Ctrl-C.
        #[arg(long)]
        stay: bool,
    },
    /// Print the providers of a key as they are found: `<peer id> <multiaddr>...`.
    FindProviders {
        /// The key.
        key: String,
        /// Stop after this many providers.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Store a record; print how many peers stored it.
    Put {
        /// The key, e.g. /example/greeting.
        key: String,
        /// The value.
        value: String,
    },
    /// Print the best value stored under a key.
    Get {
        /// The key.
        key: String,
    },
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let stays = matches!(args.operation, Operation::Provide { stay: true, .. });
    let mode = if stays { Mode::Server } else { Mode::Client };
    let mut service = Kademlia::default()
        .mode(ModeSetting::Fixed(mode))
        .bootstrap(args.bootstrap.iter().cloned());
    if args.validator.is_some() {
        service = service.accept_all_records();
    }
    let mut builder = Node::builder().service(service);
    if let Some(path) = &args.key {
        builder = builder.keypair(crate::id::load_or_create(path, None)?);
    }
    for addr in &args.listen {
        builder = builder.listen(addr.clone());
    }
    let node = builder.start().await?;
    let dht = node
        .service::<Kademlia>()
        .context("the DHT service is not running")?;
    let timeout = Duration::from_secs(args.timeout);
    let operation = async {
        dht.bootstrap().await.context("joining the DHT")?;
        run_operation(&dht, args.operation, args.hex).await
    };
    let result = match tokio::time::timeout(timeout, operation).await {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!("timed out after {} s", timeout.as_secs())),
    };
    if result.is_ok() && stays {
        tokio::signal::ctrl_c().await?;
    }
    node.shutdown().await;
    result
}

async fn run_operation(dht: &kad::Handle, operation: Operation, hex: bool) -> anyhow::Result<()> {
    let key = |text: &str| parse_key(text, hex);
    match operation {
        Operation::FindPeer { peer } => {
            let found = dht.find_peer(peer).await.context("finding the peer")?;
            for addr in found.addrs {
                println!("{addr}");
            }
        }
        Operation::Closest { key: text } => {
            for peer in dht.get_closest_peers(key(&text)?).await? {
                println!("{}", peer.peer);
            }
        }
        Operation::Provide { key: text, .. } => {
            let accepted = dht.provide(key(&text)?).await?;
            println!("provided to {accepted} peers");
        }
        Operation::FindProviders { key: text, limit } => {
            let mut providers = dht.find_providers(key(&text)?, limit).await;
            let mut found = 0;
            while let Some(provider) = providers.next().await {
                found += 1;
                let addrs: Vec<String> = provider.addrs.iter().map(ToString::to_string).collect();
                println!("{} {}", provider.peer, addrs.join(" "));
            }
            providers.finish().await?;
            if found == 0 {
                bail!("no providers found");
            }
        }
        Operation::Put { key: text, value } => {
            let value = parse_key(&value, hex)?;
            let stored = dht.put_value(key(&text)?, value).await?;
            println!("stored at {stored} peers");
        }
        Operation::Get { key: text } => {
            let record = dht.get_value(key(&text)?).await.best().await?;
            if hex {
                println!("{}", to_hex(&record.value));
            } else {
                println!("{}", String::from_utf8_lossy(&record.value));
            }
        }
    }
    Ok(())
}

/// Key bytes from the command line: UTF-8 text, or hexadecimal with `--hex`.
fn parse_key(text: &str, hex: bool) -> anyhow::Result<Vec<u8>> {
    if !hex {
        return Ok(text.as_bytes().to_vec());
    }
    if !text.len().is_multiple_of(2) {
        bail!("odd number of hex digits in {text:?}");
    }
    text.as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
                .with_context(|| format!("not hex: {text:?}"))
        })
        .collect()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
