//! The protocol table: multicodec codes, text names and binary value layouts.
//!
//! Codes are checked against multiformats/multicodec `table.csv` (tag `multiaddr`, plus
//! `memorytransport` 0x0309 under tag `libp2p`, which multiaddr text calls `memory`).

/// Multicodec codes of the supported protocols.
pub(crate) mod code {
    pub(crate) const IP4: u64 = 0x04;
    pub(crate) const TCP: u64 = 0x06;
    pub(crate) const IP6: u64 = 0x29;
    pub(crate) const IP6ZONE: u64 = 0x2a;
    pub(crate) const IPCIDR: u64 = 0x2b;
    pub(crate) const DNS: u64 = 0x35;
    pub(crate) const DNS4: u64 = 0x36;
    pub(crate) const DNS6: u64 = 0x37;
    pub(crate) const DNSADDR: u64 = 0x38;
    pub(crate) const UDP: u64 = 0x0111;
    pub(crate) const WEBRTC_DIRECT: u64 = 0x0118;
    pub(crate) const WEBRTC: u64 = 0x0119;
    pub(crate) const P2P_CIRCUIT: u64 = 0x0122;
    pub(crate) const UNIX: u64 = 0x0190;
    pub(crate) const P2P: u64 = 0x01a5;
    pub(crate) const HTTPS: u64 = 0x01bb;
    pub(crate) const TLS: u64 = 0x01c0;
    pub(crate) const SNI: u64 = 0x01c1;
    pub(crate) const NOISE: u64 = 0x01c6;
    pub(crate) const QUIC: u64 = 0x01cc;
    pub(crate) const QUIC_V1: u64 = 0x01cd;
    pub(crate) const WEBTRANSPORT: u64 = 0x01d1;
    pub(crate) const CERTHASH: u64 = 0x01d2;
    pub(crate) const WS: u64 = 0x01dd;
    pub(crate) const WSS: u64 = 0x01de;
    pub(crate) const HTTP: u64 = 0x01e0;
    pub(crate) const HTTP_PATH: u64 = 0x01e1;
    pub(crate) const MEMORY: u64 = 0x0309;
}

/// The legacy text name of `/p2p`, accepted on input only (libp2p/specs addressing/README.md).
const LEGACY_P2P_NAME: &str = "ipfs";

/// Every supported protocol: code and text name.
const NAMES: [(u64, &str); 28] = [
    (code::IP4, "ip4"),
    (code::TCP, "tcp"),
    (code::IP6, "ip6"),
    (code::IP6ZONE, "ip6zone"),
    (code::IPCIDR, "ipcidr"),
    (code::DNS, "dns"),
    (code::DNS4, "dns4"),
    (code::DNS6, "dns6"),
    (code::DNSADDR, "dnsaddr"),
    (code::UDP, "udp"),
    (code::WEBRTC_DIRECT, "webrtc-direct"),
    (code::WEBRTC, "webrtc"),
    (code::P2P_CIRCUIT, "p2p-circuit"),
    (code::UNIX, "unix"),
    (code::P2P, "p2p"),
    (code::HTTPS, "https"),
    (code::TLS, "tls"),
    (code::SNI, "sni"),
    (code::NOISE, "noise"),
    (code::QUIC, "quic"),
    (code::QUIC_V1, "quic-v1"),
    (code::WEBTRANSPORT, "webtransport"),
    (code::CERTHASH, "certhash"),
    (code::WS, "ws"),
    (code::WSS, "wss"),
    (code::HTTP, "http"),
    (code::HTTP_PATH, "http-path"),
    (code::MEMORY, "memory"),
];

/// Longest accepted variable-length value in bytes. A DNS name is at most 253 bytes and a
/// certificate hash or path far shorter in practice; the bound keeps a peer from making us
/// decode or store megabytes for one component.
pub(crate) const MAX_VALUE_LEN: usize = 1024;

/// Longest accepted text of one value: percent-encoding at most triples a byte.
pub(crate) const MAX_TEXT_VALUE_LEN: usize = 3 * MAX_VALUE_LEN;

/// How a protocol's value is laid out in binary.
pub(crate) enum Layout {
    /// No value.
    None,
    /// Exactly this many bytes.
    Fixed(usize),
    /// A varint length, then that many bytes.
    Variable,
}

/// The text name of a code we support.
pub(crate) fn name_of(code: u64) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, name)| *name)
}

/// The code of a text name we support (`ipfs` included).
pub(crate) fn code_of(name: &str) -> Option<u64> {
    if name == LEGACY_P2P_NAME {
        return Some(code::P2P);
    }
    NAMES
        .iter()
        .find(|(_, known)| *known == name)
        .map(|(code, _)| *code)
}

/// The binary layout of a code's value.
pub(crate) fn layout(code: u64) -> Layout {
    match code {
        code::IP4 => Layout::Fixed(4),
        code::IP6 => Layout::Fixed(16),
        code::TCP | code::UDP => Layout::Fixed(2),
        code::IPCIDR => Layout::Fixed(1),
        code::MEMORY => Layout::Fixed(8),
        code::IP6ZONE
        | code::DNS
        | code::DNS4
        | code::DNS6
        | code::DNSADDR
        | code::SNI
        | code::UNIX
        | code::HTTP_PATH
        | code::CERTHASH
        | code::P2P => Layout::Variable,
        _ => Layout::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_codes_are_unique() {
        for (index, (code, name)) in NAMES.iter().enumerate() {
            assert_eq!(name_of(*code), Some(*name));
            assert_eq!(code_of(name), Some(*code));
            assert!(
                NAMES[index + 1..]
                    .iter()
                    .all(|(c, n)| c != code && n != name)
            );
        }
        assert_eq!(code_of("ipfs"), Some(code::P2P));
        assert_eq!(name_of(code::P2P), Some("p2p"));
    }
}
