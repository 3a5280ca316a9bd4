//! Arbitrary input never panics; generated valid addresses round-trip in both forms.

use std::net::{Ipv4Addr, Ipv6Addr};

use hyphae_identity::Keypair;
use hyphae_multiaddr::{Multiaddr, Protocol};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9.-]{0,30}"
}

fn path() -> impl Strategy<Value = String> {
    "[ -~]{1,40}"
}

fn protocol() -> impl Strategy<Value = Protocol<'static>> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|octets| Protocol::Ip4(Ipv4Addr::from(octets))),
        any::<[u8; 16]>().prop_map(|octets| Protocol::Ip6(Ipv6Addr::from(octets))),
        name().prop_map(|zone| Protocol::Ip6zone(zone.into())),
        any::<u8>().prop_map(Protocol::Ipcidr),
        name().prop_map(|name| Protocol::Dns(name.into())),
        name().prop_map(|name| Protocol::Dns4(name.into())),
        name().prop_map(|name| Protocol::Dns6(name.into())),
        name().prop_map(|name| Protocol::Dnsaddr(name.into())),
        any::<u16>().prop_map(Protocol::Tcp),
        any::<u16>().prop_map(Protocol::Udp),
        Just(Protocol::Quic),
        Just(Protocol::QuicV1),
        Just(Protocol::WebTransport),
        proptest::collection::vec(any::<u8>(), 32).prop_map(|digest| {
            let mut hash = vec![0x12, 0x20];
            hash.extend(digest);
            Protocol::Certhash(hash.into())
        }),
        Just(Protocol::WebRTC),
        Just(Protocol::WebRTCDirect),
        Just(Protocol::Ws),
        Just(Protocol::Wss),
        Just(Protocol::Tls),
        name().prop_map(|host| Protocol::Sni(host.into())),
        Just(Protocol::Noise),
        Just(Protocol::Http),
        Just(Protocol::Https),
        path().prop_map(|path| Protocol::HttpPath(path.into())),
        any::<[u8; 32]>()
            .prop_map(|secret| Protocol::P2p(Keypair::ed25519_from_secret(&secret).peer_id())),
        Just(Protocol::P2pCircuit),
        path().prop_map(|path| Protocol::Unix(path.into())),
        any::<u64>().prop_map(Protocol::Memory),
    ]
}

proptest! {
    #[test]
    fn generated_addresses_round_trip(protocols in proptest::collection::vec(protocol(), 0..8)) {
        let addr: Multiaddr = protocols.iter().cloned().collect();
        prop_assert_eq!(addr.len(), protocols.len());
        prop_assert_eq!(addr.iter().collect::<Vec<_>>(), protocols);
        let text = addr.to_string();
        prop_assert_eq!(text.parse::<Multiaddr>().unwrap(), addr.clone());
        prop_assert_eq!(Multiaddr::try_from(addr.to_vec()).unwrap(), addr);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
        if let Ok(addr) = Multiaddr::try_from(bytes.clone()) {
            prop_assert_eq!(addr.as_bytes(), &bytes[..]);
            let _ = addr.to_string();
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text: String) {
        if let Ok(addr) = text.parse::<Multiaddr>() {
            prop_assert_eq!(addr.to_string().parse::<Multiaddr>().unwrap(), addr);
        }
    }

    #[test]
    fn arbitrary_slash_separated_text_never_panics(parts in proptest::collection::vec("[a-z0-9%.:-]{0,12}", 0..8)) {
        let text = format!("/{}", parts.join("/"));
        let _ = text.parse::<Multiaddr>();
    }
}
