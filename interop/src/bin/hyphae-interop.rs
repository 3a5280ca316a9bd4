//! hyphae in the libp2p transport-interop harness (libp2p/test-plans `transport-interop`,
//! and its successor libp2p/unified-testing `transport`).
//!
//! The listener publishes `<addr>/p2p/<id>` in Redis and waits; the dialer takes it, dials,
//! pings once and prints the handshake-plus-one-round-trip and ping times on stdout (JSON for
//! test-plans, YAML for unified-testing). Logs go to stderr. Any failure exits non-zero.
//!
//! Supported: transports `tcp`, `ws` and `quic-v1`; security `noise` and `tls`; muxers
//! `yamux` and `mplex` (QUIC brings its own security and muxer).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::{Builder, Multiaddr, Multiplexer, Node, Protocol, Security};
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

    /// A node builder running only the contract's security protocol and muxer (the
    /// harness checks each combination on its own).
    fn builder(&self) -> anyhow::Result<Builder> {
        let mut builder = Node::builder();
        if let Some(security) = &self.security {
            builder = builder.security([match security.as_str() {
                "noise" => Security::Noise,
                "tls" => Security::Tls,
                other => bail!("unsupported security protocol {other}"),
            }]);
        }
        if let Some(muxer) = &self.muxer {
            builder = builder.muxers([match muxer.as_str() {
                "yamux" => Multiplexer::Yamux,
                "mplex" => Multiplexer::Mplex,
                other => bail!("unsupported muxer {other}"),
            }]);
        }
        Ok(builder)
    }

    /// The address the listener binds.
    fn listen_addr(&self) -> anyhow::Result<Multiaddr> {
        let ip = &self.ip;
        let text = match self.transport.as_str() {
            "tcp" => format!("/ip4/{ip}/tcp/0"),
            "ws" => format!("/ip4/{ip}/tcp/0/ws"),
            "quic-v1" => format!("/ip4/{ip}/udp/0/quic-v1"),
            other => bail!("unsupported transport {other}"),
        };
        Ok(text.parse()?)
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
    let builder = contract.builder()?;
    let listen_addr = contract.listen_addr()?;
    let mut redis = Redis::connect(&contract.redis_addr, Duration::from_secs(30)).await?;
    let work = async {
        if contract.is_dialer {
            dial(&contract, builder, &mut redis).await
        } else {
            listen(&contract, builder, listen_addr, &mut redis).await
        }
    };
    tokio::time::timeout(contract.timeout, work)
        .await
        .context("the test timed out")?
}

async fn listen(
    contract: &Contract,
    builder: Builder,
    listen: Multiaddr,
    redis: &mut Redis,
) -> anyhow::Result<()> {
    let node = builder.listen(listen).start().await?;
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

async fn dial(contract: &Contract, builder: Builder, redis: &mut Redis) -> anyhow::Result<()> {
    let addr: Multiaddr = redis
        .blpop(&contract.redis_key, contract.timeout)
        .await?
        .parse()
        .context("the listener's address is not a multiaddr")?;
    let node = builder
        .service(hyphae::ping::Ping::without_keepalive())
        .start()
        .await?;
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
