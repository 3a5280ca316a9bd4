//! hyphae as a peer of the gossipsub interop tests, through the line contract written out at
//! the top of `tests/gossip_mixed.rs` (shared values in [`hyphae_interop::gossip`]), so a
//! test treats it like `rust-libp2p-gossip` and `js/gossip-peer.mjs`:
//!
//! `hyphae-gossip-peer [--listen <multiaddr>] [--validate] [--score <topic>] [--lazy-push <n>]`
//!
//! The node's defaults (TCP, Noise, Yamux, identify) and the [`Gossipsub`] service with its
//! defaults, except: message ids set explicitly to [`author_seqno_id`] (already its default
//! for StrictSign); `--validate` installs a validator rejecting data that starts with
//! `invalid`; `--score <topic>` turns scoring on with [`hyphae_interop::gossip::score`];
//! `--lazy-push <n>` relays large messages in full to `n` mesh peers and as IHAVE to the
//! others ([`Config::large_message_push_n`]).
//!
//! What the service's [`Handle`] exposes and the contract asks for: `mesh` (`mesh_peers`),
//! `score` (from `scores`, every peer with a pubsub stream), `peers` (the same peers; the
//! handle does not tell which protocol each negotiated, so each is `null`), and for
//! `idontwant` the totals of [`Stats`](hyphae::gossipsub::Stats): message ids received and
//! sent in IDONTWANT, not per peer.

use std::collections::HashMap;

use anyhow::{Context, bail};
use hyphae::gossipsub::{
    Config, Gossipsub, Handle, Message, MessageIdFn, PeerScoreParams, PeerScoreThresholds,
    TopicScoreParams, Validation, author_seqno_id,
};
use hyphae::{Multiaddr, Node, PeerId};
use hyphae_interop::gossip::{Command, emit, emit_error, is_invalid, score, to_hex};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};

const USAGE: &str = "usage: hyphae-gossip-peer [--listen <multiaddr>] [--validate] [--score <topic>] [--lazy-push <n>]";

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
        topics: HashMap::from([(topic.to_owned(), topic_params)]),
        app_specific_weight: 0.0,
        ip_colocation_factor_weight: 0.0,
        behaviour_penalty_weight: 0.0,
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut listen: Multiaddr = "/ip4/127.0.0.1/tcp/0".parse()?;
    let mut validate = false;
    let mut score_topic = None;
    let mut config = Config::default();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--validate" => validate = true,
            "--listen" => listen = args.next().context(USAGE)?.parse()?,
            "--score" => score_topic = Some(args.next().context(USAGE)?),
            "--lazy-push" => {
                config.large_message_push_n = Some(args.next().context(USAGE)?.parse()?);
            }
            _ => bail!("unknown argument {flag}\n{USAGE}"),
        }
    }

    let mut service = Gossipsub::new(config).message_id_fn(MessageIdFn::new(author_seqno_id));
    if validate {
        service = service.validator(|_source: PeerId, message: Message| async move {
            if is_invalid(message.data.as_deref().unwrap_or_default()) {
                Validation::Reject
            } else {
                Validation::Accept
            }
        });
    }
    if let Some(topic) = &score_topic {
        let (params, thresholds) = score_params(topic);
        service = service.scoring(params, thresholds);
    }
    // The service only logs a bad configuration when it starts; say it here instead.
    service.check()?;
    let node = Node::builder()
        .listen(listen)
        .service(service)
        .start()
        .await?;
    let gossip = node.service::<Gossipsub>().context("gossipsub service")?;
    let addr = node
        .listen_addrs()
        .first()
        .cloned()
        .context("no listen address")?;
    let addr = addr.to_string();
    let addr = addr
        .rsplit_once("/p2p/")
        .map_or(addr.as_str(), |(addr, _)| addr);
    emit(&json!({ "event": "listening", "peer": node.peer_id().to_string(), "addr": addr }));

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match Command::parse(line) {
            Ok(Command::Quit) => break,
            Ok(command) => {
                if let Err(error) = run_command(&node, &gossip, command).await {
                    emit_error(format_args!("{error:#}"));
                }
            }
            Err(error) => emit_error(error),
        }
    }
    node.shutdown().await;
    Ok(())
}

/// Runs one command and prints its answer.
async fn run_command(node: &Node, gossip: &Handle, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Dial(addr) => {
            let addr: Multiaddr = addr.parse()?;
            let peer = node.dial(&addr).await?;
            emit(&json!({ "event": "dial", "peer": peer.to_string() }));
        }
        Command::Subscribe(topic) => {
            let mut subscription = gossip.subscribe(topic.clone()).await?;
            // The task owns the subscription (dropping it would leave the topic) and prints
            // each message as it comes, until the service stops.
            tokio::spawn(async move {
                while let Some(received) = subscription.next().await {
                    emit(&json!({
                        "event": "message",
                        "topic": received.message.topic,
                        "data": String::from_utf8_lossy(received.data()),
                        "source": received.author().map(|peer| peer.to_string()),
                        "from": received.source.to_string(),
                        "id": to_hex(received.id.as_bytes()),
                    }));
                }
            });
            emit(&json!({ "event": "subscribe", "topic": topic }));
        }
        Command::Publish { topic, data } => {
            let id = gossip.publish(topic.clone(), data.into_bytes()).await?;
            emit(&json!({ "event": "publish", "topic": topic, "id": to_hex(id.as_bytes()) }));
        }
        Command::Mesh(topic) => {
            let peers: Vec<String> = gossip
                .mesh_peers(topic.clone())
                .await
                .iter()
                .map(ToString::to_string)
                .collect();
            emit(&json!({ "event": "mesh", "topic": topic, "peers": peers }));
        }
        Command::Score(peer) => {
            let id: PeerId = peer.parse()?;
            let score = gossip
                .scores()
                .await
                .into_iter()
                .find_map(|(other, score)| (other == id).then_some(score));
            emit(&json!({ "event": "score", "peer": peer, "score": score }));
        }
        Command::Peers => {
            let peers: serde_json::Map<String, serde_json::Value> = gossip
                .scores()
                .await
                .into_iter()
                .map(|(peer, _)| (peer.to_string(), serde_json::Value::Null))
                .collect();
            emit(&json!({ "event": "peers", "peers": peers }));
        }
        Command::IDontWant => {
            let stats = gossip.stats().await;
            emit(&json!({
                "event": "idontwant",
                "received": { "messages": null, "ids": stats.idontwant_received },
                "sent": { "ids": stats.idontwant_sent },
                "received_from": null,
                "sent_to": null,
            }));
        }
        Command::Quit => {}
    }
    Ok(())
}
