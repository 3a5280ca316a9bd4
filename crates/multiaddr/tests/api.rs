//! The operations users build and inspect addresses with.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hyphae_identity::{Keypair, PeerId};
use hyphae_multiaddr::{Error, Multiaddr, Protocol};

const PEER: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

fn addr(text: &str) -> Multiaddr {
    text.parse()
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn peer() -> PeerId {
    PEER.parse().unwrap()
}

#[test]
fn with_p2p_appends_the_peer_id_once() {
    let base = addr("/ip4/1.2.3.4/tcp/1");
    let with = base.clone().with_p2p(peer()).unwrap();
    assert_eq!(with, addr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}")));
    assert_eq!(with.clone().with_p2p(peer()).unwrap(), with);
}

#[test]
fn with_p2p_refuses_a_different_peer_id() {
    let other = Keypair::generate_ed25519().public().to_peer_id();
    let with = addr("/ip4/1.2.3.4/tcp/1").with_p2p(peer()).unwrap();
    assert_eq!(
        with.with_p2p(other),
        Err(Error::PeerIdMismatch {
            existing: peer(),
            new: other
        })
    );
}

#[test]
fn with_p2p_after_a_circuit_names_the_destination() {
    let relay = addr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}/p2p-circuit"));
    let target = PeerId::random();
    let relayed = relay.with_p2p(target).unwrap();
    assert_eq!(relayed.peer_id(), Some(target));
    assert!(relayed.is_relayed());
}

#[test]
fn peer_id_is_only_the_trailing_component() {
    assert_eq!(addr("/ip4/1.2.3.4/tcp/1").peer_id(), None);
    assert_eq!(Multiaddr::empty().peer_id(), None);
    assert_eq!(addr(&format!("/p2p/{PEER}")).peer_id(), Some(peer()));
    assert_eq!(addr(&format!("/p2p/{PEER}/p2p-circuit")).peer_id(), None);
}

#[test]
fn is_relayed_looks_for_p2p_circuit() {
    assert!(addr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}/p2p-circuit")).is_relayed());
    assert!(!addr("/ip4/1.2.3.4/tcp/1").is_relayed());
    assert!(!Multiaddr::empty().is_relayed());
}

#[test]
fn push_and_pop_work_at_the_end() {
    let mut a = addr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}"));
    assert_eq!(a.len(), 3);
    assert_eq!(a.pop(), Some(Protocol::P2p(peer())));
    assert_eq!(a.pop(), Some(Protocol::Tcp(1)));
    a.push(Protocol::Udp(2));
    a.push(Protocol::QuicV1);
    assert_eq!(a, addr("/ip4/1.2.3.4/udp/2/quic-v1"));
    assert_eq!(a.len(), 3);
    assert_eq!(a.pop(), Some(Protocol::QuicV1));
    assert_eq!(a.pop(), Some(Protocol::Udp(2)));
    assert_eq!(a.pop(), Some(Protocol::Ip4(Ipv4Addr::new(1, 2, 3, 4))));
    assert_eq!(a.pop(), None);
    assert!(a.is_empty());
    assert_eq!(a.len(), 0);
}

#[test]
fn popped_components_outlive_the_address() {
    let mut a = addr("/dns4/example.com");
    let popped = a.pop();
    drop(a);
    assert_eq!(popped, Some(Protocol::Dns4("example.com".into())));
}

#[test]
fn push_skips_a_value_that_cannot_be_encoded() {
    let mut a = addr("/ip4/1.2.3.4");
    a.push(Protocol::Dns("".into()));
    assert_eq!(a, addr("/ip4/1.2.3.4"));
}

#[test]
fn clones_share_until_changed() {
    let a = addr("/ip4/1.2.3.4/tcp/1");
    let mut b = a.clone();
    b.push(Protocol::Ws);
    assert_eq!(a, addr("/ip4/1.2.3.4/tcp/1"));
    assert_eq!(b, addr("/ip4/1.2.3.4/tcp/1/ws"));
}

#[test]
fn replace_swaps_one_component() {
    let a = addr("/ip4/1.2.3.4/tcp/0/ws");
    assert_eq!(
        a.replace(1, Protocol::Tcp(4001)).unwrap(),
        addr("/ip4/1.2.3.4/tcp/4001/ws")
    );
    assert_eq!(
        a.replace(0, Protocol::Dns("example.com".into())).unwrap(),
        addr("/dns/example.com/tcp/0/ws")
    );
    assert_eq!(
        a.replace(3, Protocol::Wss),
        Err(Error::IndexOutOfRange { index: 3, len: 3 })
    );
    assert_eq!(
        a.replace(0, Protocol::Dns("".into())),
        Err(Error::MissingValue { protocol: "dns" })
    );
}

#[test]
fn prefixes_and_suffixes_respect_component_boundaries() {
    let relayed = addr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}/p2p-circuit"));
    assert!(relayed.starts_with(&addr("/ip4/1.2.3.4/tcp/1")));
    assert!(relayed.starts_with(&Multiaddr::empty()));
    assert!(!relayed.starts_with(&addr("/ip4/1.2.3.4/tcp/2")));
    assert!(relayed.ends_with(&addr("/p2p-circuit")));
    assert!(relayed.ends_with(&relayed));
    assert!(relayed.ends_with(&Multiaddr::empty()));
    assert!(!addr("/ip4/1.2.3.4/tcp/1").ends_with(&relayed));
    // 0x06 0x00 0x01 is "/tcp/1" but here it is the tail of the ip4 value and a udp code.
    let tricky = addr("/ip4/6.0.1.6/udp/1");
    assert!(!tricky.ends_with(&addr("/tcp/1")));
}

#[test]
fn iterates_borrowed_components_in_order() {
    let a = addr("/dns/example.com/tcp/443/wss");
    let components: Vec<Protocol<'_>> = a.iter().collect();
    assert_eq!(
        components,
        [
            Protocol::Dns("example.com".into()),
            Protocol::Tcp(443),
            Protocol::Wss
        ]
    );
    let names: Vec<&str> = (&a).into_iter().map(|p| p.name()).collect();
    assert_eq!(names, ["dns", "tcp", "wss"]);
    let owned: Vec<Protocol<'static>> = a.iter().map(Protocol::into_owned).collect();
    drop(a);
    assert_eq!(owned.len(), 3);
}

#[test]
fn builds_from_components() {
    let collected: Multiaddr = [Protocol::Ip6(Ipv6Addr::LOCALHOST), Protocol::Udp(1)]
        .into_iter()
        .collect();
    assert_eq!(collected, addr("/ip6/::1/udp/1"));
    let mut extended = Multiaddr::from(Protocol::Ip4(Ipv4Addr::LOCALHOST));
    extended.extend([Protocol::Tcp(1), Protocol::Noise]);
    assert_eq!(extended, addr("/ip4/127.0.0.1/tcp/1/noise"));
    assert_eq!(
        Multiaddr::empty().with(Protocol::Memory(7)),
        addr("/memory/7")
    );
}

#[test]
fn converts_from_std_addresses() {
    let socket: SocketAddr = "[::1]:80".parse().unwrap();
    assert_eq!(Multiaddr::from(socket), addr("/ip6/::1/tcp/80"));
    let ip: IpAddr = "10.0.0.1".parse().unwrap();
    assert_eq!(Multiaddr::from(ip), addr("/ip4/10.0.0.1"));
    assert_eq!(
        Multiaddr::from(Ipv4Addr::new(1, 2, 3, 4)),
        addr("/ip4/1.2.3.4")
    );
    assert_eq!(Multiaddr::from(Ipv6Addr::LOCALHOST), addr("/ip6/::1"));
}

#[test]
fn orders_and_hashes_by_binary_form() {
    use std::collections::HashSet;
    let a = addr("/ip4/1.2.3.4/tcp/1");
    let b = addr("/ip4/1.2.3.4/tcp/2");
    assert!(a < b);
    let set: HashSet<Multiaddr> = [a.clone(), a.clone(), b].into_iter().collect();
    assert_eq!(set.len(), 2);
    assert_eq!(a.as_ref(), a.as_bytes());
}

#[test]
fn serde_uses_text_in_json() {
    let a = addr(&format!("/ip4/1.2.3.4/tcp/1/p2p/{PEER}"));
    let json = serde_json::to_string(&a).unwrap();
    assert_eq!(json, format!("\"/ip4/1.2.3.4/tcp/1/p2p/{PEER}\""));
    assert_eq!(serde_json::from_str::<Multiaddr>(&json).unwrap(), a);
    let error = serde_json::from_str::<Multiaddr>("\"/nope\"").unwrap_err();
    assert!(error.to_string().contains("unknown protocol /nope"));
}

#[test]
fn serde_reads_bytes_and_byte_sequences() {
    use serde::Deserialize;
    use serde::de::value::{BytesDeserializer, Error as ValueError, SeqDeserializer};

    let a = addr("/ip4/1.2.3.4/tcp/1");
    let from_bytes =
        Multiaddr::deserialize(BytesDeserializer::<ValueError>::new(a.as_bytes())).unwrap();
    assert_eq!(from_bytes, a);
    let seq = SeqDeserializer::<_, ValueError>::new(a.to_vec().into_iter());
    assert_eq!(Multiaddr::deserialize(seq).unwrap(), a);
    assert!(Multiaddr::deserialize(BytesDeserializer::<ValueError>::new(&[0x04, 1])).is_err());
}
