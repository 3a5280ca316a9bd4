//! Binary vectors for every protocol, text forms, and errors that name the culprit.

use hyphae_identity::PeerId;
use hyphae_multiaddr::{Error, Multiaddr, Protocol};

const PEER: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

fn addr(text: &str) -> Multiaddr {
    text.parse()
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Text and binary forms computed independently (Python, from the multicodec table: code as
/// unsigned varint, then the value). Together they cover every supported protocol.
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
];

#[test]
fn text_and_binary_forms_match_the_vectors() {
    for &(text, bytes) in VECTORS {
        let parsed = addr(text);
        assert_eq!(parsed.to_vec(), hex(bytes), "{text}");
        let decoded = Multiaddr::try_from(hex(bytes)).unwrap();
        assert_eq!(decoded.to_string(), text);
        assert_eq!(decoded, parsed);
    }
}

#[test]
fn legacy_ipfs_name_reads_as_p2p() {
    let legacy = addr(&format!("/ip4/1.2.3.4/tcp/1/ipfs/{PEER}"));
    assert_eq!(legacy.to_string(), format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}"));
}

#[test]
fn peer_ids_parse_in_cid_form_and_print_in_base58() {
    let peer: PeerId = PEER.parse().unwrap();
    let cid = addr(&format!("/p2p/{}", peer.to_cid_string()));
    assert_eq!(cid.to_string(), format!("/p2p/{PEER}"));
}

#[test]
fn certhash_accepts_any_multibase_and_prints_base64url() {
    let hash = "EiAGKYQy6AZrKeIiO8wjqpUEtWrlCPq_NDVQiGm5wxkOIg";
    let base64url = addr(&format!("/certhash/u{hash}"));
    let Some(Protocol::Certhash(bytes)) = base64url.iter().next() else {
        panic!("no certhash");
    };
    let base16 = addr(&format!(
        "/certhash/f{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    assert_eq!(base16, base64url);
    assert_eq!(base16.to_string(), format!("/certhash/u{hash}"));
}

#[test]
fn trailing_slash_and_empty_forms() {
    assert_eq!(addr("/ip4/1.2.3.4/tcp/5/"), addr("/ip4/1.2.3.4/tcp/5"));
    assert!(addr("/").is_empty());
    assert!(addr("").is_empty());
    assert_eq!(Multiaddr::empty().to_string(), "/");
}

#[test]
fn errors_name_the_offending_part() {
    let error = |text: &str| text.parse::<Multiaddr>().unwrap_err();
    assert!(matches!(
        error("ip4/1.2.3.4"),
        Error::MustStartWithSlash { .. }
    ));
    assert_eq!(
        error("/ip4/1.2.3.4/tpc/80"),
        Error::UnknownProtocol { name: "tpc".into() }
    );
    assert_eq!(
        error("/ip4/1.2.3.4/tcp"),
        Error::MissingValue { protocol: "tcp" }
    );
    assert!(matches!(
        error("/ip4/1.2.3.999/tcp/1"),
        Error::InvalidValue { protocol: "ip4", value, .. } if value == "1.2.3.999"
    ));
    assert!(matches!(
        error("/ip4/1.2.3.4/tcp/65536"),
        Error::InvalidValue { protocol: "tcp", value, .. } if value == "65536"
    ));
    assert!(matches!(
        error("/ip6/nope"),
        Error::InvalidValue {
            protocol: "ip6",
            ..
        }
    ));
    assert!(matches!(
        error("/p2p/QmNotAPeer"),
        Error::InvalidValue {
            protocol: "p2p",
            ..
        }
    ));
    assert!(matches!(
        error("/certhash/uAAAA"),
        Error::InvalidValue {
            protocol: "certhash",
            ..
        }
    ));
    assert!(matches!(
        error("/unix/%zz"),
        Error::InvalidValue {
            protocol: "unix",
            ..
        }
    ));
    assert!(matches!(
        error("/ip4/1.2.3.4//tcp/1"),
        Error::EmptyComponent { after } if after == "/ip4/1.2.3.4"
    ));
}

#[test]
fn binary_errors_name_the_offending_part() {
    assert_eq!(
        Multiaddr::try_from(vec![0x04, 1, 2]).unwrap_err(),
        Error::Truncated { protocol: "ip4" }
    );
    assert_eq!(
        Multiaddr::try_from(vec![0x36, 0x05, b'a']).unwrap_err(),
        Error::Truncated { protocol: "dns4" }
    );
    assert_eq!(
        Multiaddr::try_from(vec![0x7f]).unwrap_err(),
        Error::UnknownCode { code: 0x7f }
    );
    assert!(matches!(
        Multiaddr::try_from(vec![0x80]).unwrap_err(),
        Error::Varint(_)
    ));
    assert!(matches!(
        Multiaddr::try_from(vec![0x36, 0x02, 0xff, 0xfe]).unwrap_err(),
        Error::InvalidValue {
            protocol: "dns4",
            ..
        }
    ));
    assert!(matches!(
        Multiaddr::try_from(vec![0xa5, 0x03, 0x02, 0x11, 0x00]).unwrap_err(),
        Error::InvalidValue {
            protocol: "p2p",
            ..
        }
    ));
}

#[test]
fn push_pop_and_peer_ids() {
    let peer: PeerId = PEER.parse().unwrap();
    let mut a = addr("/ip4/1.2.3.4/tcp/1");
    assert_eq!(a.peer_id(), None);
    a = a.with_p2p(peer).unwrap();
    assert_eq!(a.peer_id(), Some(peer));
    assert_eq!(a.clone().with_p2p(peer).unwrap(), a);
    assert!(matches!(
        a.clone().with_p2p(PeerId::random()),
        Err(Error::PeerIdMismatch { existing, .. }) if existing == peer
    ));
    assert_eq!(a.pop(), Some(Protocol::P2p(peer)));
    assert_eq!(a.pop(), Some(Protocol::Tcp(1)));
    a.push(Protocol::Udp(2));
    a.push(Protocol::QuicV1);
    assert_eq!(a, addr("/ip4/1.2.3.4/udp/2/quic-v1"));
    assert_eq!(a.len(), 3);
    assert!(a.try_push(Protocol::Dns("".into())).is_err());
    assert_eq!(a.len(), 3);
}

#[test]
fn relayed_prefix_and_suffix() {
    let relayed = addr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}/p2p-circuit"));
    assert!(relayed.is_relayed());
    assert!(!addr("/ip4/1.2.3.4/tcp/1").is_relayed());
    assert!(relayed.starts_with(&addr("/ip4/1.2.3.4/tcp/1")));
    assert!(!relayed.starts_with(&addr("/ip4/1.2.3.4/tcp/2")));
    assert!(relayed.ends_with(&addr("/p2p-circuit")));
    assert!(relayed.ends_with(&relayed));
    assert!(!addr("/ip4/1.2.3.4/tcp/1").ends_with(&relayed));
    // 0x06 0x00 0x01 is "/tcp/1" but also the tail of the ip4 value in this address.
    let tricky = addr("/ip4/6.0.1.6/udp/1");
    assert!(!tricky.ends_with(&addr("/tcp/1")));
}

#[test]
fn conversions_from_std() {
    let socket: std::net::SocketAddr = "[::1]:80".parse().unwrap();
    assert_eq!(Multiaddr::from(socket), addr("/ip6/::1/tcp/80"));
    let ip: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    assert_eq!(Multiaddr::from(ip), addr("/ip4/10.0.0.1"));
    let collected: Multiaddr = addr("/ip4/1.2.3.4/tcp/1").iter().collect();
    assert_eq!(collected, addr("/ip4/1.2.3.4/tcp/1"));
}

#[cfg(feature = "serde")]
#[test]
fn serde_uses_text_in_json() {
    let a = addr("/ip4/1.2.3.4/tcp/1");
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, "\"/ip4/1.2.3.4/tcp/1\"");
    assert_eq!(serde_json::from_str::<Multiaddr>(&json).unwrap(), a);
    assert!(serde_json::from_str::<Multiaddr>("\"/nope\"").is_err());
}
