//! hyphae, rust-libp2p and js-libp2p in one gossipsub mesh: three honest peers of each and one
//! rust-libp2p peer that turns bad. Every message any of them publishes reaches every other
//! subscriber, IDONTWANT flows between the implementations, and the peer that sends invalid
//! messages is scored below zero and pruned from the honest peers' meshes while honest
//! messages keep flowing.
//!
//! Fails, never skips, when js-libp2p is not installed (`npm ci --prefix interop/js`).
//!
//! # The line contract of the peer programs
//!
//! `hyphae-gossip-peer`, `rust-libp2p-gossip` and `js/gossip-peer.mjs` all speak it (the Rust
//! side shares its values through `hyphae_interop::gossip`; the js script repeats them).
//!
//! `<program> [--listen <multiaddr>] [--validate] [--score <topic>]`
//!
//! - TCP + Noise + Yamux, an Ed25519 identity, identify, gossipsub with StrictSign;
//! - message ids: the author's peer id bytes (the multihash) followed by the 8-byte seqno,
//!   go-libp2p's default and hyphae's `author_seqno_id` (rust-libp2p and js-libp2p are
//!   configured with it; their defaults differ, and peers that compute ids differently cannot
//!   gossip about the same messages);
//! - `--validate`: messages whose data starts with `invalid` are rejected (not delivered, not
//!   forwarded, P4 for the peer that sent them); without it every message is accepted;
//! - `--score <topic>`: peer scoring where only P4 counts on `<topic>` (weight -10, slow
//!   decay: `hyphae_interop::gossip::score`), so one invalid message puts a peer below 0 and
//!   three below the graylist threshold (-80);
//! - everything else is left at each implementation's defaults (mesh degrees 6/5(4)/12,
//!   heartbeat 1 s, flood publishing, their IDONTWANT thresholds, and rust-libp2p charging a
//!   peer that sends it one of its own messages with an invalid delivery).
//!
//! Every line on stdout is one JSON object with an `"event"`. First, once:
//! `{"event":"listening","peer":"<id>","addr":"<multiaddr without /p2p>"}`. Then, whenever a
//! message is delivered (after validation; never our own):
//! `{"event":"message","topic":..,"data":"<UTF-8>","source":"<author id>","from":"<id of
//! the peer it came from>","id":"<hex>"}`. Commands come one per stdin line, each answered by
//! one line whose `"event"` is the command's name, or by `{"event":"error","message":..}`:
//!
//! | command | answer |
//! | --- | --- |
//! | `dial <multiaddr>/p2p/<id>` | `{"event":"dial","peer":..}` once connected |
//! | `subscribe <topic>` | `{"event":"subscribe","topic":..}` |
//! | `publish <topic> <data>` | `{"event":"publish","topic":..,"id":"<hex>"\|null}` (data: the rest of the line) |
//! | `mesh <topic>` | `{"event":"mesh","topic":..,"peers":["<id>",..]}` |
//! | `score <id>` | `{"event":"score","peer":..,"score":<number>\|null}` (null: not scored, or unknown) |
//! | `peers` | `{"event":"peers","peers":{"<id>":"<protocol, e.g. /meshsub/1.2.0>"\|null}}` |
//! | `idontwant` | `{"event":"idontwant","received":{"messages":n\|null,"ids":n\|null},"sent":{"ids":n\|null},"received_from":{"<id>":ids}\|null,"sent_to":{"<id>":ids}\|null}` |
//! | `quit` | none: the program exits 0 (as it does when stdin closes) |
//!
//! `null` marks what an implementation does not expose: js-libp2p's publish returns no id;
//! rust-libp2p counts only the IDONTWANTs it receives, in all, not per peer, and none it
//! sends; hyphae counts both ways in all, not per peer, and does not tell which protocol a
//! peer negotiated; js-libp2p counts IDONTWANT ids per peer both ways (`received` and `sent`
//! are then their sums).
//!
//! # The test
//!
//! Nine honest peers (`--validate --score`) in the order h, r, j, h, r, j, ... each dial the
//! peers 1, 2 and 4 places further round the ring, so every peer has six neighbours, three of
//! each other implementation and none of its own (every link crosses implementations). A
//! tenth peer, rust-libp2p without validation or scoring (the offender), dials the three
//! hyphae peers, one rust-libp2p and one js-libp2p peer: five, fewer than any of them keeps
//! in a mesh, so it grafts them all.
//!
//! 1. Every peer publishes one 2 KiB message (above each implementation's IDONTWANT
//!    threshold); every peer must deliver exactly the nine others, with the same id
//!    everywhere (the one its publisher announced), the author as source.
//! 2. IDONTWANT: every link between honest peers negotiated /meshsub/1.2.0 or later; every
//!    honest peer received IDONTWANTs and, where it counts them, sent some; and IDONTWANTs
//!    went from each implementation to each other one, all six ways: js-libp2p's counts per
//!    peer show the pairs with js, and what hyphae and rust-libp2p peers received in all,
//!    less what js peers sent them, shows hyphae → rust-libp2p and rust-libp2p → hyphae.
//! 3. The offender publishes three `invalid` messages. Its five neighbours reject them, score
//!    it below 0 and prune it: it leaves their meshes, and its own mesh empties. No honest
//!    peer scores another honest one below 0 (only invalid messages count), but for one
//!    known case: js-libp2p echoes a message to its author, which rust-libp2p counts as
//!    invalid (one echo, -10, is allowed there).
//! 4. The honest peers publish again; each delivers exactly the eight others. In all, each
//!    honest peer delivered each valid message once, and no invalid one.
//!
//! A second test checks hyphae's lazy push (`--lazy-push 1`) against the others: a hyphae
//! relay whose only neighbours are a hyphae publisher, a rust-libp2p and a js-libp2p peer
//! sends each large message in full to one of them and an IHAVE to the other, which must
//! fetch it with IWANT (no other path leads to it; past 5 announcements a heartbeat, the
//! relay sends in full to both). 16 messages from the publisher, then 8
//! from the rust-libp2p peer, must all reach everyone.
//!
//! A third checks that a hyphae peer in 120 topics is heard by a rust-libp2p peer with its
//! default subscription filter, which drops a whole RPC of more than 100 subscriptions:
//! hyphae announces them in RPCs of at most 100, so a message on the 100th topic it joined
//! reaches it.
//!
//! Waiting is on events or on polling a peer's state with a deadline, never on a sleep.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::process::Stdio;
use std::time::Duration;

use futures::future::join_all;
use hyphae::PeerId;
use hyphae_interop::gossip::{score, to_hex};
use hyphae_interop::js_dir;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// The topic every peer joins.
const TOPIC: &str = "interop-mesh";
/// The size of the honest messages: above every implementation's IDONTWANT threshold
/// (rust-libp2p: encoded message over 1000 bytes; js-libp2p: data of 512 bytes or more;
/// hyphae: data of 1000 bytes or more).
const MESSAGE_SIZE: usize = 2048;
/// How many invalid messages the offender publishes (3 × 3 × -10 = -90: graylisted).
const INVALID_MESSAGES: usize = 3;

/// A backstop for the whole test; it takes some 7 s on an idle machine.
const TEST_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a peer may take to start: node loads some hundred modules, and nine programs
/// start at once.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a peer may take to answer a command.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the meshes may take to form: a few heartbeats (1 s each) after the dials.
const MESH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a round of messages may take to reach everyone (directly, or through gossip).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the offender may stay in a mesh after its invalid messages (a heartbeat or two).
const PRUNE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a peer's state is asked for again while a condition does not hold yet.
const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Implementation {
    Hyphae,
    Rust,
    Js,
}

/// One running peer program.
struct Peer {
    name: String,
    implementation: Implementation,
    id: String,
    addr: String,
    child: Child,
    stdin: ChildStdin,
    /// Answers to commands (every line that is not a message).
    answers: mpsc::UnboundedReceiver<Value>,
    /// Delivered messages, as they arrive.
    messages: mpsc::UnboundedReceiver<Value>,
    /// The messages taken from `messages` so far.
    delivered: Vec<Value>,
}

impl Peer {
    /// Starts a peer and waits for its `listening` line.
    async fn start(name: &str, implementation: Implementation, args: &[&str]) -> Peer {
        let mut command = match implementation {
            Implementation::Hyphae => Command::new(env!("CARGO_BIN_EXE_hyphae-gossip-peer")),
            Implementation::Rust => Command::new(env!("CARGO_BIN_EXE_rust-libp2p-gossip")),
            Implementation::Js => {
                let dir = js_dir();
                let mut command = Command::new("node");
                command.current_dir(&dir).arg(dir.join("gossip-peer.mjs"));
                command
            }
        };
        let mut child = command
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("{name}: cannot start: {error}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (answer_tx, answers) = mpsc::unbounded_channel();
        let (message_tx, messages) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // A line that is not JSON is passed on as an answer that fails the next ask.
                let value: Value = serde_json::from_str(&line).unwrap_or_else(
                    |error| serde_json::json!({ "event": "unparsable", "line": line, "error": error.to_string() }),
                );
                let channel = if value["event"] == "message" {
                    &message_tx
                } else {
                    &answer_tx
                };
                let _ = channel.send(value);
            }
        });
        let mut peer = Peer {
            name: name.to_owned(),
            implementation,
            id: String::new(),
            addr: String::new(),
            child,
            stdin,
            answers,
            messages,
            delivered: Vec::new(),
        };
        let listening = peer.answer_within("listening", START_TIMEOUT).await;
        peer.id = string(&listening["peer"]);
        peer.addr = string(&listening["addr"]);
        peer
    }

    /// `<addr>/p2p/<id>`, to dial it.
    fn full_addr(&self) -> String {
        format!("{}/p2p/{}", self.addr, self.id)
    }

    /// The next answer, which must be the `event` one.
    async fn answer(&mut self, event: &str) -> Value {
        self.answer_within(event, ANSWER_TIMEOUT).await
    }

    /// The next answer, which must be the `event` one and come within `timeout`.
    async fn answer_within(&mut self, event: &str, timeout: Duration) -> Value {
        let answer = tokio::time::timeout(timeout, self.answers.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: no {event} answer within {timeout:?}", self.name))
            .unwrap_or_else(|| panic!("{}: exited before its {event} answer", self.name));
        assert_eq!(answer["event"], event, "{}: {answer}", self.name);
        answer
    }

    /// Sends `command`; its answer must be the event named like the command.
    async fn ask(&mut self, command: &str) -> Value {
        self.send(command).await;
        let event = command.split(' ').next().unwrap_or_default();
        self.answer(event).await
    }

    /// Sends `command` and returns its answer, whatever event it is (an error included).
    async fn send_and_answer(&mut self, command: &str) -> Value {
        self.send(command).await;
        tokio::time::timeout(ANSWER_TIMEOUT, self.answers.recv())
            .await
            .unwrap_or_else(|_| panic!("{}: no answer to {command:?}", self.name))
            .unwrap_or_else(|| panic!("{}: exited before answering {command:?}", self.name))
    }

    async fn send(&mut self, command: &str) {
        self.stdin
            .write_all(format!("{command}\n").as_bytes())
            .await
            .unwrap_or_else(|error| panic!("{}: cannot send {command:?}: {error}", self.name));
    }

    /// The peers of its mesh of [`TOPIC`].
    async fn mesh(&mut self) -> HashSet<String> {
        let answer = self.ask(&format!("mesh {TOPIC}")).await;
        strings(&answer["peers"])
    }

    /// Its score of `peer` (`None` if it does not score, or does not know the peer).
    async fn score(&mut self, peer: &str) -> Option<f64> {
        self.ask(&format!("score {peer}")).await["score"].as_f64()
    }

    /// Publishes `data` on [`TOPIC`]; the message id, where the implementation tells it.
    async fn publish(&mut self, data: &str) -> Option<String> {
        let answer = self.ask(&format!("publish {TOPIC} {data}")).await;
        answer["id"].as_str().map(str::to_owned)
    }

    /// Waits until every one of `expected` (message data) has been delivered.
    async fn await_delivery(&mut self, expected: &HashSet<String>, deadline: Instant) {
        loop {
            while let Ok(message) = self.messages.try_recv() {
                self.delivered.push(message);
            }
            let data: HashSet<String> = self.delivered.iter().map(|m| string(&m["data"])).collect();
            if expected.is_subset(&data) {
                return;
            }
            let missing: Vec<String> = expected.difference(&data).map(|data| short(data)).collect();
            match tokio::time::timeout_at(deadline, self.messages.recv()).await {
                Ok(Some(message)) => self.delivered.push(message),
                Ok(None) => panic!("{}: exited while {missing:?} were missing", self.name),
                Err(_) => panic!(
                    "{}: did not deliver {missing:?} within the deadline",
                    self.name
                ),
            }
        }
    }

    /// Polls `condition` on this peer until it holds; panics with `what` at `deadline`.
    async fn await_mesh(
        &mut self,
        what: &str,
        deadline: Instant,
        condition: impl Fn(&HashSet<String>) -> bool,
    ) {
        loop {
            let mesh = self.mesh().await;
            if condition(&mesh) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {what}; its mesh is still {mesh:?}",
                self.name
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Asks it to quit; true if it exited with 0.
    async fn quit(mut self) -> bool {
        self.send("quit").await;
        let status = tokio::time::timeout(ANSWER_TIMEOUT, self.child.wait()).await;
        matches!(status, Ok(Ok(status)) if status.success())
    }
}

fn string(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a string"))
        .to_owned()
}

fn strings(value: &Value) -> HashSet<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{value} is not an array"))
        .iter()
        .map(string)
        .collect()
}

/// The start of a message's data, for failure messages.
fn short(data: &str) -> String {
    data.chars().take(40).collect()
}

/// The data `name` publishes in `round`: its name first, padded to [`MESSAGE_SIZE`].
fn message_data(round: &str, name: &str) -> String {
    let mut data = format!("{round} from {name} ");
    while data.len() < MESSAGE_SIZE {
        data.push('.');
    }
    data
}

/// Runs `test`, failing it if it takes longer than [`TEST_TIMEOUT`].
async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"));
}

/// The hex of a peer id's bytes, which every message id of its messages starts with.
fn id_prefix(peer: &str) -> String {
    let peer: PeerId = peer
        .parse()
        .unwrap_or_else(|error| panic!("{peer} is not a peer id: {error}"));
    to_hex(&peer.to_bytes())
}

/// Publishes one message from each of `publishers` (indices into `peers`), waits until each
/// of `receivers` delivered all of them but its own, and checks what was delivered: each
/// message once, from its author, under the same id everywhere (the author's peer id bytes
/// and 8 seqno bytes), and the id the publisher announced, where it announces one.
async fn round(peers: &mut [Peer], round: &str, publishers: &[usize], receivers: &[usize]) {
    let mut published: HashMap<String, (String, Option<String>)> = HashMap::new();
    for &index in publishers {
        let peer = &mut peers[index];
        let data = message_data(round, &peer.name);
        let id = peer.publish(&data).await;
        published.insert(data, (peer.id.clone(), id));
    }
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    join_all(
        peers
            .iter_mut()
            .enumerate()
            .filter(|(index, _)| receivers.contains(index))
            .map(|(_, peer)| {
                let expected: HashSet<String> = published
                    .iter()
                    .filter(|(_, (author, _))| *author != peer.id)
                    .map(|(data, _)| data.clone())
                    .collect();
                async move { peer.await_delivery(&expected, deadline).await }
            }),
    )
    .await;

    let mut ids: HashMap<&str, HashSet<String>> = HashMap::new();
    for &index in receivers {
        let peer = &peers[index];
        let mut seen = HashSet::new();
        for message in peer.delivered.iter().filter(|m| {
            m["data"]
                .as_str()
                .is_some_and(|data| data.starts_with(&format!("{round} ")))
        }) {
            let data = string(&message["data"]);
            let name = &peer.name;
            assert!(
                seen.insert(data.clone()),
                "{name} delivered {} twice",
                short(&data)
            );
            let (published_data, (author, announced)) =
                published.get_key_value(&data).unwrap_or_else(|| {
                    panic!("{name} delivered {} that nobody published", short(&data))
                });
            assert_ne!(*author, peer.id, "{name} delivered its own message");
            assert_eq!(message["topic"], TOPIC, "{name}: {}", short(&data));
            assert_eq!(
                string(&message["source"]),
                *author,
                "{name}: source of {}",
                short(&data)
            );
            let id = string(&message["id"]);
            let prefix = id_prefix(author);
            assert!(
                id.starts_with(&prefix) && id.len() == prefix.len() + 16,
                "{name}: the id {id} of {} is not its author's id bytes and 8 seqno bytes",
                short(&data)
            );
            if let Some(announced) = announced {
                assert_eq!(id, *announced, "{name}: the id of {}", short(&data));
            }
            ids.entry(published_data.as_str()).or_default().insert(id);
        }
    }
    for (data, ids) in ids {
        assert_eq!(ids.len(), 1, "{} went by several ids: {ids:?}", short(data));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_implementation_delivers_gossips_idontwant_and_prunes_an_invalid_sender() {
    bounded(async {
        let honest_args = ["--validate", "--score", TOPIC];
        let roster = [
            ("hyphae-1", Implementation::Hyphae),
            ("rust-1", Implementation::Rust),
            ("js-1", Implementation::Js),
            ("hyphae-2", Implementation::Hyphae),
            ("rust-2", Implementation::Rust),
            ("js-2", Implementation::Js),
            ("hyphae-3", Implementation::Hyphae),
            ("rust-3", Implementation::Rust),
            ("js-3", Implementation::Js),
        ];
        let mut peers = join_all(
            roster
                .iter()
                .map(|(name, implementation)| Peer::start(name, *implementation, &honest_args)),
        )
        .await;
        let honest: Vec<usize> = (0..peers.len()).collect();
        peers.push(Peer::start("offender", Implementation::Rust, &[]).await);
        let offender = peers.len() - 1;
        let everyone: Vec<usize> = (0..peers.len()).collect();

        join_all(peers.iter_mut().map(|peer| async move {
            peer.ask(&format!("subscribe {TOPIC}")).await;
        }))
        .await;

        // The ring: each honest peer dials those 1, 2 and 4 places on.
        let n = honest.len();
        let mut links: Vec<(usize, usize)> = Vec::new();
        for i in 0..n {
            for step in [1, 2, 4] {
                let j = (i + step) % n;
                if !links.contains(&(i, j)) && !links.contains(&(j, i)) {
                    links.push((i, j));
                }
            }
        }
        let first = |implementation| {
            honest
                .iter()
                .copied()
                .find(|&i| peers[i].implementation == implementation)
                .expect("one peer of each implementation")
        };
        let mut targets: Vec<usize> = honest
            .iter()
            .copied()
            .filter(|&i| peers[i].implementation == Implementation::Hyphae)
            .collect();
        targets.extend([first(Implementation::Rust), first(Implementation::Js)]);
        links.extend(targets.iter().map(|&target| (offender, target)));
        let addrs: Vec<String> = peers.iter().map(Peer::full_addr).collect();
        let ids: Vec<String> = peers.iter().map(|peer| peer.id.clone()).collect();
        for &(from, to) in &links {
            let answer = peers[from].ask(&format!("dial {}", addrs[to])).await;
            assert_eq!(
                string(&answer["peer"]),
                ids[to],
                "{} dialled",
                peers[from].name
            );
        }

        // The meshes: every honest peer keeps at least 4 of its 6 or 7 neighbours (the least
        // D_lo of the three), and the offender is in the mesh of each peer it dialled.
        let deadline = Instant::now() + MESH_TIMEOUT;
        let offender_id = ids[offender].clone();
        join_all(peers.iter_mut().take(n).enumerate().map(|(index, peer)| {
            let expects_offender = targets.contains(&index);
            let offender_id = offender_id.clone();
            async move {
                peer.await_mesh(
                    "fewer than 4 mesh peers, or the offender missing",
                    deadline,
                    |mesh| mesh.len() >= 4 && (!expects_offender || mesh.contains(&offender_id)),
                )
                .await;
            }
        }))
        .await;

        // 1. Everyone publishes; everyone delivers the others.
        round(&mut peers, "round-1", &everyone, &everyone).await;

        // 2. IDONTWANT.
        check_idontwant(&mut peers, &honest, &links).await;

        // 3. The offender publishes invalid messages and is pruned by those it reached.
        for k in 1..=INVALID_MESSAGES {
            peers[offender]
                .publish(&format!("invalid message {k} from the offender"))
                .await;
        }
        let deadline = Instant::now() + PRUNE_TIMEOUT;
        join_all(peers.iter_mut().take(n).map(|peer| {
            let offender_id = offender_id.clone();
            async move {
                peer.await_mesh("the offender is still in the mesh", deadline, |mesh| {
                    !mesh.contains(&offender_id)
                })
                .await;
            }
        }))
        .await;
        for &target in &targets {
            let score = peers[target].score(&offender_id).await;
            println!("{} scores the offender {score:?}", peers[target].name);
            assert!(
                score.is_some_and(|score| score < 0.0),
                "{} scores the offender {score:?} after its invalid messages",
                peers[target].name
            );
        }
        peers[offender]
            .await_mesh(
                "the honest peers did not PRUNE the offender",
                deadline,
                HashSet::is_empty,
            )
            .await;
        // Only invalid messages count, so an honest peer below 0 means that one
        // implementation rejected what another sent in good faith. One such case is known:
        // js-libp2p forwards a message to every mesh peer but the one it came from, its
        // author included, and rust-libp2p charges a peer that sends it its own message as
        // one invalid delivery (`SelfOrigin`). So far (one round) each rust-libp2p peer
        // published one message: a js-libp2p peer may be one invalid delivery down there
        // (-10), never more. hyphae does not echo (as go and rust-libp2p, it leaves a
        // message's author out when forwarding), and must stay at 0 or above everywhere.
        for &(a, b) in links.iter().filter(|&&(a, _)| a != offender) {
            for (judge, judged) in [(a, b), (b, a)] {
                let score = peers[judge].score(&ids[judged]).await;
                let echoes = peers[judge].implementation == Implementation::Rust
                    && peers[judged].implementation == Implementation::Js;
                let floor = if echoes {
                    score::INVALID_MESSAGE_DELIVERIES_WEIGHT * score::TOPIC_WEIGHT
                } else {
                    0.0
                };
                assert!(
                    score.is_some_and(|score| score >= floor),
                    "{} scores {} {score:?} (the least expected: {floor})",
                    peers[judge].name,
                    peers[judged].name
                );
            }
        }

        // 4. Honest messages still flow. In all, each honest peer delivered exactly the
        // honest messages of the others and the offender's valid one, each once: none of the
        // invalid ones.
        round(&mut peers, "round-2", &honest, &honest).await;
        let names: Vec<String> = peers.iter().map(|peer| peer.name.clone()).collect();
        for &index in &honest {
            let peer = &mut peers[index];
            while let Ok(message) = peer.messages.try_recv() {
                peer.delivered.push(message);
            }
            let mut delivered: Vec<String> = peer
                .delivered
                .iter()
                .map(|message| string(&message["data"]))
                .collect();
            let mut expected: Vec<String> = everyone
                .iter()
                .filter(|&&other| other != index)
                .map(|&other| message_data("round-1", &names[other]))
                .chain(
                    honest
                        .iter()
                        .filter(|&&other| other != index)
                        .map(|&other| message_data("round-2", &names[other])),
                )
                .collect();
            delivered.sort();
            expected.sort();
            assert!(
                delivered == expected,
                "{} delivered {:?}, not {:?}",
                peer.name,
                delivered.iter().map(|data| short(data)).collect::<Vec<_>>(),
                expected.iter().map(|data| short(data)).collect::<Vec<_>>()
            );
        }

        for peer in peers {
            let name = peer.name.clone();
            assert!(peer.quit().await, "{name} did not exit cleanly");
        }
    })
    .await;
}

/// What the peers tell of IDONTWANT after a round of 2 KiB messages:
/// - every link between honest peers negotiated /meshsub/1.2.0 or later, as one side at
///   least reports (rust-libp2p and js-libp2p do; every link has one of them);
/// - every honest peer received IDONTWANTs, and every one that counts what it sends sent some;
/// - IDONTWANTs went from each implementation to each other one. js-libp2p counts them per
///   peer, both ways, which covers every pair with js. hyphae and rust-libp2p count only what
///   they received in all; of that, what js peers did not send them came from their other
///   neighbours, and where those are all of one implementation (a hyphae peer's are rust-libp2p
///   peers; rust-2's and rust-3's are hyphae peers), that pair is measured too.
async fn check_idontwant(peers: &mut [Peer], honest: &[usize], links: &[(usize, usize)]) {
    let index_of: HashMap<String, usize> = peers
        .iter()
        .enumerate()
        .map(|(index, peer)| (peer.id.clone(), index))
        .collect();
    // (reporter, other) → the protocol the reporter says they speak.
    let mut protocols: HashMap<(usize, usize), String> = HashMap::new();
    // (from, to) → IDONTWANT ids, as a side that counts per peer counted them.
    let mut by_link: HashMap<(usize, usize), u64> = HashMap::new();
    // The peers that count per peer what they receive and send, and each one's total received.
    let mut counts_received_per_peer: HashSet<usize> = HashSet::new();
    let mut counts_sent_per_peer: HashSet<usize> = HashSet::new();
    let mut received_in_all: HashMap<usize, u64> = HashMap::new();
    for &index in honest {
        let peer = &mut peers[index];
        let answer = peer.ask("peers").await;
        let reported = answer["peers"].as_object().expect("peers is an object");
        assert!(!reported.is_empty(), "{} has no gossipsub peers", peer.name);
        for (other, protocol) in reported {
            if let (Some(&other), Some(protocol)) = (index_of.get(other), protocol.as_str()) {
                protocols.insert((index, other), protocol.to_owned());
            }
        }

        let counts = peer.ask("idontwant").await;
        // Shown with --nocapture, and with a failure.
        println!("{}: peers {reported:?}\n  idontwant {counts}", peer.name);
        for direction in ["received", "sent"] {
            if let Some(ids) = counts[direction]["ids"].as_u64() {
                assert!(ids > 0, "{} {direction} no IDONTWANT: {counts}", peer.name);
            }
        }
        if let Some(ids) = counts["received"]["ids"].as_u64() {
            received_in_all.insert(index, ids);
        }
        for (field, is_incoming) in [("received_from", true), ("sent_to", false)] {
            let Some(by_peer) = counts[field].as_object() else {
                continue;
            };
            if is_incoming {
                counts_received_per_peer.insert(index);
            } else {
                counts_sent_per_peer.insert(index);
            }
            for (other, count) in by_peer {
                let Some(&other) = index_of.get(other) else {
                    continue;
                };
                let key = if is_incoming {
                    (other, index)
                } else {
                    (index, other)
                };
                let count = count.as_u64().unwrap_or(0);
                // Both sides may count one link (js to js): keep one count.
                let entry = by_link.entry(key).or_default();
                *entry = (*entry).max(count);
            }
        }
    }

    for &(a, b) in links {
        if !(honest.contains(&a) && honest.contains(&b)) {
            continue;
        }
        let reports: Vec<&String> = [(a, b), (b, a)]
            .iter()
            .filter_map(|key| protocols.get(key))
            .collect();
        let (name_a, name_b) = (&peers[a].name, &peers[b].name);
        assert!(
            !reports.is_empty(),
            "neither {name_a} nor {name_b} reports a protocol between them"
        );
        for protocol in reports {
            assert!(
                matches!(protocol.as_str(), "/meshsub/1.2.0" | "/meshsub/1.3.0"),
                "{name_a} and {name_b} speak {protocol}: no IDONTWANT"
            );
        }
    }

    // (from, to) → ids, and the pairs measured at all.
    let implementation = |index: usize| peers[index].implementation;
    let mut flows: HashMap<(Implementation, Implementation), u64> = HashMap::new();
    for (&(from, to), &count) in &by_link {
        *flows
            .entry((implementation(from), implementation(to)))
            .or_default() += count;
    }
    let mut measured: HashSet<(Implementation, Implementation)> = flows.keys().copied().collect();
    for (&index, &received) in &received_in_all {
        if counts_received_per_peer.contains(&index) {
            continue;
        }
        let counted: u64 = by_link
            .iter()
            .filter(|&(&(from, to), _)| to == index && counts_sent_per_peer.contains(&from))
            .map(|(_, count)| count)
            .sum();
        let others: HashSet<Implementation> = links
            .iter()
            .filter_map(|&(a, b)| match (a == index, b == index) {
                (true, _) => Some(b),
                (_, true) => Some(a),
                _ => None,
            })
            .filter(|neighbour| !counts_sent_per_peer.contains(neighbour))
            .map(implementation)
            .collect();
        if let [other] = others.iter().copied().collect::<Vec<_>>()[..] {
            let pair = (other, implementation(index));
            *flows.entry(pair).or_default() += received.saturating_sub(counted);
            measured.insert(pair);
        }
    }
    println!("IDONTWANT ids counted between implementations: {flows:?}");

    let present: HashSet<Implementation> = honest.iter().map(|&i| implementation(i)).collect();
    for &from in &present {
        for &to in &present {
            if from == to {
                continue;
            }
            assert!(
                measured.contains(&(from, to)),
                "nothing measures IDONTWANT from {from:?} to {to:?}"
            );
            assert!(
                flows.get(&(from, to)).copied().unwrap_or(0) > 0,
                "no IDONTWANT counted from {from:?} to {to:?}: {flows:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_and_js_peers_fetch_what_a_lazy_hyphae_relay_announces() {
    bounded(async {
        let mut peers = join_all([
            Peer::start("publisher", Implementation::Hyphae, &[]),
            Peer::start("relay", Implementation::Hyphae, &["--lazy-push", "1"]),
            Peer::start("rust", Implementation::Rust, &[]),
            Peer::start("js", Implementation::Js, &[]),
        ])
        .await;
        let (publisher, relay, rust, js) = (0, 1, 2, 3);
        join_all(peers.iter_mut().map(|peer| async move {
            peer.ask(&format!("subscribe {TOPIC}")).await;
        }))
        .await;
        // A star: the relay is every other peer's only neighbour.
        for other in [publisher, rust, js] {
            let addr = peers[other].full_addr();
            peers[relay].ask(&format!("dial {addr}")).await;
        }
        let relay_id = peers[relay].id.clone();
        let leaves: HashSet<String> = [publisher, rust, js]
            .iter()
            .map(|&index| peers[index].id.clone())
            .collect();
        let deadline = Instant::now() + MESH_TIMEOUT;
        peers[relay]
            .await_mesh("the relay's mesh lacks a leaf", deadline, |mesh| {
                leaves.is_subset(mesh)
            })
            .await;
        for leaf in [publisher, rust, js] {
            let relay_id = relay_id.clone();
            peers[leaf]
                .await_mesh("the relay is not in the mesh", deadline, move |mesh| {
                    mesh.contains(&relay_id)
                })
                .await;
        }

        // Each message reaches one leaf in full and the other through IHAVE and IWANT (the
        // relay draws anew each time), up to 5 announcements a leaf a heartbeat, half of what
        // peers take; past that, in full to both. The first 5 rounds fall in one heartbeat:
        // the chance that a given leaf is never announced to in them is 1 in 32.
        for k in 1..=16 {
            let name = format!("lazy-{k}");
            round(&mut peers, &name, &[publisher], &[relay, rust, js]).await;
        }
        for k in 1..=8 {
            let name = format!("lazy-rust-{k}");
            round(&mut peers, &name, &[rust], &[relay, publisher, js]).await;
        }
        for peer in peers {
            let name = peer.name.clone();
            assert!(peer.quit().await, "{name} did not exit cleanly");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_libp2p_hears_every_subscription_of_a_peer_in_many_topics() {
    bounded(async {
        let mut hyphae = Peer::start("hyphae", Implementation::Hyphae, &[]).await;
        let mut rust = Peer::start("rust", Implementation::Rust, &[]).await;
        // Joined before the connection, so that they all go in the first announcement.
        for k in 1..=120 {
            hyphae.ask(&format!("subscribe topic-{k}")).await;
        }
        rust.ask("subscribe topic-100").await;
        let addr = rust.full_addr();
        hyphae.ask(&format!("dial {addr}")).await;
        // rust-libp2p publishes to the peers it knows in the topic: a lost announcement
        // would leave it without any (its publish then fails, and is retried here).
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        let data = message_data("many-topics", "rust");
        loop {
            let answer = rust
                .send_and_answer(&format!("publish topic-100 {data}"))
                .await;
            if answer["event"] == "publish" {
                break;
            }
            assert!(Instant::now() < deadline, "rust never published: {answer}");
            tokio::time::sleep(POLL).await;
        }
        let expected = HashSet::from([data]);
        hyphae.await_delivery(&expected, deadline).await;
        for peer in [hyphae, rust] {
            let name = peer.name.clone();
            assert!(peer.quit().await, "{name} did not exit cleanly");
        }
    })
    .await;
}
