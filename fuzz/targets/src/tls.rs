//! The libp2p TLS certificate: X.509 with the libp2p Public Key Extension.

use hyphae_tls::certificate;

/// A peer's DER certificate: one that parses has a PeerId that matches its key, and the
/// time and signature checks on it do not panic.
pub fn tls_certificate(data: &[u8]) {
    let Ok(parsed) = certificate::parse(data) else {
        return;
    };
    assert_eq!(parsed.peer_id(), parsed.public_key().to_peer_id());
    for now in [i64::MIN, -1, 0, 1_700_000_000, i64::MAX] {
        let _ = parsed.check_validity(now);
    }
}
