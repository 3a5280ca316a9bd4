//! rust-libp2p (the crates.io `libp2p` crate) in the transport-interop contract, the peer
//! hyphae's `hyphae-interop` is matched against (see `src/bin/hyphae-interop.rs` for the
//! contract). Transports tcp, ws and quic-v1; security noise and tls; muxers yamux and mplex.
//!
//! As `hyphae-interop`, the listener serves the echo protocol of [`hyphae_interop::checks`]
//! (through libp2p-stream), and the dialer, after printing its timings, checks the listener's
//! identify and sends 1 MiB through that echo.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use hyphae_interop::checks::{self, ECHO_PROTOCOL};
use hyphae_interop::redis::Redis;
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::swarm::{NetworkBehaviour, Swarm, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Transport, identify, identity, noise, ping, quic, tcp, tls,
    websocket, yamux,
};

/// How long the dialer waits for the listener's identify after the ping.
const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(NetworkBehaviour)]
struct Behaviour {
    ping: ping::Behaviour,
    identify: identify::Behaviour,
    stream: libp2p_stream::Behaviour,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
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

/// Secures `$base` with `$security` and multiplexes it with `$muxer`, boxed.
macro_rules! upgraded {
    ($base:expr, $security:expr, $muxer:expr) => {
        $base
            .upgrade(Version::V1Lazy)
            .authenticate($security)
            .multiplex($muxer)
            .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
            .boxed()
    };
}

/// The transport stack for one contract combination.
fn build_transport(
    key: &identity::Keypair,
    transport: &str,
    security: Option<&str>,
    muxer: Option<&str>,
) -> anyhow::Result<Boxed<(PeerId, StreamMuxerBox)>> {
    let tcp = || tcp::tokio::Transport::new(tcp::Config::default());
    let ws = || websocket::Config::new(tcp::tokio::Transport::new(tcp::Config::default()));
    let mplex = libp2p_mplex::Config::default;
    let yamux = yamux::Config::default;
    Ok(match (transport, security, muxer) {
        ("quic-v1", _, _) => quic::tokio::Transport::new(quic::Config::new(key))
            .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
            .boxed(),
        ("tcp", Some("noise"), Some("yamux")) => {
            upgraded!(tcp(), noise::Config::new(key)?, yamux())
        }
        ("tcp", Some("noise"), Some("mplex")) => {
            upgraded!(tcp(), noise::Config::new(key)?, mplex())
        }
        ("tcp", Some("tls"), Some("yamux")) => upgraded!(tcp(), tls::Config::new(key)?, yamux()),
        ("tcp", Some("tls"), Some("mplex")) => upgraded!(tcp(), tls::Config::new(key)?, mplex()),
        ("ws", Some("noise"), Some("yamux")) => upgraded!(ws(), noise::Config::new(key)?, yamux()),
        ("ws", Some("noise"), Some("mplex")) => upgraded!(ws(), noise::Config::new(key)?, mplex()),
        ("ws", Some("tls"), Some("yamux")) => upgraded!(ws(), tls::Config::new(key)?, yamux()),
        ("ws", Some("tls"), Some("mplex")) => upgraded!(ws(), tls::Config::new(key)?, mplex()),
        _ => bail!("unsupported combination: {transport} {security:?} {muxer:?}"),
    })
}

/// The address to listen on for `transport`.
fn listen_addr(transport: &str, ip: &str) -> anyhow::Result<Multiaddr> {
    let text = match transport {
        "tcp" => format!("/ip4/{ip}/tcp/0"),
        "ws" => format!("/ip4/{ip}/tcp/0/ws"),
        "quic-v1" => format!("/ip4/{ip}/udp/0/quic-v1"),
        other => bail!("unsupported transport {other}"),
    };
    Ok(text.parse()?)
}

async fn run() -> anyhow::Result<()> {
    let unified = var("TRANSPORT").is_some();
    let pick = |test_plans: &str, unified_name: &str| {
        if unified {
            var(unified_name)
        } else {
            var(test_plans)
        }
    };
    let transport = pick("transport", "TRANSPORT").context("no transport given")?;
    let security = pick("security", "SECURE_CHANNEL");
    let muxer = pick("muxer", "MUXER");
    let is_dialer = pick("is_dialer", "IS_DIALER").unwrap_or_default() == "true";
    let ip = pick("ip", "LISTENER_IP").unwrap_or_else(|| "0.0.0.0".into());
    let redis_addr = pick("redis_addr", "REDIS_ADDR").unwrap_or_else(|| "redis:6379".into());
    let key = if unified {
        format!(
            "{}_listener_multiaddr",
            var("TEST_KEY").context("no TEST_KEY given")?
        )
    } else {
        "listenerAddr".to_owned()
    };
    let timeout = Duration::from_secs(
        var("test_timeout_seconds")
            .and_then(|s| s.parse().ok())
            .unwrap_or(180),
    );

    let identity = identity::Keypair::generate_ed25519();
    let stack = build_transport(&identity, &transport, security.as_deref(), muxer.as_deref())?;
    let mut redis = Redis::connect(&redis_addr, Duration::from_secs(30)).await?;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(identity)
        .with_tokio()
        .with_other_transport(|_| stack)?
        .with_behaviour(|key| Behaviour {
            ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(1))),
            identify: identify::Behaviour::new(identify::Config::new(
                "ipfs/0.1.0".to_owned(),
                key.public(),
            )),
            stream: libp2p_stream::Behaviour::new(),
        })?
        .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let local = *swarm.local_peer_id();

    let work = async {
        if !is_dialer {
            // Before listening, so that identify announces it to the dialer.
            let mut incoming = swarm
                .behaviour()
                .stream
                .new_control()
                .accept(StreamProtocol::new(ECHO_PROTOCOL))
                .context("registering the echo protocol")?;
            tokio::spawn(async move {
                while let Some((_, stream)) = incoming.next().await {
                    tokio::spawn(async move {
                        if let Err(error) = echo(stream).await {
                            eprintln!("echo: {error}");
                        }
                    });
                }
            });
            swarm.listen_on(listen_addr(&transport, &ip)?)?;
            loop {
                if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
                    let is_loopback = address.to_string().starts_with("/ip4/127.");
                    if is_loopback && ip == "0.0.0.0" {
                        continue;
                    }
                    redis.rpush(&key, &format!("{address}/p2p/{local}")).await?;
                    break;
                }
            }
            loop {
                swarm.select_next_some().await;
            }
        }
        let addr: Multiaddr = redis.blpop(&key, timeout).await?.parse()?;
        let started = Instant::now();
        swarm.dial(addr.clone())?;
        // Identify usually answers before the first ping: keep what it says for later.
        let mut identified = None;
        let peer = loop {
            match swarm.select_next_some().await {
                SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                    peer,
                    result: Ok(rtt),
                    ..
                })) => {
                    let total = started.elapsed().as_secs_f64() * 1000.0;
                    let rtt = rtt.as_secs_f64() * 1000.0;
                    if unified {
                        println!(
                            "latency:\n  handshake_plus_one_rtt: {total:.3}\n  ping_rtt: {rtt:.3}\n  unit: ms"
                        );
                    } else {
                        println!(
                            "{{\"handshakePlusOneRTTMillis\": {total}, \"pingRTTMilllis\": {rtt}}}"
                        );
                    }
                    break peer;
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => bail!("dial failed: {error}"),
                SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) => {
                    identified = identified.or(identify_answer(event)?);
                }
                _ => {}
            }
        };
        let info = match identified {
            Some(info) => info,
            None => tokio::time::timeout(IDENTIFY_TIMEOUT, async {
                loop {
                    if let SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) =
                        swarm.select_next_some().await
                        && let Some(info) = identify_answer(event)?
                    {
                        return Ok::<_, anyhow::Error>(info);
                    }
                }
            })
            .await
            .with_context(|| {
                format!("identify: nothing from the listener within {IDENTIFY_TIMEOUT:?}")
            })??,
        };
        let protocols: Vec<String> = info.protocols.iter().map(ToString::to_string).collect();
        let addrs: Vec<String> = info.listen_addrs.iter().map(ToString::to_string).collect();
        checks::check_identify(&protocols, &addrs, &addr.to_string())?;
        let control = swarm.behaviour().stream.new_control();
        while_driving(&mut swarm, check_echo(control, peer)).await
    };
    tokio::time::timeout(timeout, work)
        .await
        .context("the test timed out")?
}

/// The answer of an identify event, or why identify failed; `None` for other events.
fn identify_answer(event: identify::Event) -> anyhow::Result<Option<identify::Info>> {
    match event {
        identify::Event::Received { info, .. } => Ok(Some(info)),
        identify::Event::Error { error, .. } => {
            bail!("identify: asking the listener failed: {error}")
        }
        _ => Ok(None),
    }
}

/// Runs `work` while the swarm runs, which carries its streams.
async fn while_driving<T>(
    swarm: &mut Swarm<Behaviour>,
    work: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return result,
            event = swarm.select_next_some() => {
                if let SwarmEvent::ConnectionClosed { cause: Some(cause), .. } = event {
                    eprintln!("connection closed: {cause}");
                }
            }
        }
    }
}

/// Writes back what `stream` carries until its end, then closes it.
async fn echo(stream: libp2p::Stream) -> std::io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    futures::io::copy(&mut reader, &mut writer).await?;
    writer.close().await
}

/// Sends [`checks::echo_payload`] through the listener's echo and compares what comes back.
async fn check_echo(mut control: libp2p_stream::Control, peer: PeerId) -> anyhow::Result<()> {
    let stream = control
        .open_stream(peer, StreamProtocol::new(ECHO_PROTOCOL))
        .await
        .context("echo: opening a stream")?;
    let (mut reader, mut writer) = stream.split();
    let payload = checks::echo_payload();
    // Both at once: the echo comes back while we write, and would fill every window if left
    // unread.
    let write = async {
        writer.write_all(&payload).await?;
        writer.close().await
    };
    let read = async {
        let mut echoed = Vec::with_capacity(payload.len());
        reader.read_to_end(&mut echoed).await.map(|_| echoed)
    };
    let ((), echoed) = futures::try_join!(write, read).context("echo: stream failed")?;
    checks::check_echo(&payload, &echoed)
}
