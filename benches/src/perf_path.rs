//! The throughput benchmark's paths between processes: a perf server of each stack and one
//! client process per transfer, all speaking the test-plans perf command line
//! (perf/README.md in libp2p/test-plans): `hyphae perf`, `rust-libp2p-perf`,
//! `raw-tcp-perf`. This is what users run: each program's own runtime (tokio's
//! multi-threaded one for both libp2p stacks), not the in-process harness's thread per end.
//!
//! Either on loopback, or across two network namespaces joined by `hyphae-linkem` with a
//! fixed delay each way (servers in namespace B, clients in A). Namespaces need processes of
//! their own, hence child processes rather than tasks; the linked path needs root,
//! `/dev/net/tun` and iproute2, as linkem does.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{Context, bail};
use hyphae_linkem::Link;
use hyphae_perf::Params;

use crate::Transport;

/// The implementations compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Stack {
    /// hyphae.
    Hyphae,
    /// rust-libp2p 0.57.
    RustLibp2p,
    /// rust-libp2p 0.57 given hyphae's QUIC settings where libp2p-quic lets them be set
    /// ([`QuicSettings::Matched`](crate::QuicSettings::Matched)): the like-for-like QUIC
    /// row. Measured over QUIC only.
    RustLibp2pMatched,
    /// Plain TCP sockets: no security, no multiplexing.
    RawTcp,
}

impl Stack {
    /// The perf server's port on the linked path, in namespace B (each stack has its own
    /// server).
    fn port(self) -> u16 {
        match self {
            Stack::Hyphae => 4001,
            Stack::RustLibp2p => 4002,
            Stack::RawTcp => 4003,
            Stack::RustLibp2pMatched => 4004,
        }
    }

    /// The program and the arguments before the perf contract's.
    fn command(self, bin_dir: &Path) -> (PathBuf, &'static [&'static str]) {
        match self {
            Stack::Hyphae => (bin_dir.join("hyphae"), &["perf"]),
            Stack::RustLibp2p => (bin_dir.join("rust-libp2p-perf"), &[]),
            Stack::RustLibp2pMatched => (
                bin_dir.join("rust-libp2p-perf"),
                &["--quic-settings", "matched"],
            ),
            Stack::RawTcp => (bin_dir.join("raw-tcp-perf"), &[]),
        }
    }
}

/// TCP buffer maxima (`net.ipv4.tcp_rmem` / `tcp_wmem`) in the wan path's namespaces: 128
/// MiB. One stream needs a window of a bandwidth-delay product (36 MB for 4.8 Gbit/s over
/// 60 ms) and the kernel advertises only part of its receive buffer as window (the rest pays
/// for skb overhead): linkem's default of 32 MiB held raw TCP near 2 Gbit/s here.
pub const WAN_TCP_BUFFER_MAX: usize = 128 << 20;

/// What the wan path does to packets, the same both ways.
#[derive(Clone, Debug, PartialEq)]
pub struct WanConditions {
    /// Delay added in each direction.
    pub one_way: Duration,
    /// Probability in `0.0..=1.0` that a packet is lost, per direction.
    pub loss: f64,
    /// TCP buffer maxima inside both namespaces, in bytes.
    pub tcp_buffer_max: usize,
    /// Bottleneck rate in bytes per second, per direction (queue: one bandwidth-delay
    /// product); `None` for no limit.
    pub rate: Option<u64>,
}

impl WanConditions {
    /// `one_way` delay each way, no loss, no rate limit, [`WAN_TCP_BUFFER_MAX`].
    pub fn new(one_way: Duration) -> WanConditions {
        WanConditions {
            one_way,
            loss: 0.0,
            tcp_buffer_max: WAN_TCP_BUFFER_MAX,
            rate: None,
        }
    }

    /// The link these conditions describe, prefix `tput`.
    pub fn link(&self) -> hyphae_linkem::LinkBuilder {
        Link::builder()
            .delay(self.one_way)
            .loss(self.loss)
            .rate(self.rate)
            .tcp_buffer_max(Some(self.tcp_buffer_max))
            .prefix("tput")
    }
}

/// A server process, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A perf server of each stack, on loopback or behind a link.
pub struct PerfPath {
    // Dropped before the link: the servers die before their namespace goes.
    servers: Vec<(Stack, Server, SocketAddr)>,
    link: Option<Link>,
    bin_dir: PathBuf,
}

impl PerfPath {
    /// Starts a link with `conditions` and a perf server for each of
    /// `stacks` behind it, its logs in `<temp dir>/perf-<stack>.log`; waits until each
    /// answers a perf run.
    pub fn linked(
        conditions: &WanConditions,
        bin_dir: &Path,
        stacks: &[Stack],
    ) -> anyhow::Result<PerfPath> {
        let link = conditions
            .link()
            .start()
            .context("starting the link (root, /dev/net/tun and iproute2 needed)")?;
        PerfPath::start(Some(link), bin_dir, stacks)
    }

    /// Starts a perf server for each of `stacks` on loopback, as [`PerfPath::linked`] does
    /// behind its link.
    pub fn loopback(bin_dir: &Path, stacks: &[Stack]) -> anyhow::Result<PerfPath> {
        PerfPath::start(None, bin_dir, stacks)
    }

    fn start(link: Option<Link>, bin_dir: &Path, stacks: &[Stack]) -> anyhow::Result<PerfPath> {
        let mut path = PerfPath {
            servers: Vec::new(),
            link,
            bin_dir: bin_dir.to_owned(),
        };
        for &stack in stacks {
            let (program, prefix) = stack.command(bin_dir);
            ensure_file(&program)?;
            let server = match &path.link {
                Some(link) => SocketAddr::new(IpAddr::V4(link.addr_b()), stack.port()),
                None => free_loopback_port()?,
            };
            let log = std::env::temp_dir().join(format!("perf-{stack:?}.log"));
            let child = path
                .command(Side::Server, &program)
                .args(prefix)
                .arg("--run-server")
                .arg("--server-address")
                .arg(server.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log)?)
                .spawn()
                .with_context(|| format!("starting {}", program.display()))?;
            path.servers.push((stack, Server(child), server));
        }
        for &stack in stacks {
            path.wait_ready(stack)?;
        }
        Ok(path)
    }

    /// The link's namespaces, for the record (none on loopback).
    pub fn namespaces(&self) -> Option<(&str, &str)> {
        let link = self.link.as_ref()?;
        Some((link.namespace_a(), link.namespace_b()))
    }

    /// A command running `program` on `side` of the path: in its namespace, if linked.
    fn command(&self, side: Side, program: &Path) -> Command {
        match &self.link {
            Some(link) => {
                let namespace = match side {
                    Side::Client => link.namespace_a(),
                    Side::Server => link.namespace_b(),
                };
                let mut command = Command::new("ip");
                command.args(["netns", "exec", namespace]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    fn server(&self, stack: Stack) -> anyhow::Result<SocketAddr> {
        self.servers
            .iter()
            .find(|(s, _, _)| *s == stack)
            .map(|(_, _, addr)| *addr)
            .with_context(|| format!("no {stack:?} server was started"))
    }

    /// Retries an empty exchange until the server answers (a few seconds at most). Over
    /// TCP: the servers listen on it last.
    fn wait_ready(&self, stack: Stack) -> anyhow::Result<()> {
        let transport = Transport::TcpNoise;
        let mut last = None;
        for _ in 0..50 {
            match self.perf(
                stack,
                transport,
                Params {
                    upload_bytes: 0,
                    download_bytes: 0,
                },
            ) {
                Ok(_) => return Ok(()),
                Err(error) => last = Some(error),
            }
            thread::sleep(Duration::from_millis(200));
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt")))
            .with_context(|| format!("{stack:?} perf server never answered"))
    }

    /// Runs one perf client (in namespace A, if linked) against `stack`'s server; returns
    /// the contract's final time (connection setup included). Raw TCP ignores `transport`.
    pub fn perf(
        &self,
        stack: Stack,
        transport: Transport,
        params: Params,
    ) -> anyhow::Result<Duration> {
        let (program, prefix) = stack.command(&self.bin_dir);
        let transport_args: &[&str] = match stack {
            Stack::RawTcp => &["--transport", "tcp"],
            _ => transport.perf_args(),
        };
        let output = self
            .command(Side::Client, &program)
            .args(prefix)
            .arg("--server-address")
            .arg(self.server(stack)?.to_string())
            .args(transport_args)
            .arg("--upload-bytes")
            .arg(params.upload_bytes.to_string())
            .arg("--download-bytes")
            .arg(params.download_bytes.to_string())
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {}", program.display()))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "{} exited with {}: {}",
                program.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        final_time(&stdout, params)
    }
}

/// The two ends of a path.
#[derive(Clone, Copy)]
enum Side {
    Client,
    Server,
}

/// A loopback address whose TCP and UDP ports are both free now (the servers listen on
/// both); its server binds them moments later.
fn free_loopback_port() -> anyhow::Result<SocketAddr> {
    for _ in 0..20 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = tcp.local_addr()?;
        if std::net::UdpSocket::bind(addr).is_ok() {
            return Ok(addr);
        }
    }
    bail!("no loopback port free for both TCP and UDP")
}

fn ensure_file(program: &Path) -> anyhow::Result<()> {
    if program.is_file() {
        Ok(())
    } else {
        bail!(
            "{} is missing: build it with `cargo build --release`",
            program.display()
        )
    }
}

/// The time of the last `{"type":"final",...}` line of a perf client's output, checked
/// against the bytes asked for.
pub fn final_time(stdout: &str, params: Params) -> anyhow::Result<Duration> {
    let line = stdout
        .lines()
        .rev()
        .find(|line| line.contains("\"final\""))
        .context("no final line")?;
    let value: serde_json::Value = serde_json::from_str(line).context("final line")?;
    let field = |name: &str| {
        value
            .get(name)
            .with_context(|| format!("no {name} in {line}"))
    };
    let seconds = field("timeSeconds")?.as_f64().context("timeSeconds")?;
    let upload = field("uploadBytes")?.as_u64().context("uploadBytes")?;
    let download = field("downloadBytes")?.as_u64().context("downloadBytes")?;
    if upload != params.upload_bytes || download != params.download_bytes {
        bail!("moved {upload}/{download} bytes, not {params:?}");
    }
    Duration::try_from_secs_f64(seconds).context("timeSeconds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_line_parses_and_checks_bytes() {
        let out = "{\"type\":\"intermediary\",\"timeSeconds\":1,\"uploadBytes\":5,\"downloadBytes\":0}\n\
                   {\"type\":\"final\",\"timeSeconds\":2.5,\"uploadBytes\":10,\"downloadBytes\":0}\n";
        let params = Params {
            upload_bytes: 10,
            download_bytes: 0,
        };
        assert_eq!(
            final_time(out, params).unwrap(),
            Duration::from_millis(2500)
        );
        let other = Params {
            upload_bytes: 11,
            download_bytes: 0,
        };
        assert!(final_time(out, other).is_err());
        assert!(final_time("", params).is_err());
    }
}
