//! The attacker's side of a TCP connection, built from hyphae's own codecs so that each step
//! can be stopped, slowed or bent: a socket from a chosen loopback source address,
//! multistream-select, a Noise handshake with a throwaway identity, Yamux negotiated on top,
//! and raw Yamux frames written into the encrypted stream.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use hyphae_core::negotiated::{self, Negotiated};
use hyphae_identity::Keypair;
use hyphae_noise::NoiseStream;
use hyphae_yamux::frame::{Flags, Header, StreamId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, WriteHalf};
use tokio::net::{TcpSocket, TcpStream};

use super::Target;

/// Attacker sockets come from 127.0.0.2 up to this many addresses, so the honest peer alone
/// uses 127.0.0.1 and a node capping each address sees many attackers (every address of
/// 127.0.0.0/8 reaches the node on loopback).
const SOURCE_ADDRESSES: u32 = 250;

/// The `index`-th attacker source address: 127.0.0.2, 127.0.0.3, ... round robin.
pub fn source_ip(index: u64) -> Ipv4Addr {
    let host = 2 + (index % u64::from(SOURCE_ADDRESSES)) as u8;
    Ipv4Addr::new(127, 0, 0, host)
}

/// What an attack did, so that a run shows it reached the node: every attack counts here.
#[derive(Debug, Default)]
pub struct Counters {
    /// TCP connections (or QUIC connection attempts) opened.
    pub connections: AtomicU64,
    /// Connections that completed Noise and Yamux (for attacks that need them).
    pub secured: AtomicU64,
    /// Connections the node closed or reset under us (it noticed and cut the attacker off).
    pub cut_off: AtomicU64,
    /// Frames, messages, packets or streams sent, per the attack's unit.
    pub units: AtomicU64,
    /// Bytes written to the node (plaintext for secured connections, datagram bytes for
    /// QUIC).
    pub bytes: AtomicU64,
}

impl Counters {
    /// Adds `n` to `counter`.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// The counters as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "connections": self.connections.load(Ordering::Relaxed),
            "secured": self.secured.load(Ordering::Relaxed),
            "cut_off": self.cut_off.load(Ordering::Relaxed),
            "units": self.units.load(Ordering::Relaxed),
            "bytes": self.bytes.load(Ordering::Relaxed),
        })
    }
}

/// A TCP connection to `target` from attacker address number `index`.
pub async fn connect_tcp(target: &Target, index: u64) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source_ip(index)), 0))?;
    Ok(socket.connect(target.tcp).await?)
}

/// A Yamux session over Noise over TCP, the stack every TCP libp2p node speaks, with the
/// attacker in charge of every frame written.
pub type Secured = Negotiated<NoiseStream<Negotiated<TcpStream>>>;

/// Opens a TCP connection from attacker address `index`, secures it with Noise under a
/// fresh identity and negotiates Yamux; the peer is not checked (we dial by address only).
pub async fn secure(target: &Target, index: u64, counters: &Counters) -> anyhow::Result<Secured> {
    let tcp = connect_tcp(target, index).await?;
    Counters::add(&counters.connections, 1);
    let _ = tcp.set_nodelay(true);
    let keypair = Keypair::generate_ed25519();
    let io = negotiated::dial(tcp, vec![hyphae_noise::PROTOCOL_ID.to_owned()]).await?;
    let (_, noise) =
        hyphae_noise::upgrade_outbound(io, &keypair, &hyphae_noise::Config::default(), None)
            .await
            .context("noise")?;
    let secured = negotiated::dial(noise, vec![hyphae_yamux::PROTOCOL_ID.to_owned()]).await?;
    Counters::add(&counters.secured, 1);
    Ok(secured)
}

/// The bytes that open stream `id` (odd: we are the Yamux client) and propose `protocol` on
/// it, optimistically: a Data frame with SYN carrying the multistream-select header and the
/// proposal, followed by `payload` in the same frame.
pub fn open_stream_frame(id: u32, protocol: &str, payload: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut body =
        hyphae_core::multistream::Dialer::new(vec![protocol.to_owned()])?.poll_transmit();
    body.extend_from_slice(payload);
    let mut frame = data_header(id, Flags::SYN, body.len())?.to_vec();
    frame.extend_from_slice(&body);
    Ok(frame)
}

/// A Data frame on stream `id` carrying `payload`.
pub fn data_frame(id: u32, payload: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut frame = data_header(id, Flags::NONE, payload.len())?.to_vec();
    frame.extend_from_slice(payload);
    Ok(frame)
}

/// The header of a Data frame announcing `len` bytes on stream `id`.
pub fn data_header(id: u32, flags: Flags, len: usize) -> anyhow::Result<[u8; 12]> {
    Ok(Header::data(StreamId::new(id), flags, u32::try_from(len)?).encode())
}

/// Writes `bytes` and flushes, counting them; an error means the node cut us off.
pub async fn send<W: AsyncWrite + Unpin>(
    io: &mut W,
    bytes: &[u8],
    counters: &Counters,
) -> std::io::Result<()> {
    io.write_all(bytes).await?;
    io.flush().await?;
    Counters::add(&counters.bytes, bytes.len() as u64);
    Ok(())
}

/// The write half of a [`Secured`] connection.
pub type Writer = WriteHalf<Secured>;

/// Runs `attack` on the write half of `io` while reading and dropping whatever the node
/// sends, for attacks that are about what we write, not about leaving the node's answers
/// unread. Ends with an error as soon as the node closes the connection.
pub async fn while_draining<F, Fut>(io: Secured, attack: F) -> anyhow::Result<()>
where
    F: FnOnce(Writer) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let (reader, writer) = tokio::io::split(io);
    tokio::select! {
        () = drain(reader) => anyhow::bail!("the node closed the connection"),
        result = attack(writer) => result,
    }
}

/// Reads and drops everything until the stream ends or fails.
pub async fn drain<R: AsyncRead + Unpin>(mut reader: R) {
    let mut buffer = vec![0; 16 * 1024];
    while let Ok(1..) = reader.read(&mut buffer).await {}
}
