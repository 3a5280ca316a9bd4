//! What the gossipsub peer programs share on the Rust side (`rust-libp2p-gossip`,
//! `hyphae-gossip-peer`): their line contract's commands and answers, the scoring parameters
//! and the validation rule. The contract itself, the same for `js/gossip-peer.mjs`, is written
//! out at the top of `tests/gossip_mixed.rs`; the js script repeats these values (keep them
//! equal).

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

/// Honest peers (started with `--validate`) reject every message whose data starts with this.
pub const INVALID_PREFIX: &[u8] = b"invalid";

/// Whether an honest peer rejects a message with this data.
pub fn is_invalid(data: &[u8]) -> bool {
    data.starts_with(INVALID_PREFIX)
}

/// The scoring every peer started with `--score <topic>` runs, the same in all three
/// implementations, so that a few invalid messages push a peer below zero (out of the mesh at
/// the next heartbeat) and that nothing else moves an honest peer's score:
///
/// - only P4 (invalid message deliveries) counts: its weight is [`INVALID_MESSAGE_DELIVERIES_WEIGHT`]
///   with topic weight 1, and its counter decays slowly ([`INVALID_MESSAGE_DELIVERIES_DECAY`]
///   per [`DECAY_INTERVAL`]), so the score stays negative for the whole test;
/// - P1, P2, P3 and P3b have weight 0: mesh-delivery deficits (P3) would otherwise penalise
///   honest peers of a young, quiet mesh;
/// - P5 (application), P6 (IP colocation: every peer is on 127.0.0.1) and P7 (behaviour) have
///   weight 0, as has rust-libp2p's own slow-peer penalty.
///
/// The thresholds are the spec's example values (rust-libp2p's defaults). One invalid
/// message from a peer gives it -10, below 0; three give -90, below the graylist threshold.
pub mod score {
    use super::Duration;

    /// P4's weight (squared counter, so `n` invalid messages weigh `n² × this`).
    pub const INVALID_MESSAGE_DELIVERIES_WEIGHT: f64 = -10.0;
    /// P4's counter is multiplied by this every [`DECAY_INTERVAL`].
    pub const INVALID_MESSAGE_DELIVERIES_DECAY: f64 = 0.99;
    /// The topic's weight.
    pub const TOPIC_WEIGHT: f64 = 1.0;
    /// How often counters decay.
    pub const DECAY_INTERVAL: Duration = Duration::from_secs(1);
    /// A decayed counter below this is 0.
    pub const DECAY_TO_ZERO: f64 = 0.01;
    /// How long a disconnected peer's score is kept.
    pub const RETAIN_SCORE: Duration = Duration::from_secs(600);
    /// Below this, no gossip to or from a peer.
    pub const GOSSIP_THRESHOLD: f64 = -10.0;
    /// Below this, no flood publishing to a peer.
    pub const PUBLISH_THRESHOLD: f64 = -50.0;
    /// Below this, a peer's RPCs are ignored.
    pub const GRAYLIST_THRESHOLD: f64 = -80.0;
    /// Above this, a peer's PX is accepted.
    pub const ACCEPT_PX_THRESHOLD: f64 = 10.0;
    /// Below this median mesh score, opportunistic grafting runs.
    pub const OPPORTUNISTIC_GRAFT_THRESHOLD: f64 = 5.0;
}

/// One stdin command of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `dial <multiaddr>/p2p/<id>`: answered once connected.
    Dial(String),
    /// `subscribe <topic>`.
    Subscribe(String),
    /// `publish <topic> <data>`: the data is the rest of the line, spaces included.
    Publish {
        /// The topic.
        topic: String,
        /// The message's data (UTF-8 on the line, bytes on the wire).
        data: String,
    },
    /// `mesh <topic>`: the peers of our mesh of the topic.
    Mesh(String),
    /// `score <id>`: a peer's score.
    Score(String),
    /// `peers`: the gossipsub peers and the protocol each speaks.
    Peers,
    /// `idontwant`: what this peer counted of IDONTWANT.
    IDontWant,
    /// `quit`: stop.
    Quit,
}

impl Command {
    /// Parses one stdin line (already trimmed).
    pub fn parse(line: &str) -> Result<Command, String> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        let one = |what: &str| {
            if rest.is_empty() || rest.contains(' ') {
                Err(format!("{verb} needs one {what}"))
            } else {
                Ok(rest.to_owned())
            }
        };
        let none = || {
            if rest.is_empty() {
                Ok(())
            } else {
                Err(format!("{verb} takes no argument"))
            }
        };
        Ok(match verb {
            "dial" => Command::Dial(one("multiaddr")?),
            "subscribe" => Command::Subscribe(one("topic")?),
            "publish" => {
                let (topic, data) = rest
                    .split_once(' ')
                    .filter(|(topic, data)| !topic.is_empty() && !data.is_empty())
                    .ok_or("publish needs a topic and data")?;
                Command::Publish {
                    topic: topic.to_owned(),
                    data: data.to_owned(),
                }
            }
            "mesh" => Command::Mesh(one("topic")?),
            "score" => Command::Score(one("peer id")?),
            "peers" => none().map(|()| Command::Peers)?,
            "idontwant" => none().map(|()| Command::IDontWant)?,
            "quit" => none().map(|()| Command::Quit)?,
            _ => return Err(format!("unknown command {line:?}")),
        })
    }
}

/// Prints one JSON line on stdout and flushes it (a closed stdout is ignored: the program ends
/// when stdin closes).
pub fn emit(value: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

/// `{"event":"error","message":...}`, the answer to a command that failed.
pub fn emit_error(message: impl std::fmt::Display) {
    emit(&serde_json::json!({ "event": "error", "message": message.to_string() }));
}

/// Lower-case hex.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(
            Command::parse("dial /ip4/1.2.3.4/tcp/1/p2p/x"),
            Ok(Command::Dial("/ip4/1.2.3.4/tcp/1/p2p/x".into()))
        );
        assert_eq!(
            Command::parse("publish t hello  world"),
            Ok(Command::Publish {
                topic: "t".into(),
                data: "hello  world".into()
            })
        );
        assert_eq!(Command::parse("mesh t"), Ok(Command::Mesh("t".into())));
        assert_eq!(Command::parse("peers"), Ok(Command::Peers));
        assert_eq!(Command::parse("idontwant"), Ok(Command::IDontWant));
        assert!(Command::parse("publish t").is_err());
        assert!(Command::parse("subscribe").is_err());
        assert!(Command::parse("peers x").is_err());
        assert!(Command::parse("frobnicate").is_err());
    }

    #[test]
    fn only_data_starting_with_the_prefix_is_invalid() {
        assert!(is_invalid(b"invalid-1"));
        assert!(!is_invalid(b"valid invalid"));
        assert_eq!(to_hex(&[0, 0xab]), "00ab");
    }
}
