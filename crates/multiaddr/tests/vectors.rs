//! Binary vectors checked byte for byte, covering every supported protocol.

use std::collections::BTreeSet;

use hyphae_multiaddr::Multiaddr;

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Text and binary forms computed independently of this crate (a separate encoder written
/// from the multicodec table: code as unsigned varint, then the value). Together they cover
/// every supported protocol.
const VECTORS: &[(&str, &str)] = &[
    ("/ip4/127.0.0.1/tcp/4001", "047f000001060fa1"),
    (
        "/ip6/::1/udp/4001/quic-v1",
        "290000000000000000000000000000000191020fa1cd03",
    ),
    (
        "/dns4/example.com/tcp/443/wss",
        "360b6578616d706c652e636f6d0601bbde03",
    ),
    (
        "/ip4/1.2.3.4/tcp/443/tls/sni/example.com/ws",
        "04010203040601bbc003c1030b6578616d706c652e636f6ddd03",
    ),
    (
        "/ip4/1.2.3.4/udp/443/quic-v1/webtransport/certhash/uEiAGKYQy6AZrKeIiO8wjqpUEtWrlCPq_NDVQiGm5wxkOIg",
        "0401020304910201bbcd03d103d20322122006298432e8066b29e2223bcc23aa9504b56ae508fabf3435508869b9c3190e22",
    ),
    (
        "/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
        "a503260024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b",
    ),
    (
        "/unix/%2Ftmp%2Fp2p.sock",
        "90030d2f746d702f7032702e736f636b",
    ),
    ("/memory/1234", "890600000000000004d2"),
    (
        "/ip4/1.2.3.4/tcp/1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA",
        "0401020304060001a503221220d52ebb89d85b02a284948203a62ff28389c57c9f42beec4ec20db76a68911c0ba202a503260024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b",
    ),
    (
        "/ip6zone/eth0/ip6/fe80::1/tcp/1",
        "2a046574683029fe800000000000000000000000000001060001",
    ),
    (
        "/dnsaddr/bootstrap.libp2p.io",
        "3813626f6f7473747261702e6c69627032702e696f",
    ),
    ("/ip4/0.0.0.0/udp/0/webrtc-direct", "0400000000910200009802"),
    ("/ip4/1.2.3.4/ipcidr/24", "04010203042b18"),
    (
        "/dns/a.io/tcp/80/http/http-path/foo%2Fbar",
        "3504612e696f060050e003e10307666f6f2f626172",
    ),
    ("/dns6/a.io/tcp/443/https", "3704612e696f0601bbbb03"),
    ("/ip4/1.2.3.4/udp/1/quic", "040102030491020001cc03"),
    ("/ip4/1.2.3.4/tcp/1/noise", "0401020304060001c603"),
    ("/webrtc", "9902"),
    // From the go-multiaddr test suite (TestStringToBytes / TestBytesToString).
    ("/ip4/127.0.0.1/udp/1234", "047f000001910204d2"),
    ("/ip4/127.0.0.1/tcp/4321", "047f0000010610e1"),
    (
        "/ip4/127.0.0.1/udp/1234/ip4/127.0.0.1/tcp/4321",
        "047f000001910204d2047f0000010610e1",
    ),
];

/// Every protocol the crate supports, by text name.
const ALL_PROTOCOLS: [&str; 28] = [
    "ip4",
    "ip6",
    "ip6zone",
    "ipcidr",
    "dns",
    "dns4",
    "dns6",
    "dnsaddr",
    "tcp",
    "udp",
    "quic",
    "quic-v1",
    "webtransport",
    "certhash",
    "webrtc",
    "webrtc-direct",
    "ws",
    "wss",
    "tls",
    "sni",
    "noise",
    "http",
    "https",
    "http-path",
    "p2p",
    "p2p-circuit",
    "unix",
    "memory",
];

#[test]
fn text_encodes_to_the_vector_bytes() {
    for &(text, bytes) in VECTORS {
        let parsed: Multiaddr = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed.to_vec(), hex(bytes), "{text}");
        assert_eq!(parsed.as_bytes(), &hex(bytes)[..], "{text}");
    }
}

#[test]
fn vector_bytes_decode_to_the_text() {
    for &(text, bytes) in VECTORS {
        let from_vec = Multiaddr::try_from(hex(bytes)).unwrap_or_else(|e| panic!("{text}: {e}"));
        let from_slice = Multiaddr::try_from(&hex(bytes)[..]).unwrap();
        assert_eq!(from_vec.to_string(), text);
        assert_eq!(from_vec, from_slice);
        assert_eq!(from_vec, text.parse().unwrap());
    }
}

#[test]
fn vectors_cover_every_protocol() {
    let seen: BTreeSet<&str> = VECTORS
        .iter()
        .flat_map(|(text, _)| {
            let addr: Multiaddr = text.parse().unwrap();
            addr.iter().map(|p| p.name()).collect::<Vec<_>>()
        })
        .collect();
    let all: BTreeSet<&str> = ALL_PROTOCOLS.into_iter().collect();
    assert_eq!(seen, all);
}

#[test]
fn every_protocol_reports_its_multicodec_code() {
    // Codes from multiformats/multicodec table.csv.
    let codes: [(&str, u64); 28] = [
        ("/ip4/1.2.3.4", 0x04),
        ("/tcp/1", 0x06),
        ("/ip6/::", 0x29),
        ("/ip6zone/x", 0x2a),
        ("/ipcidr/8", 0x2b),
        ("/dns/a", 0x35),
        ("/dns4/a", 0x36),
        ("/dns6/a", 0x37),
        ("/dnsaddr/a", 0x38),
        ("/udp/1", 0x0111),
        ("/webrtc-direct", 0x0118),
        ("/webrtc", 0x0119),
        ("/p2p-circuit", 0x0122),
        ("/unix/a", 0x0190),
        (
            "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
            0x01a5,
        ),
        ("/https", 0x01bb),
        ("/tls", 0x01c0),
        ("/sni/a", 0x01c1),
        ("/noise", 0x01c6),
        ("/quic", 0x01cc),
        ("/quic-v1", 0x01cd),
        ("/webtransport", 0x01d1),
        (
            "/certhash/uEiAGKYQy6AZrKeIiO8wjqpUEtWrlCPq_NDVQiGm5wxkOIg",
            0x01d2,
        ),
        ("/ws", 0x01dd),
        ("/wss", 0x01de),
        ("/http", 0x01e0),
        ("/http-path/a", 0x01e1),
        ("/memory/1", 0x0309),
    ];
    for (text, code) in codes {
        let addr: Multiaddr = text.parse().unwrap();
        let protocol = addr.iter().next().unwrap();
        assert_eq!(protocol.code(), code, "{text}");
        assert_eq!(
            format!("/{}", protocol.name()),
            text.split('/').take(2).collect::<Vec<_>>().join("/")
        );
    }
}
