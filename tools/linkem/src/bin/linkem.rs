//! `linkem`: sets up an emulated link between two network namespaces, prints one JSON line
//! describing it, forwards until SIGINT/SIGTERM, then tears everything down.
//!
//! ```text
//! linkem --delay-ms 30 --loss 0 --rate-mbit 100 &        # prints {"namespace_a": ...}
//! ip netns exec <namespace_b> server &
//! ip netns exec <namespace_a> client <addr_b>
//! kill %1
//! ```
//!
//! The helper modes (`udp-echo`, `udp-ping`, `tcp-sink`, `tcp-send`) are tiny traffic tools
//! to run inside the namespaces; each prints one JSON line of results (the servers first print
//! `{"listening": ...}` once they are bound).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use hyphae_linkem::{DirectionStats, Link};
use serde_json::json;

#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    tool: Option<Tool>,
    #[command(flatten)]
    link: LinkArgs,
}

/// The link to emulate (both directions alike).
#[derive(Args)]
struct LinkArgs {
    /// One-way delay in milliseconds (the round trip gains twice this).
    #[arg(long, default_value_t = 0.0)]
    delay_ms: f64,
    /// Packet loss probability per direction, 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Rate limit per direction in Mbit/s; 0 for none.
    #[arg(long, default_value_t = 0.0)]
    rate_mbit: f64,
    /// Drop-tail queue in bytes (default: one bandwidth-delay product, at least 1 MiB).
    #[arg(long)]
    queue_bytes: Option<usize>,
    /// Prefix of namespace and interface names.
    #[arg(long, default_value = "lk")]
    prefix: String,
    /// Link id (picks names and addresses); default: the first free one.
    #[arg(long)]
    id: Option<u16>,
    /// MTU of the TUN devices.
    #[arg(long, default_value_t = 1500)]
    mtu: u16,
    /// Turn TUN offloads (GSO super-packets) off.
    #[arg(long)]
    no_offload: bool,
    /// Seed of the loss draws.
    #[arg(long)]
    seed: Option<u64>,
    /// Maximum of net.ipv4.tcp_rmem/tcp_wmem inside the namespaces; 0 keeps the kernel's.
    #[arg(long, default_value_t = 32 << 20)]
    tcp_buffer_max: usize,
}

#[derive(Subcommand)]
enum Tool {
    /// Delete namespaces of this prefix left behind by a killed linkem (those whose TUN
    /// interface is gone). Do not run it while another linkem is starting.
    Cleanup {
        #[arg(long, default_value = "lk")]
        prefix: String,
    },
    /// Echo UDP datagrams back to their sender; exits after an idle period.
    UdpEcho {
        #[arg(long)]
        bind: SocketAddr,
        #[arg(long, default_value_t = 30)]
        idle_timeout_s: u64,
    },
    /// Send numbered datagrams to an echo server and report round-trip times.
    UdpPing {
        #[arg(long)]
        to: SocketAddr,
        #[arg(long, default_value_t = 10)]
        count: u32,
        #[arg(long, default_value_t = 10.0)]
        interval_ms: f64,
        /// Datagram size in bytes (at least 12).
        #[arg(long, default_value_t = 64)]
        size: usize,
        /// How long to wait for replies after the last send (less once every reply is in).
        #[arg(long, default_value_t = 1000)]
        wait_ms: u64,
    },
    /// Accept one TCP connection, read it to the end and report the throughput.
    TcpSink {
        #[arg(long)]
        bind: SocketAddr,
    },
    /// Connect and write as fast as possible for a while, then close.
    TcpSend {
        #[arg(long)]
        to: SocketAddr,
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.tool {
        None => run_link(&cli.link),
        Some(Tool::Cleanup { prefix }) => {
            let removed = hyphae_linkem::remove_orphans(&prefix)?;
            println!("{}", json!({ "removed": removed }));
            Ok(())
        }
        Some(Tool::UdpEcho {
            bind,
            idle_timeout_s,
        }) => udp_echo(bind, Duration::from_secs(idle_timeout_s)),
        Some(Tool::UdpPing {
            to,
            count,
            interval_ms,
            size,
            wait_ms,
        }) => udp_ping(
            to,
            count,
            Duration::from_secs_f64(interval_ms / 1000.0),
            size,
            Duration::from_millis(wait_ms),
        ),
        Some(Tool::TcpSink { bind }) => tcp_sink(bind),
        Some(Tool::TcpSend { to, seconds }) => tcp_send(to, Duration::from_secs_f64(seconds)),
    }
}

fn run_link(args: &LinkArgs) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .context("installing the SIGINT/SIGTERM handler")?;

    if !(args.delay_ms >= 0.0 && args.delay_ms.is_finite()) {
        bail!("--delay-ms must be a non-negative number");
    }
    if !(args.rate_mbit >= 0.0 && args.rate_mbit.is_finite()) {
        bail!("--rate-mbit must be a non-negative number");
    }
    let rate = (args.rate_mbit > 0.0).then(|| (args.rate_mbit * 1e6 / 8.0) as u64);
    let mut builder = Link::builder()
        .delay(Duration::from_secs_f64(args.delay_ms / 1000.0))
        .loss(args.loss)
        .rate(rate)
        .prefix(args.prefix.clone())
        .mtu(args.mtu)
        .offload(!args.no_offload)
        .tcp_buffer_max((args.tcp_buffer_max > 0).then_some(args.tcp_buffer_max));
    if let Some(bytes) = args.queue_bytes {
        builder = builder.queue_bytes(bytes);
    }
    if let Some(id) = args.id {
        builder = builder.id(id);
    }
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    let link = builder.start().context("setting up the link")?;
    let conditions = link.conditions_a_to_b();
    let line = json!({
        "namespace_a": link.namespace_a(),
        "namespace_b": link.namespace_b(),
        "interface_a": link.interface_a(),
        "interface_b": link.interface_b(),
        "addr_a": link.addr_a().to_string(),
        "addr_b": link.addr_b().to_string(),
        "delay_ms": conditions.delay.as_secs_f64() * 1000.0,
        "loss": conditions.loss,
        "rate_bytes_per_s": conditions.rate,
        "queue_bytes": conditions.queue_bytes,
        "offload": link.is_offloading(),
    });
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
    }
    // Either a signal or a dropped handler ends the wait; both mean tear down.
    let _ = stop_rx.recv();
    let stats = link.stats();
    eprintln!(
        "{}",
        json!({ "a_to_b": stats_json(&stats.a_to_b), "b_to_a": stats_json(&stats.b_to_a) })
    );
    drop(link);
    Ok(())
}

fn stats_json(stats: &DirectionStats) -> serde_json::Value {
    json!({
        "packets": stats.packets,
        "bytes": stats.bytes,
        "dropped_loss": stats.dropped_loss,
        "dropped_queue": stats.dropped_queue,
        "send_errors": stats.send_errors,
    })
}

fn udp_echo(bind: SocketAddr, idle: Duration) -> anyhow::Result<()> {
    let socket = UdpSocket::bind(bind).with_context(|| format!("binding {bind}"))?;
    socket.set_read_timeout(Some(idle))?;
    announce(socket.local_addr()?)?;
    let mut buffer = vec![0u8; 65_536];
    let mut echoed = 0u64;
    loop {
        match socket.recv_from(&mut buffer) {
            Ok((len, from)) => {
                socket.send_to(&buffer[..len], from)?;
                echoed += 1;
            }
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break;
            }
            Err(error) => return Err(error.into()),
        }
    }
    println!("{}", json!({ "echoed": echoed }));
    Ok(())
}

fn udp_ping(
    to: SocketAddr,
    count: u32,
    interval: Duration,
    size: usize,
    wait: Duration,
) -> anyhow::Result<()> {
    if size < 12 {
        bail!("--size must be at least 12 bytes");
    }
    let socket = UdpSocket::bind(if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" })?;
    socket.connect(to)?;
    socket.set_read_timeout(Some(Duration::from_millis(20)))?;
    let start = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let receiver = {
        let socket = socket.try_clone()?;
        let done = done.clone();
        std::thread::spawn(move || -> Vec<Option<Duration>> {
            let mut rtts = vec![None; count as usize];
            let mut buffer = vec![0u8; 65_536];
            let mut done_at = None;
            let mut replies = 0;
            // Every reply in: nothing left to wait for, so a long --wait-ms costs a lossless
            // link nothing.
            while replies < rtts.len() {
                if done_at.is_none() && done.load(Ordering::Acquire) {
                    done_at = Some(Instant::now());
                }
                if done_at.is_some_and(|at| at.elapsed() >= wait) {
                    break;
                }
                let Ok(len) = socket.recv(&mut buffer) else {
                    continue;
                };
                if len < 12 {
                    continue;
                }
                let seq = u32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]);
                let mut sent = [0u8; 8];
                sent.copy_from_slice(&buffer[4..12]);
                let sent = Duration::from_nanos(u64::from_be_bytes(sent));
                if let Some(slot) = rtts.get_mut(seq as usize)
                    && slot.is_none()
                {
                    *slot = Some(start.elapsed().saturating_sub(sent));
                    replies += 1;
                }
            }
            rtts
        })
    };
    let mut packet = vec![0u8; size];
    for seq in 0..count {
        packet[..4].copy_from_slice(&seq.to_be_bytes());
        let sent = start.elapsed().as_nanos() as u64;
        packet[4..12].copy_from_slice(&sent.to_be_bytes());
        // A full socket buffer loses the datagram, which the report shows as loss.
        let _ = socket.send(&packet);
        let next = start + interval * (seq + 1);
        if let Some(pause) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(pause);
        }
    }
    done.store(true, Ordering::Release);
    let mut rtts: Vec<f64> = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("receiver thread panicked"))?
        .into_iter()
        .flatten()
        .map(|rtt| rtt.as_secs_f64() * 1000.0)
        .collect();
    rtts.sort_by(f64::total_cmp);
    let received = rtts.len();
    let median = rtts.get(received / 2).copied().unwrap_or(0.0);
    let (min, max) = rtts.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &r| {
        (lo.min(r), hi.max(r))
    });
    let avg = rtts.iter().sum::<f64>() / received.max(1) as f64;
    println!(
        "{}",
        json!({
            "sent": count,
            "received": received,
            "rtt_min_ms": if received > 0 { min } else { 0.0 },
            "rtt_avg_ms": avg,
            "rtt_median_ms": median,
            "rtt_max_ms": max,
        })
    );
    Ok(())
}

fn tcp_sink(bind: SocketAddr) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind).with_context(|| format!("binding {bind}"))?;
    announce(listener.local_addr()?)?;
    let (mut stream, _) = listener.accept()?;
    let mut buffer = vec![0u8; 1 << 18];
    let mut bytes = 0u64;
    let mut first = None;
    loop {
        let len = stream.read(&mut buffer)?;
        if len == 0 {
            break;
        }
        first.get_or_insert_with(Instant::now);
        bytes += len as u64;
    }
    let seconds = first.map_or(0.0, |at| at.elapsed().as_secs_f64());
    println!("{}", throughput_json(bytes, seconds));
    Ok(())
}

fn tcp_send(to: SocketAddr, duration: Duration) -> anyhow::Result<()> {
    // The sink may still be starting in its namespace: retry for a few seconds.
    let connect_deadline = Instant::now() + Duration::from_secs(5);
    let mut stream = loop {
        match TcpStream::connect_timeout(&to, Duration::from_secs(1)) {
            Ok(stream) => break stream,
            Err(_) if Instant::now() < connect_deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(error) => return Err(error).with_context(|| format!("connecting to {to}")),
        }
    };
    let buffer = vec![0x5au8; 1 << 18];
    let start = Instant::now();
    let mut bytes = 0u64;
    while start.elapsed() < duration {
        bytes += stream.write(&buffer)? as u64;
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    // Wait for the sink to close: everything was delivered.
    let mut rest = [0u8; 64];
    while stream.read(&mut rest)? > 0 {}
    println!("{}", throughput_json(bytes, start.elapsed().as_secs_f64()));
    Ok(())
}

/// Tells whoever waits on stdout that the server is ready.
fn announce(addr: SocketAddr) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", json!({ "listening": addr.to_string() }))?;
    stdout.flush()?;
    Ok(())
}

fn throughput_json(bytes: u64, seconds: f64) -> serde_json::Value {
    let mbit = if seconds > 0.0 {
        bytes as f64 * 8.0 / seconds / 1e6
    } else {
        0.0
    };
    json!({ "bytes": bytes, "seconds": seconds, "mbit_per_s": mbit })
}
