//! hyphae in the libp2p/unified-testing kad-dht harness (`kad-dht/`): three roles meet
//! through Redis.
//!
//! - `ROLE=bootstrap` listens, stores `<TEST_KEY>_bootstrap_addr`, serves until killed;
//! - `ROLE=provider` joins through it in server mode, provides `interop-test-key-<TEST_KEY>`
//!   (the key's UTF-8 bytes, not a CID), puts `/example/data/<TEST_KEY>` =
//!   `hello from hyphae`, stores `<TEST_KEY>_provider_done`, serves until killed;
//! - `ROLE=querier` waits for both, joins as a client, finds a provider and the value, and
//!   prints `status: pass` (or `error: …` and `status: fail`, exiting 1).
//!
//! `REDIS_ADDR` is `host:port`; records of the `example` namespace are accepted unvalidated,
//! as the harness's other implementations do. Logs go to stderr.

use std::net::{IpAddr, UdpSocket};
use std::time::Duration;

use anyhow::{Context, bail};
use hyphae::kad::{Kademlia, Mode, ModeSetting};
use hyphae::{Multiaddr, Node, Protocol};
use hyphae_interop::redis::Redis;

/// How long a role waits for what another role publishes (the harness allows 180 s in all).
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let role = std::env::var("ROLE").context("ROLE is not set")?;
    let redis_addr = std::env::var("REDIS_ADDR").context("REDIS_ADDR is not set")?;
    let test_key = std::env::var("TEST_KEY").context("TEST_KEY is not set")?;
    let mut redis = Redis::connect(&redis_addr, PATIENCE).await?;
    let bootstrap_key = format!("{test_key}_bootstrap_addr");
    let done_key = format!("{test_key}_provider_done");
    let provided = format!("interop-test-key-{test_key}");
    let record_key = format!("/example/data/{test_key}");
    match role.as_str() {
        "bootstrap" => {
            let node = start(Mode::Server, local_ip(&redis_addr).await?, None).await?;
            let addr = node.listen_addrs()[0].to_string();
            eprintln!("bootstrap node at {addr}");
            redis.set(&bootstrap_key, &addr).await?;
            std::future::pending::<()>().await;
        }
        "provider" => {
            let entry: Multiaddr = redis.wait_for(&bootstrap_key, PATIENCE).await?.parse()?;
            let node = start(Mode::Server, local_ip(&redis_addr).await?, Some(entry)).await?;
            let dht = node.service::<Kademlia>().context("kad service")?;
            dht.bootstrap().await?;
            let accepted = dht.provide(provided.into_bytes()).await?;
            eprintln!("provided to {accepted} peers");
            let stored = dht
                .put_value(record_key.into_bytes(), b"hello from hyphae".to_vec())
                .await?;
            eprintln!("record stored at {stored} peers");
            redis.set(&done_key, "done").await?;
            std::future::pending::<()>().await;
        }
        "querier" => {
            let entry: Multiaddr = redis.wait_for(&bootstrap_key, PATIENCE).await?.parse()?;
            redis.wait_for(&done_key, PATIENCE).await?;
            let node = start(Mode::Client, local_ip(&redis_addr).await?, Some(entry)).await?;
            let dht = node.service::<Kademlia>().context("kad service")?;
            match query(&dht, provided, record_key).await {
                Ok(()) => println!("status: pass"),
                Err(error) => {
                    println!("error: {error:#}");
                    println!("status: fail");
                    std::process::exit(1);
                }
            }
        }
        other => bail!("unknown ROLE {other:?}"),
    }
    Ok(())
}

async fn query(
    dht: &hyphae::kad::Handle,
    provided: String,
    record_key: String,
) -> anyhow::Result<()> {
    dht.bootstrap()
        .await
        .context("joining through the bootstrap node")?;
    let mut providers = dht.find_providers(provided.clone().into_bytes(), 1).await;
    let provider = providers
        .next()
        .await
        .with_context(|| format!("no providers found for {provided:?}"))?;
    eprintln!("found provider {}", provider.peer);
    let record = dht
        .get_value(record_key.clone().into_bytes())
        .await
        .best()
        .await
        .with_context(|| format!("getting {record_key:?}"))?;
    if !record.value.starts_with(b"hello from") {
        bail!(
            "expected a value starting with \"hello from\", got {:?}",
            String::from_utf8_lossy(&record.value)
        );
    }
    eprintln!("value: {}", String::from_utf8_lossy(&record.value));
    Ok(())
}

async fn start(mode: Mode, ip: IpAddr, bootstrap: Option<Multiaddr>) -> anyhow::Result<Node> {
    let listen = Multiaddr::from(ip).with(Protocol::Tcp(0));
    let service = Kademlia::default()
        .mode(ModeSetting::Fixed(mode))
        .accept_all_records()
        .bootstrap(bootstrap);
    Ok(Node::builder()
        .listen(listen)
        .service(service)
        .start()
        .await?)
}

/// The address this host reaches Redis from: the one the other containers can reach us at.
async fn local_ip(redis_addr: &str) -> anyhow::Result<IpAddr> {
    let redis = tokio::net::lookup_host(redis_addr)
        .await?
        .next()
        .with_context(|| format!("cannot resolve {redis_addr}"))?;
    let socket = UdpSocket::bind(if redis.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    })?;
    socket.connect(redis)?;
    Ok(socket.local_addr()?.ip())
}
