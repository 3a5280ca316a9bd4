//! libp2p TLS 1.3 security, protocol id `/tls/1.0.0`: mutual authentication of two peers
//! by their libp2p identity keys, each carried in a self-signed X.509 certificate, and an
//! encrypted channel between them.
//!
//! Spec: `tls/tls.md` (certificate, extension, verification, ALPN `libp2p`, test vectors)
//! and `connections/inlined-muxer-negotiation.md` ("Multiplexer Negotiation over TLS"), in
//! the libp2p/specs repository. QUIC (`quic/README.md`) authenticates with the same
//! certificates: [`client_config`] and [`server_config`] build its rustls configurations.
//!
//! - [`Config`] holds our certificate (a fresh ECDSA P-256 key, signed by our identity key
//!   in the libp2p Public Key Extension) and the stream muxers we offer in ALPN;
//! - [`upgrade_outbound`] / [`upgrade_inbound`] run the handshake over a tokio byte stream
//!   and return the peer's identity ([`Output`]) with a [`TlsStream`];
//! - [`certificate::parse`] checks a peer's certificate and tells whom it authenticates.
//!
//! rustls does the TLS, built with `ring` only and TLS 1.3 only. Certificates are written
//! and read by this crate's own small DER code (`der.rs`): only the fields the spec needs.
//!
//! Deliberate choices where the spec leaves room:
//! - the libp2p extension is the first extension of our certificate and is critical (as
//!   rust-libp2p and go-libp2p do; js-libp2p looks only at the first); on input it is
//!   accepted at any position, critical or not, and any other critical extension fails;
//! - our certificates are valid from 1975 to 4096: the key is ephemeral, so only clock skew
//!   matters;
//! - certificate keys we accept: ECDSA P-256 / P-384, Ed25519, RSA (PKCS#1 v1.5
//!   self-signatures; RSA-PSS self-signatures are not supported); `issuerUniqueID` and
//!   `subjectUniqueID` are refused, as the spec allows;
//! - ALPN: the dialer offers its muxers, most preferred first, then `libp2p`; the listener
//!   picks the dialer's most preferred muxer that it supports (the inlined-muxer spec's
//!   SHOULD, and what our Noise does), else `libp2p`;
//! - session resumption and tickets are off: a resumed session would skip the peer's
//!   certificate, which is the whole authentication.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod certificate;
mod config;
mod der;
mod error;
mod stream;
mod upgrade;
mod verified;
mod verifier;

pub use config::{Config, client_config, server_config};
pub use der::DerError;
pub use error::{CertificateError, Error};
pub use stream::TlsStream;
pub use upgrade::{Output, upgrade_inbound, upgrade_outbound};
pub use verifier::RejectionRecord;

/// The protocol id negotiated with multistream-select (tls/tls.md, "Handshake Protocol").
pub const PROTOCOL_ID: &str = "/tls/1.0.0";

/// The ALPN protocol of libp2p (tls/tls.md and quic/README.md, "ALPN"): the last entry a
/// TLS dialer offers, and the only one QUIC uses.
pub const ALPN: &[u8] = b"libp2p";
