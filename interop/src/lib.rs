//! Interop tests between hyphae and other libp2p implementations.
//!
//! The tests live in `tests/`. The other side of each test is a real implementation: the
//! crates.io release of rust-libp2p, wrapped by the binaries in `src/bin/`, and the npm release
//! of js-libp2p, wrapped by the scripts in `js/` (install them with `npm ci --prefix interop/js`).
//! This library holds what the tests share: finding the `hyphae` binary, finding the js
//! scripts, and running a command; and what the transport-interop binaries share: the Redis
//! client ([`redis`]) and the checks every dialer makes after its ping ([`checks`]); the
//! line contract of the Kademlia peer programs ([`kad`]); and what the gossipsub peer programs
//! share ([`gossip`]).
//!
//! The test helpers at the top level panic with a message saying what went wrong: they only
//! run inside tests. The modules return errors.

pub mod checks;
pub mod gossip;
pub mod kad;
pub mod redis;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The `hyphae` binary of this workspace, built on first use.
///
/// Integration tests of this package cannot use `CARGO_BIN_EXE_hyphae` (that binary belongs to
/// `hyphae-cli`), so this runs `cargo build -p hyphae-cli --bin hyphae` once per test process
/// and takes the binary path cargo reports, which honours `CARGO_TARGET_DIR` and the profile.
/// Set `HYPHAE_BIN` to test a binary built elsewhere.
pub fn hyphae_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| match std::env::var_os("HYPHAE_BIN") {
        Some(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.is_file(),
                "HYPHAE_BIN={} is not a file",
                path.display()
            );
            path
        }
        None => build_hyphae(),
    })
}

fn build_hyphae() -> PathBuf {
    // Cargo tells the processes it runs which cargo it is; nextest passes that on too.
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("interop/ lies inside the workspace");
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace)
        .args(["build", "--quiet", "--package=hyphae-cli", "--bin=hyphae"])
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run cargo to build hyphae: {error}"));
    assert!(
        output.status.success(),
        "cargo build -p hyphae-cli failed ({}); see its messages above",
        output.status
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let executable = stdout
        .lines()
        .filter(|line| line.contains(r#""reason":"compiler-artifact""#))
        .filter(|line| line.contains(r#""name":"hyphae""#))
        .find_map(json_executable)
        .unwrap_or_else(|| panic!("cargo build -p hyphae-cli reported no hyphae executable"));
    assert!(
        executable.is_file(),
        "{} was not built",
        executable.display()
    );
    executable
}

/// The `"executable"` path of one cargo JSON message, if it has one.
fn json_executable(line: &str) -> Option<PathBuf> {
    let start = line.find(r#""executable":""#)? + r#""executable":""#.len();
    let rest = &line[start..];
    let mut path = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(PathBuf::from(path)),
            '\\' => match chars.next()? {
                'n' => path.push('\n'),
                't' => path.push('\t'),
                other => path.push(other),
            },
            c => path.push(c),
        }
    }
    None
}

/// The directory of the js-libp2p scripts, after checking that their packages are installed.
///
/// Fails (never skips) when `node_modules` is missing: an interop test that silently does
/// nothing would report a compatibility it never checked.
pub fn js_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        dir.join("node_modules").is_dir(),
        "js-libp2p is not installed in {}: run `npm ci --prefix interop/js` from the \
         repository root (.ci/run does this)",
        dir.display()
    );
    dir
}

/// Runs `command` to completion and returns its stdout; panics with its stderr if it fails.
pub fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("cannot run {command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap_or_else(|error| panic!("{command:?} printed non-UTF-8: {error}"))
}

/// The `<id>` of the `PeerId: <id>` line that every key tool here prints.
pub fn peer_id_of(output: &str) -> &str {
    field(output, "PeerId")
}

/// The `<hex>` of the `PublicKey: <hex>` line that every key tool here prints.
pub fn public_key_of(output: &str) -> &str {
    field(output, "PublicKey")
}

fn field<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no `{name}: ` line in {output:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_executable_of_a_cargo_message() {
        let line = r#"{"reason":"compiler-artifact","target":{"name":"hyphae"},"executable":"/a b/\"q\"/hyphae","fresh":true}"#;
        assert_eq!(
            json_executable(line),
            Some(PathBuf::from(r#"/a b/"q"/hyphae"#))
        );
        assert_eq!(json_executable(r#"{"executable":null}"#), None);
    }

    #[test]
    fn finds_the_fields_of_key_tool_output() {
        let output = "PeerId: 12D3KooWabc\nPublicKey: 0801\n";
        assert_eq!(peer_id_of(output), "12D3KooWabc");
        assert_eq!(public_key_of(output), "0801");
    }
}

/// A peer program of another implementation, speaking the line protocol of
/// `rust-libp2p-node` and `js/node-peer.mjs` (`LISTEN <addr>`, `PING <ms>`,
/// `IDENTIFIED <json>` on stdout) or the command protocol of the Kademlia peers ([`kad`]):
/// commands go in with [`PeerProcess::send`], answers come out with [`PeerProcess::next_line`].
/// Killed when dropped.
pub struct PeerProcess {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    /// Lines read while looking for another prefix, kept for later questions.
    unclaimed: Vec<String>,
}

/// What a peer program reported about a peer that identified itself to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    /// The peer's id.
    pub peer: String,
    /// Its agent version.
    pub agent: String,
    /// The protocols it announced.
    pub protocols: Vec<String>,
}

/// How long any peer program may take to say its next line.
const LINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How long a Kademlia peer may take to answer a command: its own limit, [`kad::COMMAND_TIMEOUT`],
/// and some slack for the answer to arrive.
const ANSWER_TIMEOUT: std::time::Duration =
    kad::COMMAND_TIMEOUT.saturating_add(std::time::Duration::from_secs(10));

impl PeerProcess {
    /// Starts `command` with stdin and stdout piped (closing stdin asks it to stop).
    pub fn spawn(mut command: tokio::process::Command) -> PeerProcess {
        use tokio::io::AsyncBufReadExt;
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the peer program");
        let stdout = child.stdout.take().expect("piped stdout");
        PeerProcess {
            child,
            lines: tokio::io::BufReader::new(stdout).lines(),
            unclaimed: Vec::new(),
        }
    }

    /// The rest of the first stdout line starting with `prefix` not yet returned; lines
    /// with other prefixes are kept for later calls.
    pub async fn line(&mut self, prefix: &str) -> String {
        if let Some(index) = self
            .unclaimed
            .iter()
            .position(|line| line.starts_with(prefix))
        {
            return self.unclaimed.remove(index)[prefix.len()..]
                .trim()
                .to_owned();
        }
        let read = async {
            while let Some(line) = self
                .lines
                .next_line()
                .await
                .expect("read the peer's output")
            {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return rest.trim().to_owned();
                }
                self.unclaimed.push(line);
            }
            panic!("the peer program ended before printing {prefix:?}");
        };
        tokio::time::timeout(LINE_TIMEOUT, read)
            .await
            .unwrap_or_else(|_| panic!("no {prefix:?} line within {LINE_TIMEOUT:?}"))
    }

    /// Writes `line` and a newline to the program's stdin.
    pub async fn send(&mut self, line: &str) {
        use tokio::io::AsyncWriteExt;
        let stdin = self
            .child
            .stdin
            .as_mut()
            .expect("the peer program's stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap_or_else(|error| panic!("send {line:?} to the peer program: {error}"));
        stdin.flush().await.expect("flush the peer program's stdin");
    }

    /// The next stdout line not yet returned: first those [`PeerProcess::line`] kept, then
    /// new ones, waiting up to the time a Kademlia peer may take to answer a command.
    pub async fn next_line(&mut self) -> String {
        if !self.unclaimed.is_empty() {
            return self.unclaimed.remove(0);
        }
        let read = self.lines.next_line();
        match tokio::time::timeout(ANSWER_TIMEOUT, read).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => panic!("the peer program ended without answering"),
            Ok(Err(error)) => panic!("read the peer's output: {error}"),
            Err(_) => panic!("no answer within {ANSWER_TIMEOUT:?}"),
        }
    }

    /// The next `IDENTIFIED` report about `peer`.
    pub async fn identified(&mut self, peer: &str) -> Identified {
        loop {
            let json: serde_json::Value =
                serde_json::from_str(&self.line("IDENTIFIED ").await).expect("IDENTIFIED json");
            let text = |key: &str| json[key].as_str().unwrap_or_default().to_owned();
            if text("peer") == peer {
                let protocols = json["protocols"]
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .filter_map(|p| p.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                return Identified {
                    peer: text("peer"),
                    agent: text("agent"),
                    protocols,
                };
            }
        }
    }

    /// Closes the program's stdin (which asks a listening program to stop), waits for it to
    /// exit and returns whether it succeeded.
    pub async fn success(mut self) -> bool {
        drop(self.child.stdin.take());
        tokio::time::timeout(LINE_TIMEOUT, self.child.wait())
            .await
            .expect("peer program exits in time")
            .expect("wait for the peer program")
            .success()
    }
}

/// Waits for the first inbound connection among `events` (subscribe before the peer dials) and
/// returns the peer that made it.
pub async fn inbound_peer(
    events: &mut tokio::sync::broadcast::Receiver<hyphae::Event>,
) -> hyphae::PeerId {
    let wait = async {
        loop {
            if let hyphae::Event::ConnectionEstablished {
                peer,
                direction: hyphae::Direction::Inbound,
                ..
            } = events.recv().await.expect("the node's events")
            {
                return peer;
            }
        }
    };
    tokio::time::timeout(LINE_TIMEOUT, wait)
        .await
        .expect("an inbound connection within 30 s")
}

/// Identify events of `node`, to pass to [`identified_by_us`]: subscribe before dialling.
pub fn identify_events(
    node: &hyphae::Node,
) -> tokio::sync::broadcast::Receiver<hyphae::identify::Event> {
    node.service::<hyphae::identify::Identify>()
        .expect("the default identify service")
        .events()
}

/// Waits (up to 30 s) for `node`'s identify of `peer`; returns its agent version and protocols.
async fn identified_by_us(
    events: &mut tokio::sync::broadcast::Receiver<hyphae::identify::Event>,
    peer: hyphae::PeerId,
) -> (Option<String>, Vec<String>) {
    let wait = async {
        loop {
            if let hyphae::identify::Event::Received {
                peer: identified,
                info,
                ..
            } = events.recv().await.expect("the node's identify events")
                && identified == peer
            {
                return (info.agent_version, info.protocols);
            }
        }
    };
    tokio::time::timeout(LINE_TIMEOUT, wait)
        .await
        .expect("identify within 30 s")
}

/// Waits for `node`'s identify of `peer` (`events` from [`identify_events`]) and checks what
/// it learned: the `agent` version, ping and identify among the protocols (`who` names the
/// peer in failures), and the agent in the peerstore.
pub async fn assert_identified_by_us(
    node: &hyphae::Node,
    events: &mut tokio::sync::broadcast::Receiver<hyphae::identify::Event>,
    peer: hyphae::PeerId,
    agent: &str,
    who: &str,
) {
    let (announced, protocols) = identified_by_us(events, peer).await;
    assert_eq!(announced.as_deref(), Some(agent), "{who}'s agent version");
    assert_serves_ping_and_identify(who, &protocols);
    let known = node
        .peerstore()
        .get(&peer)
        .unwrap_or_else(|| panic!("{who} is not in the peerstore"));
    assert_eq!(
        known.agent_version.as_deref(),
        Some(agent),
        "{who} in the peerstore"
    );
}

/// Asserts that `who` announced the ping and identify protocols.
pub fn assert_serves_ping_and_identify(who: &str, protocols: &[String]) {
    for expected in ["/ipfs/ping/1.0.0", "/ipfs/id/1.0.0"] {
        assert!(
            protocols.iter().any(|protocol| protocol == expected),
            "{who} does not announce {expected}: {protocols:?}"
        );
    }
}
