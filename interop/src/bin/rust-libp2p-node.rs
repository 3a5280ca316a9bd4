//! A rust-libp2p node (the crates.io `libp2p` crate) that hyphae's interop tests talk to:
//! TCP, Noise, Yamux, ping and identify, with rust-libp2p's defaults.
//!
//! `rust-libp2p-node listen` prints `LISTEN <multiaddr>/p2p/<id>` and runs until stdin closes;
//! `rust-libp2p-node dial <multiaddr>` connects, pings once (`PING <ms>`), waits for identify
//! and then stays connected until stdin closes, so the dialled node can finish identifying it
//! too; it fails if stdin closes before then. Both print `IDENTIFIED {"peer":…,"agent":…,"protocols":[…]}` for each peer that
//! identifies itself. Logs go to stderr.

use std::time::Duration;

use anyhow::{Context, bail};
use futures::StreamExt;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, identify, noise, ping, tcp, yamux};
use tokio::io::AsyncReadExt;

/// The agent version hyphae's tests expect from this peer.
const AGENT: &str = "rust-interop-peer";

#[derive(NetworkBehaviour)]
struct Behaviour {
    ping: ping::Behaviour,
    identify: identify::Behaviour,
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dial: Option<Multiaddr> = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["listen"] => None,
        ["dial", addr] => Some(addr.parse().context("parsing the address")?),
        _ => bail!("usage: rust-libp2p-node listen | dial <multiaddr>"),
    };
    let mut swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key| Behaviour {
            ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(1))),
            identify: identify::Behaviour::new(
                identify::Config::new("ipfs/0.1.0".into(), key.public())
                    .with_agent_version(AGENT.into()),
            ),
        })?
        .with_swarm_config(|config| config.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    let local = *swarm.local_peer_id();
    match &dial {
        Some(addr) => swarm.dial(addr.clone())?,
        None => {
            swarm.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
        }
    }
    let mut stdin = tokio::io::stdin();
    let mut stdin_buf = [0u8; 64];
    let (mut pinged, mut identified) = (false, false);
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            read = stdin.read(&mut stdin_buf) => {
                if matches!(read, Ok(0) | Err(_)) {
                    if dial.is_some() && !(pinged && identified) {
                        bail!("stdin closed early (pinged: {pinged}, identified: {identified})");
                    }
                    return Ok(());
                }
            }
            () = &mut deadline, if dial.is_some() && !(pinged && identified) => bail!("timed out (pinged: {pinged}, identified: {identified})"),
            event = swarm.select_next_some() => match event {
                SwarmEvent::NewListenAddr { address, .. } => println!("LISTEN {address}/p2p/{local}"),
                SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event { result: Ok(rtt), .. })) if !pinged => {
                    pinged = true;
                    println!("PING {:.3}", rtt.as_secs_f64() * 1000.0);
                }
                SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. })) => {
                    identified = true;
                    let protocols: Vec<String> =
                        info.protocols.iter().map(|protocol| json_string(protocol.as_ref())).collect();
                    println!(
                        "IDENTIFIED {{\"peer\":{},\"agent\":{},\"protocols\":[{}]}}",
                        json_string(&peer_id.to_string()),
                        json_string(&info.agent_version),
                        protocols.join(",")
                    );
                }
                SwarmEvent::OutgoingConnectionError { error, .. } => bail!("dial failed: {error}"),
                other => eprintln!("{other:?}"),
            },
        }
    }
}
