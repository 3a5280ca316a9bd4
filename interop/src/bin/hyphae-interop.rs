//! hyphae in the libp2p transport-interop harness (libp2p/test-plans `transport-interop`,
//! and its successor libp2p/unified-testing `transport`).
//!
//! The listener publishes `<addr>/p2p/<id>` in Redis and waits; the dialer takes it, dials,
//! pings once and prints the handshake-plus-one-round-trip and ping times on stdout (JSON for
//! test-plans, YAML for unified-testing). Logs go to stderr. Any failure exits non-zero.
//!
//! Supported combinations so far: transport `tcp`, security `noise`, muxer `yamux`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::{Multiaddr, Node, Protocol};
use hyphae_interop::redis::Redis;

/// Which of the two harness conventions the environment follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Convention {
    /// test-plans: lower-case variables, key `listenerAddr`, JSON output.
    TestPlans,
    /// unified-testing: upper-case variables, key `<TEST_KEY>_listener_multiaddr`, YAML.
    Unified,
}

#[derive(Debug)]
struct Contract {
    convention: Convention,
    transport: String,
    security: Option<String>,
    muxer: Option<String>,
    is_dialer: bool,
    ip: String,
    redis_addr: String,
    redis_key: String,
    timeout: Duration,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Contract {
    fn from_env() -> anyhow::Result<Contract> {
        let convention = if var("TRANSPORT").is_some() {
            Convention::Unified
        } else {
            Convention::TestPlans
        };
        let pick = |test_plans: &str, unified: &str| match convention {
            Convention::TestPlans => var(test_plans),
            Convention::Unified => var(unified),
        };
        let transport = pick("transport", "TRANSPORT").context("no transport given")?;
        let is_dialer = pick("is_dialer", "IS_DIALER").unwrap_or_default() == "true";
        let redis_key = match convention {
            Convention::TestPlans => "listenerAddr".to_owned(),
            Convention::Unified => format!(
                "{}_listener_multiaddr",
                var("TEST_KEY").context("no TEST_KEY given")?
            ),
        };
        let timeout_seconds: u64 = var("test_timeout_seconds")
            .map(|seconds| seconds.parse())
            .transpose()
            .context("test_timeout_seconds is not a number")?
            .unwrap_or(180);
        Ok(Contract {
            convention,
            transport,
            security: pick("security", "SECURE_CHANNEL"),
            muxer: pick("muxer", "MUXER"),
            is_dialer,
            ip: pick("ip", "LISTENER_IP").unwrap_or_else(|| "0.0.0.0".to_owned()),
            redis_addr: pick("redis_addr", "REDIS_ADDR").unwrap_or_else(|| "redis:6379".to_owned()),
            redis_key,
            timeout: Duration::from_secs(timeout_seconds),
        })
    }

    fn check_supported(&self) -> anyhow::Result<()> {
        let supported = self.transport == "tcp"
            && self
                .security
                .as_deref()
                .is_none_or(|security| security == "noise")
            && self.muxer.as_deref().is_none_or(|muxer| muxer == "yamux");
        if !supported {
            bail!(
                "unsupported combination: transport {}, security {:?}, muxer {:?} (hyphae supports tcp/noise/yamux so far)",
                self.transport,
                self.security,
                self.muxer
            );
        }
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let contract = Contract::from_env()?;
    eprintln!("{contract:?}");
    contract.check_supported()?;
    let mut redis = Redis::connect(&contract.redis_addr, Duration::from_secs(30)).await?;
    let work = async {
        if contract.is_dialer {
            dial(&contract, &mut redis).await
        } else {
            listen(&contract, &mut redis).await
        }
    };
    tokio::time::timeout(contract.timeout, work)
        .await
        .context("the test timed out")?
}

async fn listen(contract: &Contract, redis: &mut Redis) -> anyhow::Result<()> {
    let listen: Multiaddr = format!("/ip4/{}/tcp/0", contract.ip).parse()?;
    let node = Node::builder().listen(listen).start().await?;
    let addrs = node.listen_addrs();
    let is_loopback = |addr: &Multiaddr| matches!(addr.iter().next(), Some(Protocol::Ip4(ip)) if ip.is_loopback());
    // Inside the harness's containers the loopback address is useless to the dialer; on one
    // machine it may be all there is.
    let addr = addrs
        .iter()
        .find(|addr| !is_loopback(addr))
        .or_else(|| addrs.first())
        .context("listening gave no address")?;
    eprintln!("listening on {addr}");
    redis.rpush(&contract.redis_key, &addr.to_string()).await?;
    // Serve until the harness stops us (or the timeout in `run` expires).
    std::future::pending::<()>().await;
    Ok(())
}

async fn dial(contract: &Contract, redis: &mut Redis) -> anyhow::Result<()> {
    let addr: Multiaddr = redis
        .blpop(&contract.redis_key, contract.timeout)
        .await?
        .parse()
        .context("the listener's address is not a multiaddr")?;
    let node = Node::builder().ping_interval(None).start().await?;
    let started = Instant::now();
    let peer = node
        .dial(&addr)
        .await
        .with_context(|| format!("dialling {addr}"))?;
    let ping_rtt = node.ping(peer).await.context("ping")?;
    let handshake_plus_one_rtt = started.elapsed();
    let millis = |duration: Duration| duration.as_secs_f64() * 1000.0;
    match contract.convention {
        // "Milllis" with three l's is what the test-plans parser reads.
        Convention::TestPlans => println!(
            "{{\"handshakePlusOneRTTMillis\": {}, \"pingRTTMilllis\": {}}}",
            millis(handshake_plus_one_rtt),
            millis(ping_rtt)
        ),
        Convention::Unified => println!(
            "latency:\n  handshake_plus_one_rtt: {:.3}\n  ping_rtt: {:.3}\n  unit: ms",
            millis(handshake_plus_one_rtt),
            millis(ping_rtt)
        ),
    }
    node.shutdown().await;
    Ok(())
}
