//! hyphae in the libp2p transport-interop harness (libp2p/test-plans `transport-interop`,
//! and its successor libp2p/unified-testing `transport`).
//!
//! The listener publishes `<addr>/p2p/<id>` in Redis and waits; the dialer takes it, dials,
//! pings once and prints the handshake-plus-one-round-trip and ping times on stdout (JSON for
//! test-plans, YAML for unified-testing). Logs go to stderr. Any failure exits non-zero.
//!
//! Beyond the contract, the listener serves the echo protocol of [`hyphae_interop::checks`],
//! and the dialer, after printing its timings, checks the listener's identify and sends 1 MiB
//! through that echo (see that module).
//!
//! Supported: transports `tcp`, `ws` and `quic-v1`; security `noise` and `tls`; muxers
//! `yamux` and `mplex` (QUIC brings its own security and muxer).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::{Builder, Multiaddr, Multiplexer, Node, PeerId, Protocol, Security, Stream};
use hyphae_interop::checks::{self, ECHO_PROTOCOL};
use hyphae_interop::redis::Redis;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;

/// How long the dialer waits for the listener's identify after the ping.
const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(30);

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
    // Before publishing the address, so that identify announces it to the dialer.
    node.handle(ECHO_PROTOCOL, |stream| async move {
        if let Err(error) = echo(stream).await {
            eprintln!("echo: {error}");
        }
    });
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
    // Subscribed before dialling: identify may finish before the dial returns.
    let mut identified = node
        .service::<hyphae::identify::Identify>()
        .context("the node runs no identify service")?
        .events();
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
    check_identify(&mut identified, peer, &addr).await?;
    check_echo(&node, peer).await?;
    node.shutdown().await;
    Ok(())
}

/// Writes back what `stream` carries until its end, then closes it.
async fn echo(mut stream: Stream) -> std::io::Result<()> {
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        stream.write_all(&buffer[..read]).await?;
    }
    stream.shutdown().await
}

/// Waits for `peer`'s identify and checks it (see [`checks::check_identify`]).
async fn check_identify(
    events: &mut broadcast::Receiver<hyphae::identify::Event>,
    peer: PeerId,
    dialled: &Multiaddr,
) -> anyhow::Result<()> {
    let info = tokio::time::timeout(IDENTIFY_TIMEOUT, async {
        loop {
            match events.recv().await {
                Ok(hyphae::identify::Event::Received {
                    peer: identified,
                    info,
                    ..
                }) if identified == peer => return Ok(info),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => {
                    bail!("identify: the service stopped before the listener identified")
                }
            }
        }
    })
    .await
    .with_context(|| {
        format!("identify: nothing from the listener within {IDENTIFY_TIMEOUT:?}")
    })??;
    let addrs: Vec<String> = info.listen_addrs.iter().map(ToString::to_string).collect();
    checks::check_identify(&info.protocols, &addrs, &dialled.to_string())
}

/// Sends [`checks::echo_payload`] through the listener's echo and compares what comes back.
async fn check_echo(node: &Node, peer: PeerId) -> anyhow::Result<()> {
    let stream = node
        .open_stream(peer, ECHO_PROTOCOL)
        .await
        .context("echo: opening a stream")?;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let payload = checks::echo_payload();
    // Both at once: the echo comes back while we write, and would fill every window if left
    // unread.
    let write = async {
        writer.write_all(&payload).await?;
        writer.shutdown().await
    };
    let read = async {
        let mut echoed = Vec::with_capacity(payload.len());
        reader.read_to_end(&mut echoed).await.map(|_| echoed)
    };
    let ((), echoed) = tokio::try_join!(write, read).context("echo: stream failed")?;
    checks::check_echo(&payload, &echoed)
}
