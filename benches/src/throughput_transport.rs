//! The secured, multiplexed transports the throughput benchmark compares, one choice shared
//! by every stack that speaks libp2p.

use std::fmt;
use std::net::SocketAddr;

/// A transport with its security and multiplexing (spec: the test-plans perf matrix,
/// perf/README.md in libp2p/test-plans).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Transport {
    /// TCP, Noise, Yamux.
    TcpNoise,
    /// TCP, TLS 1.3, Yamux.
    TcpTls,
    /// QUIC v1: TLS 1.3 and streams of its own.
    Quic,
}

impl Transport {
    /// All of them, in table order.
    pub const ALL: [Transport; 3] = [Transport::TcpNoise, Transport::TcpTls, Transport::Quic];

    /// How tables name it.
    pub fn label(self) -> &'static str {
        match self {
            Transport::TcpNoise => "TCP + Noise + Yamux",
            Transport::TcpTls => "TCP + TLS + Yamux",
            Transport::Quic => "QUIC",
        }
    }

    /// How JSON keys name it.
    pub fn key(self) -> &'static str {
        match self {
            Transport::TcpNoise => "tcp_noise_yamux",
            Transport::TcpTls => "tcp_tls_yamux",
            Transport::Quic => "quic_v1",
        }
    }

    /// The perf contract's arguments choosing it (`--transport … [--security …]`).
    pub fn perf_args(self) -> &'static [&'static str] {
        match self {
            Transport::TcpNoise => &[
                "--transport",
                "tcp",
                "--security",
                "noise",
                "--muxer",
                "yamux",
            ],
            Transport::TcpTls => &[
                "--transport",
                "tcp",
                "--security",
                "tls",
                "--muxer",
                "yamux",
            ],
            Transport::Quic => &["--transport", "quic-v1"],
        }
    }

    /// Its multiaddr text for `addr` (no `/p2p`: perf clients learn the peer by dialling).
    pub fn multiaddr(self, addr: SocketAddr) -> String {
        let ip = match addr {
            SocketAddr::V4(v4) => format!("/ip4/{}", v4.ip()),
            SocketAddr::V6(v6) => format!("/ip6/{}", v6.ip()),
        };
        match self {
            Transport::TcpNoise | Transport::TcpTls => format!("{ip}/tcp/{}", addr.port()),
            Transport::Quic => format!("{ip}/udp/{}/quic-v1", addr.port()),
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The test-plans perf command line (perf/README.md in libp2p/test-plans), shared by the
/// `rust-libp2p-perf` and `raw-tcp-perf` binaries: `--run-server --server-address IP:PORT`
/// serves; `--server-address IP:PORT --transport … --upload-bytes N --download-bytes N`
/// measures and prints the final JSON line.
#[derive(clap::Parser, Debug)]
pub struct PerfArgs {
    /// Serve perf until killed instead of measuring.
    #[arg(long)]
    pub run_server: bool,
    /// The server's IP:PORT (to listen on, with --run-server).
    #[arg(long)]
    pub server_address: SocketAddr,
    /// Transport to dial with.
    #[arg(long, default_value = "tcp", value_parser = ["tcp", "quic-v1"])]
    pub transport: String,
    /// Security protocol of TCP connections.
    #[arg(long, default_value = "noise", value_parser = ["noise", "tls"])]
    pub security: String,
    /// Stream multiplexer of TCP connections (yamux only).
    #[arg(long, default_value = "yamux", value_parser = ["yamux"])]
    pub muxer: String,
    /// Bytes to upload.
    #[arg(long, default_value_t = 0)]
    pub upload_bytes: u64,
    /// Bytes to download.
    #[arg(long, default_value_t = 0)]
    pub download_bytes: u64,
}

impl PerfArgs {
    /// The transport the arguments choose.
    pub fn stack(&self) -> Transport {
        match (self.transport.as_str(), self.security.as_str()) {
            ("quic-v1", _) => Transport::Quic,
            (_, "tls") => Transport::TcpTls,
            _ => Transport::TcpNoise,
        }
    }

    /// The contract's `final` output line for a transfer that took `time`.
    pub fn final_line(&self, time: std::time::Duration) -> String {
        perf_json_line(
            "final",
            time.as_secs_f64(),
            self.upload_bytes,
            self.download_bytes,
        )
    }

    /// The perf parameters.
    pub fn params(&self) -> hyphae_perf::Params {
        hyphae_perf::Params {
            upload_bytes: self.upload_bytes,
            download_bytes: self.download_bytes,
        }
    }
}

/// One line of the test-plans perf output schema (perf/README.md in libp2p/test-plans).
fn perf_json_line(kind: &str, seconds: f64, upload_bytes: u64, download_bytes: u64) -> String {
    format!(
        "{{\"type\":\"{kind}\",\"timeSeconds\":{seconds},\"uploadBytes\":{upload_bytes},\"downloadBytes\":{download_bytes}}}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiaddrs_of_each_transport() {
        let addr: SocketAddr = "198.18.0.2:4001".parse().unwrap();
        assert_eq!(
            Transport::TcpTls.multiaddr(addr),
            "/ip4/198.18.0.2/tcp/4001"
        );
        assert_eq!(
            Transport::Quic.multiaddr(addr),
            "/ip4/198.18.0.2/udp/4001/quic-v1"
        );
    }

    #[test]
    fn json_line_follows_the_test_plans_schema() {
        assert_eq!(
            perf_json_line("final", 1.5, 10, 20),
            r#"{"type":"final","timeSeconds":1.5,"uploadBytes":10,"downloadBytes":20}"#
        );
    }
}
