//! A rust-libp2p gossipsub peer (the crates.io `libp2p` crate, `gossipsub` feature) that
//! hyphae's interop tests put into mixed meshes, driven through the line contract written out
//! at the top of `tests/gossip_mixed.rs` (shared values in [`hyphae_interop::gossip`]):
//!
//! `rust-libp2p-gossip [--listen <multiaddr>] [--validate] [--score <topic>]`
//!
//! TCP + Noise + Yamux, identify (js-libp2p learns from it that we speak gossipsub) and
//! gossipsub with its defaults, except:
//! - message ids: the author's peer id bytes followed by the 8 seqno bytes (go-libp2p's
//!   default, hyphae's for StrictSign) instead of rust-libp2p's base58-and-decimal text;
//! - `--validate`: messages wait for our verdict (`validate_messages`) and those whose data
//!   starts with `invalid` are rejected (P4 for whoever sent them); without it, every message
//!   is accepted as it arrives;
//! - `--score <topic>`: peer scoring with [`hyphae_interop::gossip::score`]'s parameters for
//!   that topic.
//!
//! What rust-libp2p exposes and the contract asks for: `mesh` (`mesh_peers`), `score`
//! (`peer_score`, `null` without scoring), `peers` (`peer_protocol`: the version each peer
//! negotiated), and for `idontwant` only the number of IDONTWANT messages and ids received
//! in all, from its metrics (`idontwant_msgs`, `idontwant_msgs_ids`): it neither counts per
//! peer nor counts what it sends. It sends IDONTWANT for a message whose whole protobuf is
//! longer than `idontwant_message_size_threshold` (1000 bytes by default) to its mesh peers
//! of v1.2 or later, before validating it. It leaves a message's author out when forwarding,
//! and by default (kept here) rejects one of its own messages that a peer sends it as
//! invalid, charging that peer (P4, `SelfOrigin`): js-libp2p peers, which do forward to the
//! author, lose score at rust-libp2p peers that way.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::StreamExt;
use hyphae_interop::gossip::{Command, emit, emit_error, is_invalid, score, to_hex};
use libp2p::gossipsub::{
    self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId, PeerScoreParams,
    PeerScoreThresholds, TopicScoreParams, ValidationMode,
};
use libp2p::metrics::Registry;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{NetworkBehaviour, Swarm, SwarmEvent};
use libp2p::{Multiaddr, PeerId, identify, noise, tcp, yamux};
use serde_json::json;
use tokio::io::AsyncBufReadExt;

/// The agent version this peer announces.
const AGENT: &str = "rust-gossip-peer";
/// How long an idle connection stays open: longer than a test.
const IDLE_CONNECTION_TIMEOUT: Duration = Duration::from_secs(300);
const USAGE: &str =
    "usage: rust-libp2p-gossip [--listen <multiaddr>] [--validate] [--score <topic>]";

#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
}

/// The command line.
struct Options {
    listen: Multiaddr,
    validate: bool,
    score_topic: Option<String>,
}

fn parse_options(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        listen: "/ip4/127.0.0.1/tcp/0".parse()?,
        validate: false,
        score_topic: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--validate" => options.validate = true,
            "--listen" | "--score" => {
                let value = args
                    .next()
                    .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
                if flag == "--listen" {
                    options.listen = value.parse().context("parsing --listen")?;
                } else {
                    options.score_topic = Some(value.clone());
                }
            }
            other => bail!("unknown option {other}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// The contract's message id: the author's peer id bytes, then the seqno as 8 big-endian
/// bytes (an absent field counts as empty).
fn message_id(message: &gossipsub::Message) -> MessageId {
    let mut id = message
        .source
        .map(|peer| peer.to_bytes())
        .unwrap_or_default();
    if let Some(seqno) = message.sequence_number {
        id.extend_from_slice(&seqno.to_be_bytes());
    }
    MessageId::new(&id)
}

/// The scoring of [`hyphae_interop::gossip::score`], for `topic`.
fn score_params(topic: &str) -> (PeerScoreParams, PeerScoreThresholds) {
    let topic_params = TopicScoreParams {
        topic_weight: score::TOPIC_WEIGHT,
        time_in_mesh_weight: 0.0,
        first_message_deliveries_weight: 0.0,
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        invalid_message_deliveries_weight: score::INVALID_MESSAGE_DELIVERIES_WEIGHT,
        invalid_message_deliveries_decay: score::INVALID_MESSAGE_DELIVERIES_DECAY,
        ..TopicScoreParams::default()
    };
    let params = PeerScoreParams {
        topics: HashMap::from([(IdentTopic::new(topic).hash(), topic_params)]),
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: 0.0,
        behaviour_penalty_weight: 0.0,
        slow_peer_weight: 0.0,
        decay_interval: score::DECAY_INTERVAL,
        decay_to_zero: score::DECAY_TO_ZERO,
        retain_score: score::RETAIN_SCORE,
        ..PeerScoreParams::default()
    };
    let thresholds = PeerScoreThresholds {
        gossip_threshold: score::GOSSIP_THRESHOLD,
        publish_threshold: score::PUBLISH_THRESHOLD,
        graylist_threshold: score::GRAYLIST_THRESHOLD,
        accept_px_threshold: score::ACCEPT_PX_THRESHOLD,
        opportunistic_graft_threshold: score::OPPORTUNISTIC_GRAFT_THRESHOLD,
    };
    (params, thresholds)
}

fn new_swarm(options: &Options, registry: &mut Registry) -> anyhow::Result<Swarm<Behaviour>> {
    let mut config = gossipsub::ConfigBuilder::default();
    config
        .validation_mode(ValidationMode::Strict)
        .message_id_fn(message_id);
    if options.validate {
        config.validate_messages();
    }
    let config = config.build().context("gossipsub config")?;
    let swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key| {
            let mut gossipsub =
                gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), config)?
                    .with_metrics(registry, Default::default());
            if let Some(topic) = &options.score_topic {
                let (params, thresholds) = score_params(topic);
                gossipsub.with_peer_score(params, thresholds)?;
            }
            Ok(Behaviour {
                identify: identify::Behaviour::new(
                    identify::Config::new("ipfs/0.1.0".into(), key.public())
                        .with_agent_version(AGENT.into()),
                ),
                gossipsub,
            })
        })?
        .with_swarm_config(|config| config.with_idle_connection_timeout(IDLE_CONNECTION_TIMEOUT))
        .build();
    Ok(swarm)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rust-libp2p-gossip: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = parse_options(&args)?;
    let mut registry = Registry::default();
    let mut swarm = new_swarm(&options, &mut registry)?;
    let local = *swarm.local_peer_id();
    swarm.listen_on(options.listen.clone())?;
    loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            emit(
                &json!({ "event": "listening", "peer": local.to_string(), "addr": address.to_string() }),
            );
            break;
        }
    }

    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    // Dials waiting for their connection, by the peer dialled.
    let mut dialling: HashMap<PeerId, Multiaddr> = HashMap::new();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let Ok(Some(line)) = line else {
                    return Ok(());
                };
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                match Command::parse(line) {
                    Ok(Command::Quit) => return Ok(()),
                    Ok(command) => run_command(&mut swarm, &registry, &mut dialling, command),
                    Err(error) => emit_error(error),
                }
            }
            event = swarm.select_next_some() => {
                handle_event(&mut swarm, &mut dialling, options.validate, event);
            }
        }
    }
}

/// Runs one command; a dial is answered later, by [`handle_event`].
fn run_command(
    swarm: &mut Swarm<Behaviour>,
    registry: &Registry,
    dialling: &mut HashMap<PeerId, Multiaddr>,
    command: Command,
) {
    let gossipsub = &mut swarm.behaviour_mut().gossipsub;
    match command {
        Command::Dial(addr) => {
            let addr: Multiaddr = match addr.parse() {
                Ok(addr) => addr,
                Err(error) => return emit_error(format_args!("dial {addr}: {error}")),
            };
            let Some(Protocol::P2p(peer)) = addr.iter().last() else {
                return emit_error(format_args!("dial {addr}: no /p2p/<id> at its end"));
            };
            if swarm.is_connected(&peer) {
                return emit(&json!({ "event": "dial", "peer": peer.to_string() }));
            }
            match swarm.dial(addr.clone()) {
                Ok(()) => {
                    dialling.insert(peer, addr);
                }
                Err(error) => emit_error(format_args!("dial {addr}: {error}")),
            }
        }
        Command::Subscribe(topic) => match gossipsub.subscribe(&IdentTopic::new(&topic)) {
            Ok(_) => emit(&json!({ "event": "subscribe", "topic": topic })),
            Err(error) => emit_error(format_args!("subscribe {topic}: {error}")),
        },
        Command::Publish { topic, data } => {
            match gossipsub.publish(IdentTopic::new(&topic), data.into_bytes()) {
                Ok(id) => emit(&json!({ "event": "publish", "topic": topic, "id": to_hex(&id.0) })),
                Err(error) => emit_error(format_args!("publish {topic}: {error}")),
            }
        }
        Command::Mesh(topic) => {
            let peers: Vec<String> = gossipsub
                .mesh_peers(&IdentTopic::new(&topic).hash())
                .map(ToString::to_string)
                .collect();
            emit(&json!({ "event": "mesh", "topic": topic, "peers": peers }));
        }
        Command::Score(peer) => match peer.parse::<PeerId>() {
            Ok(id) => {
                let score = gossipsub.peer_score(&id);
                emit(&json!({ "event": "score", "peer": peer, "score": score }));
            }
            Err(error) => emit_error(format_args!("score {peer}: {error}")),
        },
        Command::Peers => {
            let peers: serde_json::Map<String, serde_json::Value> = gossipsub
                .peer_protocol()
                .map(|(peer, kind)| (peer.to_string(), protocol_id(kind.as_ref()).into()))
                .collect();
            emit(&json!({ "event": "peers", "peers": peers }));
        }
        Command::IDontWant => match idontwant_received(registry) {
            Ok((messages, ids)) => emit(&json!({
                "event": "idontwant",
                "received": { "messages": messages, "ids": ids },
                "sent": { "ids": null },
                "received_from": null,
                "sent_to": null,
            })),
            Err(error) => emit_error(error),
        },
        Command::Quit => {}
    }
}

/// The protocol id of rust-libp2p's name for a peer's kind (`Gossipsub v1.2` is
/// `/meshsub/1.2.0`); other names as they are.
fn protocol_id(kind: &str) -> String {
    match kind.strip_prefix("Gossipsub v") {
        Some(version) => format!("/meshsub/{version}.0"),
        None if kind == "Floodsub" => "/floodsub/1.0.0".to_owned(),
        None => kind.to_owned(),
    }
}

/// The IDONTWANT messages and message ids received in all, read from gossipsub's metrics.
fn idontwant_received(registry: &Registry) -> anyhow::Result<(u64, u64)> {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, registry)?;
    let counter = |name: &str| -> anyhow::Result<u64> {
        let line = text
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .with_context(|| format!("no {name} among the gossipsub metrics"))?;
        let value = line.split_whitespace().nth(1).unwrap_or_default();
        value
            .parse()
            .with_context(|| format!("{name} is {value:?}"))
    };
    Ok((
        counter("idontwant_msgs_total")?,
        counter("idontwant_msgs_ids_total")?,
    ))
}

/// What each swarm event means for the contract: messages to report and validate, dials to
/// answer.
fn handle_event(
    swarm: &mut Swarm<Behaviour>,
    dialling: &mut HashMap<PeerId, Multiaddr>,
    validate: bool,
    event: SwarmEvent<BehaviourEvent>,
) {
    match event {
        // Answers a dial (the guard takes it off the list).
        SwarmEvent::ConnectionEstablished { peer_id, .. }
            if dialling.remove(&peer_id).is_some() =>
        {
            emit(&json!({ "event": "dial", "peer": peer_id.to_string() }));
        }
        SwarmEvent::OutgoingConnectionError {
            peer_id: Some(peer),
            error,
            ..
        } => {
            if let Some(addr) = dialling.remove(&peer) {
                emit_error(format_args!("dial {addr}: {error}"));
            }
        }
        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        })) => {
            let rejected = validate && is_invalid(&message.data);
            if validate {
                let acceptance = if rejected {
                    MessageAcceptance::Reject
                } else {
                    MessageAcceptance::Accept
                };
                swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
            }
            if !rejected {
                emit(&json!({
                    "event": "message",
                    "topic": message.topic.as_str(),
                    "data": String::from_utf8_lossy(&message.data),
                    "source": message.source.map(|peer| peer.to_string()),
                    "from": propagation_source.to_string(),
                    "id": to_hex(&message_id.0),
                }));
            }
        }
        _ => {}
    }
}
