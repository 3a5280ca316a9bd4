//! Arbitrary input never panics; generated valid addresses round-trip in both forms.

use std::net::{Ipv4Addr, Ipv6Addr};

use hyphae_identity::{Keypair, PeerId};
use hyphae_multiaddr::{Multiaddr, Protocol};
use proptest::prelude::*;

/// DNS-like names (no `/`, which names cannot hold).
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9.%_-]{0,40}"
}

/// Any non-empty text, `/`, `%` and non-ASCII included: paths are percent-encoded.
fn path() -> impl Strategy<Value = String> {
    "\\PC{1,40}"
}

fn peer_id() -> impl Strategy<Value = PeerId> {
    prop_oneof![
        // Ed25519: identity multihash, `12D3KooW…`.
        any::<[u8; 32]>().prop_map(|secret| Keypair::ed25519_from_secret(&secret).peer_id()),
        // sha2-256 multihash, `Qm…`.
        any::<[u8; 32]>().prop_map(|digest| {
            let mut bytes = vec![0x12, 0x20];
            bytes.extend(digest);
            PeerId::from_bytes(&bytes).unwrap()
        }),
    ]
}

/// A multihash with an arbitrary code and digest.
fn multihash() -> impl Strategy<Value = Vec<u8>> {
    (
        0u64..0x20_0000,
        proptest::collection::vec(any::<u8>(), 0..70),
    )
        .prop_map(|(code, digest)| {
            let mut bytes = Vec::new();
            hyphae_encoding::multihash::encode_to_vec(code, &digest, &mut bytes);
            bytes
        })
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
        multihash().prop_map(|hash| Protocol::Certhash(hash.into())),
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
        peer_id().prop_map(Protocol::P2p),
        Just(Protocol::P2pCircuit),
        path().prop_map(|path| Protocol::Unix(path.into())),
        any::<u64>().prop_map(Protocol::Memory),
    ]
}

fn multiaddr() -> impl Strategy<Value = Multiaddr> {
    proptest::collection::vec(protocol(), 0..8)
        .prop_map(|protocols| protocols.into_iter().collect())
}

proptest! {
    #[test]
    fn generated_addresses_round_trip(protocols in proptest::collection::vec(protocol(), 0..8)) {
        let addr: Multiaddr = protocols.iter().cloned().collect();
        prop_assert_eq!(addr.len(), protocols.len());
        prop_assert_eq!(addr.iter().collect::<Vec<_>>(), protocols);

        // text -> binary -> text
        let text = addr.to_string();
        let from_text: Multiaddr = text.parse().unwrap();
        prop_assert_eq!(&from_text, &addr);
        prop_assert_eq!(Multiaddr::try_from(from_text.to_vec()).unwrap().to_string(), text);

        // binary -> text -> binary
        let bytes = addr.to_vec();
        let from_bytes = Multiaddr::try_from(bytes.as_slice()).unwrap();
        prop_assert_eq!(from_bytes.to_string().parse::<Multiaddr>().unwrap().to_vec(), bytes);
    }

    #[test]
    fn push_then_pop_gives_back_the_component(addr in multiaddr(), protocol in protocol()) {
        let mut pushed = addr.clone();
        pushed.push(protocol.clone());
        prop_assert_eq!(pushed.len(), addr.len() + 1);
        prop_assert_eq!(pushed.pop(), Some(protocol));
        prop_assert_eq!(pushed, addr);
    }

    #[test]
    fn joined_addresses_start_and_end_with_their_parts(a in multiaddr(), b in multiaddr()) {
        let joined: Multiaddr = a.iter().chain(b.iter()).collect();
        prop_assert!(joined.starts_with(&a));
        prop_assert!(joined.ends_with(&b));
        prop_assert_eq!(joined.len(), a.len() + b.len());
    }

    #[test]
    fn replace_changes_only_its_component(addr in multiaddr(), protocol in protocol(), index: usize) {
        if addr.is_empty() {
            prop_assert!(addr.replace(0, protocol).is_err());
        } else {
            let index = index % addr.len();
            let replaced = addr.replace(index, protocol.clone()).unwrap();
            for (position, (old, new)) in addr.iter().zip(replaced.iter()).enumerate() {
                if position == index {
                    prop_assert_eq!(&new, &protocol);
                } else {
                    prop_assert_eq!(new, old);
                }
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
        if let Ok(addr) = Multiaddr::try_from(bytes.clone()) {
            prop_assert_eq!(addr.as_bytes(), &bytes[..]);
            prop_assert_eq!(addr.to_string().parse::<Multiaddr>().unwrap(), addr);
        }
    }

    #[test]
    fn corrupted_valid_bytes_never_panic(
        addr in multiaddr(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut: usize,
    ) {
        let mut bytes = addr.to_vec();
        for (position, byte) in edits {
            if !bytes.is_empty() {
                let position = position % bytes.len();
                bytes[position] = byte;
            }
        }
        bytes.truncate(cut % (bytes.len() + 1));
        if let Ok(addr) = Multiaddr::try_from(bytes.as_slice()) {
            prop_assert_eq!(addr.to_string().parse::<Multiaddr>().unwrap(), addr);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text: String) {
        if let Ok(addr) = text.parse::<Multiaddr>() {
            prop_assert_eq!(addr.to_string().parse::<Multiaddr>().unwrap(), addr);
        }
    }

    #[test]
    fn arbitrary_slash_separated_text_never_panics(
        parts in proptest::collection::vec("[a-z0-9%.:-]{0,12}", 0..8),
    ) {
        let text = format!("/{}", parts.join("/"));
        let _ = text.parse::<Multiaddr>();
    }

    #[test]
    fn corrupted_valid_text_never_panics(addr in multiaddr(), at: usize, insert in "\\PC{0,4}") {
        let text = addr.to_string();
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let corrupted = format!("{}{insert}{}", &text[..at], &text[at..]);
        if let Ok(addr) = corrupted.parse::<Multiaddr>() {
            prop_assert_eq!(addr.to_string().parse::<Multiaddr>().unwrap(), addr);
        }
    }
}
