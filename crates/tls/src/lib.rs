//! libp2p TLS 1.3 security (/tls/1.0.0) for hyphae.
