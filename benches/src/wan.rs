//! The wide-area path of the throughput benchmark: two network namespaces joined by
//! `hyphae-linkem` with a fixed delay each way, a perf server of each stack in namespace B
//! and one client process per transfer in namespace A, all speaking the test-plans perf
//! command line (perf/README.md in libp2p/test-plans): `hyphae perf`, `rust-libp2p-perf`,
//! `raw-tcp-perf`.
//!
//! Namespaces need processes of their own, hence child processes rather than tasks. Needs
//! root, `/dev/net/tun` and iproute2, as linkem does.

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
    /// Plain TCP sockets: no security, no multiplexing.
    RawTcp,
}

impl Stack {
    /// The perf server's port in namespace B (each stack has its own server).
    fn port(self) -> u16 {
        match self {
            Stack::Hyphae => 4001,
            Stack::RustLibp2p => 4002,
            Stack::RawTcp => 4003,
        }
    }

    /// The program and the arguments before the perf contract's.
    fn command(self, bin_dir: &Path) -> (PathBuf, &'static [&'static str]) {
        match self {
            Stack::Hyphae => (bin_dir.join("hyphae"), &["perf"]),
            Stack::RustLibp2p => (bin_dir.join("rust-libp2p-perf"), &[]),
            Stack::RawTcp => (bin_dir.join("raw-tcp-perf"), &[]),
        }
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

/// A link with a perf server of each stack behind it.
pub struct WanPath {
    // Dropped before the link: the servers die before their namespace goes.
    servers: Vec<(Stack, Server)>,
    link: Link,
    bin_dir: PathBuf,
}

impl WanPath {
    /// Starts a link adding `one_way` delay in each direction (no loss, no rate limit, TCP
    /// buffers raised to 32 MiB in both namespaces) and a perf server for each of `stacks`,
    /// its logs in `<temp dir>/wan-<stack>.log`; waits until each answers a perf run.
    pub fn start(one_way: Duration, bin_dir: &Path, stacks: &[Stack]) -> anyhow::Result<WanPath> {
        let link = Link::builder()
            .delay(one_way)
            .prefix("tput")
            .start()
            .context("starting the link (root, /dev/net/tun and iproute2 needed)")?;
        let mut path = WanPath {
            servers: Vec::new(),
            link,
            bin_dir: bin_dir.to_owned(),
        };
        for &stack in stacks {
            let (program, prefix) = stack.command(bin_dir);
            ensure_file(&program)?;
            let log = std::env::temp_dir().join(format!("wan-{stack:?}.log"));
            let child = Command::new("ip")
                .args(["netns", "exec", path.link.namespace_b()])
                .arg(&program)
                .args(prefix)
                .arg("--run-server")
                .arg("--server-address")
                .arg(path.server(stack).to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(File::create(&log)?)
                .spawn()
                .with_context(|| format!("starting {}", program.display()))?;
            path.servers.push((stack, Server(child)));
        }
        for &stack in stacks {
            path.wait_ready(stack)?;
        }
        Ok(path)
    }

    /// The link's namespaces, for the record.
    pub fn namespaces(&self) -> (&str, &str) {
        (self.link.namespace_a(), self.link.namespace_b())
    }

    fn server(&self, stack: Stack) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.link.addr_b()), stack.port())
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

    /// Runs one perf client in namespace A against `stack`'s server; returns the contract's
    /// final time (connection setup included). Raw TCP ignores `transport`.
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
        let output = Command::new("ip")
            .args(["netns", "exec", self.link.namespace_a()])
            .arg(&program)
            .args(prefix)
            .arg("--server-address")
            .arg(self.server(stack).to_string())
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
