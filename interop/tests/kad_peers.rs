//! hyphae, rust-libp2p and js-libp2p in one DHT, each behind the same line contract
//! ([`hyphae_interop::kad`]): `hyphae-kad-peer`, `rust-libp2p-kad` and `js/kad-peer.mjs`.
//! Two servers of each join through a hyphae bootstrap node; every peer finds what every
//! other published (provider records and values) and finds the others themselves.
//!
//! With six servers and k = 20, every `PUT_VALUE` and `ADD_PROVIDER` reaches every server, so
//! a server may answer a lookup from its own store. Three clients (one of each) then join: no
//! record reaches them, so what they find came over the wire, through `GET_VALUE`,
//! `GET_PROVIDERS` and `FIND_NODE` answered by the other implementations.
//!
//! Fails, never skips, when js-libp2p is not installed (`npm ci --prefix interop/js`).

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use futures::future::join_all;
use hyphae_interop::kad::{HEX_KEY_PREFIX, SHA256_MULTIHASH_PREFIX, to_hex};
use hyphae_interop::{PeerProcess, js_dir};
use sha2::{Digest, Sha256};
use tokio::process::Command;

/// How long the whole test may take: six startups and some hundred commands, most of them
/// run by several peers at once, each well under a second on loopback (the whole takes
/// seconds).
const TEST_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the routing tables may take to hold every other peer.
const TABLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Lookups a peer may take to return every other server (see `check_others`).
const CLOSEST_ATTEMPTS: usize = 5;
/// How often a routing table is asked again while it is incomplete.
const TABLE_POLL: Duration = Duration::from_millis(250);
/// How long hyphae's lookups wait for an answer before going on without it: by default 1 s
/// (one slow peer never holds a lookup), here most of the request timeout, since the test
/// checks that every peer answers, and a node.js peer on a loaded machine can take seconds.
const HYPHAE_SLOW_AFTER_MS: &str = "8000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Implementation {
    Hyphae,
    Rust,
    Js,
}

/// One running peer program and what it said about itself.
struct Peer {
    name: &'static str,
    implementation: Implementation,
    id: String,
    /// Its listen address, without `/p2p/<id>`.
    addr: String,
    /// `<addr>/p2p/<id>`, to bootstrap from.
    full_addr: String,
    process: PeerProcess,
}

impl Peer {
    /// Starts a peer and waits for its `LISTEN` and `READY`.
    async fn start(
        name: &'static str,
        implementation: Implementation,
        mode: &str,
        bootstrap: Option<&str>,
    ) -> Peer {
        let mut command = match implementation {
            Implementation::Hyphae => {
                let mut command = Command::new(env!("CARGO_BIN_EXE_hyphae-kad-peer"));
                command.args(["--slow-after-ms", HYPHAE_SLOW_AFTER_MS]);
                command
            }
            Implementation::Rust => Command::new(env!("CARGO_BIN_EXE_rust-libp2p-kad")),
            Implementation::Js => {
                let dir = js_dir();
                let mut command = Command::new("node");
                command.current_dir(&dir).arg(dir.join("kad-peer.mjs"));
                command
            }
        };
        command.args(["--mode", mode]);
        if let Some(addr) = bootstrap {
            command.args(["--bootstrap", addr]);
        }
        let mut process = PeerProcess::spawn(command);
        let full_addr = process.line("LISTEN ").await;
        let (addr, id) = full_addr
            .rsplit_once("/p2p/")
            .unwrap_or_else(|| panic!("{name}: LISTEN {full_addr} has no /p2p/<id>"));
        let (addr, id) = (addr.to_owned(), id.to_owned());
        process.line("READY").await;
        Peer {
            name,
            implementation,
            id,
            addr,
            full_addr,
            process,
        }
    }

    /// Sends `command` and returns its one-line answer.
    async fn ask(&mut self, command: &str) -> String {
        self.process.send(command).await;
        self.process.next_line().await
    }

    /// `find-providers <key>`: the providers found and the hex of the key that was asked for.
    async fn find_providers(&mut self, key: &str) -> (HashSet<String>, String) {
        self.process.send(&format!("find-providers {key}")).await;
        let mut providers = HashSet::new();
        loop {
            let line = self.process.next_line().await;
            if let Some(id) = line.strip_prefix("PROVIDER ") {
                providers.insert(id.to_owned());
            } else if let Some(hex) = line.strip_prefix("END ") {
                return (providers, hex.to_owned());
            } else {
                panic!("{}: find-providers {key} answered {line:?}", self.name);
            }
        }
    }

    /// The ids in its routing table.
    async fn table(&mut self) -> HashSet<String> {
        let answer = self.ask("table").await;
        let ids = answer
            .strip_prefix("TABLE")
            .unwrap_or_else(|| panic!("{}: table answered {answer:?}", self.name));
        ids.split_whitespace().map(str::to_owned).collect()
    }

    /// The key this peer provides, as UTF-8 text.
    fn content(&self) -> String {
        format!("content-of-{}", self.name)
    }

    /// How this peer names `content` in `provide` and `find-providers`: js-libp2p takes the
    /// text and hashes it itself; hyphae and rust-libp2p take keys as they are, so they are
    /// given the bytes js-libp2p puts on the wire.
    fn provider_key(&self, content: &str) -> String {
        match self.implementation {
            Implementation::Js => content.to_owned(),
            Implementation::Hyphae | Implementation::Rust => {
                format!("{HEX_KEY_PREFIX}{}", js_wire_key(content))
            }
        }
    }

    /// The record key this peer puts.
    fn record_key(&self) -> String {
        format!("/example/{}", self.name)
    }

    /// The value this peer puts (with a space: a value is the rest of the line).
    fn record_value(&self) -> String {
        format!("value of {}", self.name)
    }
}

/// The hex of the DHT key js-libp2p provides `content` under: the sha2-256 multihash of its
/// UTF-8 bytes (see `js/kad-peer.mjs`).
fn js_wire_key(content: &str) -> String {
    let mut multihash = SHA256_MULTIHASH_PREFIX.to_vec();
    multihash.extend_from_slice(&Sha256::digest(content.as_bytes()));
    to_hex(&multihash)
}

/// Runs `test`, failing it if it takes longer than [`TEST_TIMEOUT`].
async fn bounded(test: impl Future<Output = ()>) {
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .unwrap_or_else(|_| panic!("the test did not finish within {TEST_TIMEOUT:?}"));
}

/// Another peer, as one peer checks it: who it is and what it published.
struct Other {
    name: &'static str,
    id: String,
    addr: String,
    content: String,
    record_key: String,
    record_value: String,
}

impl Other {
    fn of(peer: &Peer) -> Other {
        Other {
            name: peer.name,
            id: peer.id.clone(),
            addr: peer.addr.clone(),
            content: peer.content(),
            record_key: peer.record_key(),
            record_value: peer.record_value(),
        }
    }
}

/// All of `peers` but `me`.
fn others_of(peers: &[Peer], me: &Peer) -> Vec<Other> {
    peers
        .iter()
        .filter(|peer| peer.id != me.id)
        .map(Other::of)
        .collect()
}

/// Asks `peer` for its routing table until it holds every one of `others`.
///
/// Polled (the peer is another process and announces no change), within [`TABLE_TIMEOUT`]:
/// peers enter a table once identify or a lookup told the other side about them, and
/// js-libp2p pings each one before it does.
async fn await_full_table(peer: &mut Peer, others: &[Other]) {
    let wanted: HashSet<String> = others.iter().map(|other| other.id.clone()).collect();
    let deadline = tokio::time::Instant::now() + TABLE_TIMEOUT;
    loop {
        let table = peer.table().await;
        if wanted.is_subset(&table) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}: routing table {table:?} still lacks some of {wanted:?} after {TABLE_TIMEOUT:?}",
            peer.name
        );
        tokio::time::sleep(TABLE_POLL).await;
    }
}

/// Everything one peer checks about the others, once all have published.
async fn check_others(peer: &mut Peer, others: &[Other]) {
    let me = peer.name;
    for other in others {
        let (providers, hex) = peer
            .find_providers(&peer.provider_key(&other.content))
            .await;
        assert_eq!(
            hex,
            js_wire_key(&other.content),
            "{me}: the key asked for {}",
            other.content
        );
        assert!(
            providers.contains(&other.id),
            "{me} did not find {} ({}) among the providers of {}: {providers:?}",
            other.name,
            other.id,
            other.content
        );

        let answer = peer.ask(&format!("get {}", other.record_key)).await;
        assert_eq!(
            answer,
            format!("VALUE {}", other.record_value),
            "{me}: get {} (put by {})",
            other.record_key,
            other.name
        );

        let answer = peer.ask(&format!("find-peer {}", other.id)).await;
        let mut words = answer.split(' ');
        assert_eq!(
            words.next(),
            Some("PEER"),
            "{me}: find-peer {}: {answer:?}",
            other.name
        );
        assert_eq!(
            words.next(),
            Some(other.id.as_str()),
            "{me}: find-peer {}",
            other.name
        );
        assert!(
            words.any(|addr| addr == other.addr),
            "{me}: find-peer {} did not give its listen address {}: {answer:?}",
            other.name,
            other.addr
        );
    }

    // With six servers and k = 20, a lookup of any key ends with all the other servers. A
    // lookup reports only peers that answered before it ended; rust-libp2p's and js-libp2p's
    // wait for stragglers as long as their request timeouts, hyphae's here for
    // HYPHAE_SLOW_AFTER_MS. Three and then five lookups with hyphae's default (1 s, stretched
    // to twice the mean answer time) were each once not enough in a CI run, with both
    // js-libp2p peers missing every time; so each peer still gets several chances. (Those
    // misses were not slowness: js-libp2p had sent Yamux Go Away on its connection to the
    // client, which hyphae kept opening streams on until bc3aaf5.)
    let mut answer = String::new();
    for _ in 0..CLOSEST_ATTEMPTS {
        answer = peer.ask("closest some-key").await;
        let closest: HashSet<&str> = answer
            .strip_prefix("CLOSEST")
            .unwrap_or_else(|| panic!("{me}: closest answered {answer:?}"))
            .split_whitespace()
            .collect();
        if others
            .iter()
            .all(|other| closest.contains(other.id.as_str()))
        {
            return;
        }
    }
    let missing: Vec<&str> = others
        .iter()
        .filter(|other| !answer.contains(other.id.as_str()))
        .map(|other| other.name)
        .collect();
    // Whether the missing peers failed or were slow (hyphae counts both), and whether they
    // are connected.
    let stats = if peer.implementation == Implementation::Hyphae {
        let stats = peer.ask("closest-stats some-key").await;
        let connected = peer.ask("connected").await;
        format!("{stats}; {connected}")
    } else {
        String::new()
    };
    panic!(
        "{me}: closest some-key lacks {missing:?} in each of {CLOSEST_ATTEMPTS} lookups, the last: {answer:?} {stats}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyphae_rust_and_js_peers_find_what_each_other_published() {
    bounded(async {
        let first = Peer::start("hyphae-1", Implementation::Hyphae, "server", None).await;
        let bootstrap = first.full_addr.clone();
        let mut peers = vec![first];
        for (name, implementation) in [
            ("hyphae-2", Implementation::Hyphae),
            ("rust-1", Implementation::Rust),
            ("rust-2", Implementation::Rust),
            ("js-1", Implementation::Js),
            ("js-2", Implementation::Js),
        ] {
            peers.push(Peer::start(name, implementation, "server", Some(&bootstrap)).await);
        }
        let others: Vec<Vec<Other>> = peers.iter().map(|peer| others_of(&peers, peer)).collect();

        join_all(
            peers
                .iter_mut()
                .zip(&others)
                .map(|(peer, others)| await_full_table(peer, others)),
        )
        .await;

        // Publish: a provider record and a value each.
        join_all(peers.iter_mut().map(|peer| async move {
            let content = peer.content();
            let answer = peer
                .ask(&format!("provide {}", peer.provider_key(&content)))
                .await;
            assert_eq!(
                answer,
                format!("PROVIDED {}", js_wire_key(&content)),
                "{}: provide {content}",
                peer.name
            );
            let answer = peer
                .ask(&format!(
                    "put {} {}",
                    peer.record_key(),
                    peer.record_value()
                ))
                .await;
            assert_eq!(answer, "PUT", "{}: put {}", peer.name, peer.record_key());
        }))
        .await;

        join_all(
            peers
                .iter_mut()
                .zip(&others)
                .map(|(peer, others)| check_others(peer, others)),
        )
        .await;

        // Clients find the same through the servers, and stay out of their routing tables.
        let mut clients = vec![
            Peer::start(
                "hyphae-client",
                Implementation::Hyphae,
                "client",
                Some(&bootstrap),
            )
            .await,
            Peer::start(
                "rust-client",
                Implementation::Rust,
                "client",
                Some(&bootstrap),
            )
            .await,
            Peer::start("js-client", Implementation::Js, "client", Some(&bootstrap)).await,
        ];
        let servers: Vec<Other> = peers.iter().map(Other::of).collect();
        join_all(
            clients
                .iter_mut()
                .map(|client| check_others(client, &servers)),
        )
        .await;
        for server in &mut peers {
            let table = server.table().await;
            for client in &clients {
                assert!(
                    !table.contains(&client.id),
                    "{} has the client {} in its routing table",
                    server.name,
                    client.name
                );
            }
        }

        // Between hyphae and rust-libp2p a provider key needs not be a multihash, both ways.
        let answer = peers[0].ask("provide raw-key-of-hyphae").await;
        assert_eq!(answer, format!("PROVIDED {}", to_hex(b"raw-key-of-hyphae")));
        let (providers, _) = peers[2].find_providers("raw-key-of-hyphae").await;
        assert!(providers.contains(&peers[0].id), "{providers:?}");
        let answer = peers[3].ask("provide raw-key-of-rust").await;
        assert_eq!(answer, format!("PROVIDED {}", to_hex(b"raw-key-of-rust")));
        let (providers, _) = peers[1].find_providers("raw-key-of-rust").await;
        assert!(providers.contains(&peers[3].id), "{providers:?}");

        // What is not there is reported as such.
        for peer in [0, 2, 4] {
            assert_eq!(peers[peer].ask("get /example/nobody").await, "NOTFOUND");
        }
        assert!(peers[5].ask("frobnicate").await.starts_with("ERROR "));
        assert!(peers[1].ask("frobnicate").await.starts_with("ERROR "));
        assert!(peers[3].ask("provide hex:0").await.starts_with("ERROR "));

        for peer in peers.into_iter().chain(clients) {
            let name = peer.name;
            assert!(peer.process.success().await, "{name} did not exit cleanly");
        }
    })
    .await;
}
