//! `hyphae perf`: the libp2p perf benchmark (spec: perf/perf.md in libp2p/specs), as client
//! or server, speaking the command-line contract of libp2p/test-plans (perf/README.md):
//! `--run-server --server-address IP:PORT` serves; `--server-address IP:PORT --transport …
//! --upload-bytes N --download-bytes N` measures, printing one JSON line per second and a
//! final one on stdout. Logs go to stderr.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::{Multiaddr, Node, Protocol};
use hyphae_perf::{PROTOCOL_ID, Params, Progress, Report};
use tracing::info;

/// Arguments of `hyphae perf`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The server's multiaddr (client), or the address to listen on (with --run-server);
    /// instead of --server-address.
    #[arg(conflicts_with = "server_address")]
    addr: Option<Multiaddr>,
    /// Serve perf until killed instead of measuring.
    #[arg(long)]
    run_server: bool,
    /// The server's IP:PORT (the test-plans contract: no peer id is given).
    #[arg(long)]
    server_address: Option<SocketAddr>,
    /// Transport to dial with.
    #[arg(long, value_enum, default_value_t = Transport::Tcp)]
    transport: Transport,
    /// Security protocol of TCP connections [default: any the node supports, in its order].
    #[arg(long, value_enum)]
    security: Option<Security>,
    /// Stream multiplexer of TCP connections [default: any the node supports, in its order].
    #[arg(long, value_enum)]
    muxer: Option<Muxer>,
    /// Bytes to upload.
    #[arg(long, default_value_t = 0)]
    upload_bytes: u64,
    /// Bytes to download.
    #[arg(long, default_value_t = 0)]
    download_bytes: u64,
}

/// Transports of the test-plans perf matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Transport {
    Tcp,
    #[value(name = "quic-v1")]
    QuicV1,
}

/// Security protocols of the test-plans perf matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Security {
    Noise,
    Tls,
}

/// Stream multiplexers of the test-plans perf matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Muxer {
    Yamux,
    Mplex,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::QuicV1 => "quic-v1",
        })
    }
}

impl fmt::Display for Security {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Security::Noise => "noise",
            Security::Tls => "tls",
        })
    }
}

impl fmt::Display for Muxer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Muxer::Yamux => "yamux",
            Muxer::Mplex => "mplex",
        })
    }
}

/// The one place that maps a transport/security/muxer choice onto a node configuration.
/// `None` leaves the node's defaults: every protocol it supports, so a server accepts any
/// client. QUIC brings its own security (TLS) and multiplexing, so the choices apply to TCP.
fn node_builder(
    transport: Transport,
    security: Option<Security>,
    muxer: Option<Muxer>,
) -> anyhow::Result<hyphae::Builder> {
    // A measurement endpoint: per-address caps would cut short repeated runs from one
    // client host.
    let mut builder = Node::builder()
        .limits(hyphae::Limits::default().allowing_every_address())
        .service(hyphae::ping::Ping::without_keepalive());
    if transport == Transport::QuicV1 {
        if let Some(security @ Security::Noise) = security {
            bail!("{transport} is always secured by tls; it cannot run with {security}");
        }
        if let Some(muxer) = muxer {
            bail!("{transport} multiplexes streams itself; it cannot run with {muxer}");
        }
        return Ok(builder);
    }
    match security {
        None => {}
        Some(Security::Noise) => builder = builder.security([hyphae::Security::Noise]),
        Some(Security::Tls) => builder = builder.security([hyphae::Security::Tls]),
    }
    match muxer {
        None => {}
        Some(Muxer::Yamux) => builder = builder.muxers([hyphae::Multiplexer::Yamux]),
        Some(Muxer::Mplex) => builder = builder.muxers([hyphae::Multiplexer::Mplex]),
    }
    Ok(builder)
}

/// The multiaddr of `server` over `transport` (no `/p2p`: the contract gives no peer id).
fn multiaddr(server: SocketAddr, transport: Transport) -> Multiaddr {
    let ip = Multiaddr::from(server.ip());
    match transport {
        Transport::Tcp => ip.with(Protocol::Tcp(server.port())),
        Transport::QuicV1 => ip.with(Protocol::Udp(server.port())).with(Protocol::QuicV1),
    }
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    match (&args.addr, args.server_address, args.run_server) {
        (Some(addr), _, true) => serve(&args, vec![addr.clone()]).await,
        // The contract names no transport for the server: it listens on all of them, so
        // clients may pick any. TCP last: once it accepts, the server is fully up.
        (None, Some(server), true) => {
            let listen = [Transport::QuicV1, Transport::Tcp]
                .into_iter()
                .map(|transport| multiaddr(server, transport))
                .collect();
            serve(&args, listen).await
        }
        (Some(addr), _, false) => measure(&args, addr.clone()).await,
        (None, Some(server), false) => measure(&args, multiaddr(server, args.transport)).await,
        (None, None, _) => {
            bail!("give the server's address: a multiaddr or --server-address IP:PORT")
        }
    }
}

/// Serves perf on `listen` until Ctrl-C; stdout stays silent (the contract reserves it).
async fn serve(args: &Args, listen: Vec<Multiaddr>) -> anyhow::Result<()> {
    let node = node_builder(args.transport, args.security, args.muxer)?
        .start()
        .await?;
    node.handle(PROTOCOL_ID, |stream| async move {
        let peer = stream.peer();
        match hyphae_perf::serve(stream).await {
            Ok(served) => info!(
                %peer,
                received = served.received_bytes,
                sent = served.sent_bytes,
                "perf served"
            ),
            Err(error) => info!(%peer, %error, "perf stream failed"),
        }
    });
    for listen in listen {
        let addrs = node
            .listen(&listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        for addr in addrs {
            info!(%addr, "perf server ready");
        }
    }
    tokio::signal::ctrl_c().await?;
    node.shutdown().await;
    Ok(())
}

/// Dials `server`, runs one perf exchange and reports it.
async fn measure(args: &Args, server: Multiaddr) -> anyhow::Result<()> {
    let node = node_builder(args.transport, args.security, args.muxer)?
        .start()
        .await?;
    let output = Output::for_stdout();
    // The contract's final time includes establishing the connection.
    let start = Instant::now();
    let peer = node
        .dial(&server)
        .await
        .with_context(|| format!("dialling {server}"))?;
    let stream = node
        .open_stream(peer, PROTOCOL_ID)
        .await
        .with_context(|| format!("opening a perf stream to {peer}"))?;
    let params = Params {
        upload_bytes: args.upload_bytes,
        download_bytes: args.download_bytes,
    };
    let mut seconds = 0.0;
    let report = hyphae_perf::run(stream, params, |progress| {
        seconds += progress.elapsed.as_secs_f64();
        output.progress(seconds, &progress);
    })
    .await
    .with_context(|| format!("perf with {peer}"))?;
    output.finish(start.elapsed(), &report);
    node.shutdown().await;
    Ok(())
}

/// Where results go: JSON lines for the test-plans runner, or a human line on a terminal.
enum Output {
    Json,
    Human,
}

impl Output {
    fn for_stdout() -> Output {
        if std::io::stdout().is_terminal() {
            Output::Human
        } else {
            Output::Json
        }
    }

    fn progress(&self, seconds: f64, progress: &Progress) {
        match self {
            Output::Json => println!(
                "{}",
                json_line(
                    "intermediary",
                    progress.elapsed,
                    progress.upload_bytes,
                    progress.download_bytes
                )
            ),
            Output::Human => {
                let interval = progress.elapsed;
                let mut stdout = std::io::stdout().lock();
                let _ = write!(
                    stdout,
                    "\r{seconds:6.1} s   up {:>12}   down {:>12}   ",
                    rate(progress.upload_bytes, interval),
                    rate(progress.download_bytes, interval)
                );
                let _ = stdout.flush();
            }
        }
    }

    fn finish(&self, total: Duration, report: &Report) {
        match self {
            Output::Json => println!(
                "{}",
                json_line("final", total, report.upload_bytes, report.download_bytes)
            ),
            Output::Human => {
                println!("\r{:70}", "");
                println!(
                    "uploaded   {:>10} in {:8.3} s  {}",
                    size(report.upload_bytes),
                    report.upload_duration.as_secs_f64(),
                    rate(report.upload_bytes, report.upload_duration)
                );
                println!(
                    "downloaded {:>10} in {:8.3} s  {}",
                    size(report.download_bytes),
                    report.download_duration.as_secs_f64(),
                    rate(report.download_bytes, report.download_duration)
                );
                println!(
                    "total {:.3} s, connection setup included",
                    total.as_secs_f64()
                );
            }
        }
    }
}

/// One line of the test-plans output schema.
fn json_line(kind: &str, time: Duration, upload_bytes: u64, download_bytes: u64) -> String {
    format!(
        "{{\"type\":\"{kind}\",\"timeSeconds\":{},\"uploadBytes\":{upload_bytes},\"downloadBytes\":{download_bytes}}}",
        time.as_secs_f64()
    )
}

/// `bytes` over `time` in bits per second, scaled for reading.
fn rate(bytes: u64, time: Duration) -> String {
    let seconds = time.as_secs_f64();
    if bytes == 0 {
        return "0 bit/s".to_owned();
    }
    if seconds <= 0.0 {
        return "-".to_owned();
    }
    let bits = bytes as f64 * 8.0 / seconds;
    match bits {
        b if b >= 1e9 => format!("{:.2} Gbit/s", b / 1e9),
        b if b >= 1e6 => format!("{:.2} Mbit/s", b / 1e6),
        b => format!("{:.2} kbit/s", b / 1e3),
    }
}

/// `bytes` in binary units.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_line_follows_the_test_plans_schema() {
        assert_eq!(
            json_line("final", Duration::from_millis(1500), 10, 20),
            r#"{"type":"final","timeSeconds":1.5,"uploadBytes":10,"downloadBytes":20}"#
        );
    }

    #[test]
    fn server_address_becomes_a_multiaddr_without_peer_id() {
        let v4 = "127.0.0.1:4001".parse().unwrap();
        assert_eq!(
            multiaddr(v4, Transport::Tcp).to_string(),
            "/ip4/127.0.0.1/tcp/4001"
        );
        assert_eq!(
            multiaddr(v4, Transport::QuicV1).to_string(),
            "/ip4/127.0.0.1/udp/4001/quic-v1"
        );
        let v6 = "[::1]:4001".parse().unwrap();
        assert_eq!(
            multiaddr(v6, Transport::Tcp).to_string(),
            "/ip6/::1/tcp/4001"
        );
    }

    #[test]
    fn quic_refuses_security_and_muxer_it_does_not_use() {
        let error = node_builder(Transport::QuicV1, Some(Security::Noise), None).unwrap_err();
        assert!(error.to_string().contains("quic-v1"), "{error}");
        assert!(error.to_string().contains("noise"), "{error}");
        let error = node_builder(Transport::QuicV1, None, Some(Muxer::Yamux)).unwrap_err();
        assert!(error.to_string().contains("yamux"), "{error}");
        assert!(node_builder(Transport::QuicV1, Some(Security::Tls), None).is_ok());
        assert!(node_builder(Transport::QuicV1, None, None).is_ok());
    }

    #[test]
    fn tcp_runs_with_every_security_and_muxer() {
        for muxer in [None, Some(Muxer::Yamux), Some(Muxer::Mplex)] {
            for security in [None, Some(Security::Noise), Some(Security::Tls)] {
                assert!(node_builder(Transport::Tcp, security, muxer).is_ok());
            }
        }
    }

    #[test]
    fn rates_and_sizes_read_well() {
        assert_eq!(rate(125_000_000, Duration::from_secs(1)), "1.00 Gbit/s");
        assert_eq!(rate(0, Duration::ZERO), "0 bit/s");
        assert_eq!(rate(1, Duration::ZERO), "-");
        assert_eq!(size(3 << 20), "3.00 MiB");
        assert_eq!(size(12), "12 B");
    }
}
