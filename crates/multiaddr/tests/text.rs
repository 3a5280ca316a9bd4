//! The text form: canonical printing, accepted variants, and addresses that other
//! implementations' test suites accept or reject.

use hyphae_identity::PeerId;
use hyphae_multiaddr::{Error, Multiaddr, Protocol};

const PEER: &str = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";

fn addr(text: &str) -> Multiaddr {
    text.parse()
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

/// Parses, prints, and checks both forms round-trip.
fn round_trip(text: &str) -> String {
    let parsed = addr(text);
    let printed = parsed.to_string();
    assert_eq!(addr(&printed), parsed, "{text} printed as {printed}");
    assert_eq!(Multiaddr::try_from(parsed.to_vec()).unwrap(), parsed);
    printed
}

#[test]
fn canonical_text_prints_unchanged() {
    // The round-trip variants of the js-multiaddr test suite, for the protocols we support.
    let canonical = [
        "/ip4/127.0.0.1",
        "/ip6/2001:8a0:7ac5:4201:3ac9:86ff:fe31:7095",
        "/ip4/127.0.0.1/tcp/5000",
        "/ip6/2001:8a0:7ac5:4201:3ac9:86ff:fe31:7095/udp/5000",
        "/ip4/127.0.0.1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/tcp/1234",
        "/ip6zone/x/ip6/fe80::1",
        "/ip4/127.0.0.1/tcp/8000/http",
        "/ip4/127.0.0.1/tcp/80/unix/a%2Fb%2Fc%2Fd%2Fe%2Ff",
        "/ip4/127.0.0.1/tcp/8000/https",
        "/ip6/2001:8a0:7ac5:4201:3ac9:86ff:fe31:7095/tcp/8000/ws/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
        "/ip6/2001:8a0:7ac5:4201:3ac9:86ff:fe31:7095/udp/4001/quic/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
        "/ip6/2001:8a0:7ac5:4201:3ac9:86ff:fe31:7095/udp/4001/quic-v1/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
        "/ip4/1.2.3.4/udp/4001/quic-v1/webtransport",
        "/ip4/1.2.3.4/udp/4001/quic-v1/webtransport/certhash/uEiAkH5a4DPGKUuOBjYw0CgwjvcJCJMD2K_1aluKR_tpevQ/certhash/uEiAfbgiymPP2_nX7Dgir8B4QkksjHp2lVuJZz0F79Be9JA/p2p/12D3KooWBdmLJjhpgJ9KZgLM3f894ff9xyBfPvPjFNn7MKJpyrC2",
        "/ip6zone/x/ip6/fe80::1/udp/1234/quic",
        "/unix/a%2Fb%2Fc%2Fd%2Fe",
        "/ip4/127.0.0.1/tcp/9090/tls/ws",
        "/ip4/127.0.0.1/tcp/9090/tls/sni/example.com/ws",
        "/ip4/127.0.0.1/tcp/9090/tls/http-path/tmp%2Ffoo%2F..%2Fbar",
        "/p2p-circuit/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
        "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit",
        "/dns/example.com/tcp/443/tls/http",
        "/memory/18446744073709551615",
    ];
    for text in canonical {
        assert_eq!(round_trip(text), text);
    }
}

#[test]
fn non_canonical_text_is_normalized() {
    let cases = [
        // IPv6 normalization, as in the js-multiaddr test suite.
        (
            "/ip6/0001:08a0:00c5:4201:3ac9:86ff:fe31:0709",
            "/ip6/1:8a0:c5:4201:3ac9:86ff:fe31:709",
        ),
        ("/ip6/0000:0000:0000:0000:0000:0000:0000:0001", "/ip6/::1"),
        ("/ip6/::00:0:000:0:001", "/ip6/::1"),
        ("/ip6/::101.45.75.219/tcp/9090", "/ip6/::652d:4bdb/tcp/9090"),
        (
            "/ip6/0:00:0000:0002:0000:059c:0a24:0801/tcp/64142",
            "/ip6/::2:0:59c:a24:801/tcp/64142",
        ),
        // Legacy name and peer-id forms.
        (
            "/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit",
            "/p2p/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC/p2p-circuit",
        ),
        (
            // The same multihash in base58btc, worked out with an independent decoder.
            "/ipfs/bafzbeidt255unskpefjmqb2rc27vjuyxopkxgaylxij6pw35hhys4vnyp4",
            "/p2p/QmW8rAgaaA6sRydK1k6vonShQME47aDxaFidbtMevWs73t",
        ),
        // Paths: any escape is decoded; only unreserved characters print unescaped.
        ("/unix/%2ftmp%2F%70.sock", "/unix/%2Ftmp%2Fp.sock"),
        ("/http-path/a b+c", "/http-path/a%20b%2Bc"),
        ("/http-path/caf%C3%A9", "/http-path/caf%C3%A9"),
        // Leading zeros in numbers.
        ("/tcp/0080", "/tcp/80"),
        // One trailing slash.
        ("/ip4/1.2.3.4/tcp/5/", "/ip4/1.2.3.4/tcp/5"),
        ("/", "/"),
        ("", "/"),
    ];
    for (input, output) in cases {
        assert_eq!(round_trip(input), output, "{input}");
    }
}

#[test]
fn accepts_what_go_multiaddr_accepts() {
    // The `good` list of the go-multiaddr test suite, for the protocols we support. (go's
    // raw `/unix/a/b/c` form is left out: we read unix paths as one percent-encoded segment.)
    let good = [
        "/ip4/1.2.3.4",
        "/ip4/0.0.0.0",
        "/ip4/192.0.2.0/ipcidr/24",
        "/ip6/::1",
        "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21",
        "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic",
        "/ip6/2601:9:4f81:9700:803e:ca65:66e8:c21/udp/1234/quic-v1",
        "/ip6/2001:db8::/ipcidr/32",
        "/ip6zone/x/ip6/fe80::1",
        "/ip6zone/x%y/ip6/fe80::1",
        "/ip6zone/x%y/ip6/::",
        "/ip6zone/x/ip6/fe80::1/udp/1234/quic-v1",
        "/udp/0",
        "/tcp/0",
        "/udp/65535",
        "/tcp/65535",
        "/ipfs/QmcgpsyWgH8Y8ajJz1Cu72KnS5uo2Aa2LpzU7kinSupNKC",
        "/ipfs/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
        "/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7",
        "/p2p/bafzbeigvf25ytwc3akrijfecaotc74udrhcxzh2cx3we5qqnw5vgrei4bm",
        "/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV",
        "/p2p/k51qzi5uqu5dhb6l8spkdx7yxafegfkee5by8h7lmjh2ehc2sgg34z7c15vzqs",
        "/p2p/bafzaajaiaejcalj543iwv2d7pkjt7ykvefrkfu7qjfi6sduakhso4lay6abn2d5u",
        "/tcp/1234/http",
        "/tcp/1234/tls/http",
        "/tcp/1234/https",
        "/ip4/127.0.0.1/tcp/1234/",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmpy/certhash/zQmbWTwYGcmdyK9CYfNBcfs9nhZs17a6FQ4Y8oea278xx41",
        "/ip4/127.0.0.1/p2p/k2k4r8oqamigqdo6o7hsbfwd45y70oyynp98usk7zmyfrzpqxh1pohl7/tcp/1234/unix/stdio",
        "/ip4/127.0.0.1/tcp/127/tls/ws",
        "/ip4/127.0.0.1/tcp/127/noise",
        "/ip4/127.0.0.1/tcp/127/wss",
        "/ip4/127.0.0.1/tcp/127/webrtc-direct",
        "/ip4/127.0.0.1/tcp/127/webrtc",
        "/http-path/tmp%2Fbar%2Fbaz",
        "/ip4/127.0.0.1/tcp/0/p2p/12D3KooWCryG7Mon9orvQxcS1rYZjotPgpwoJNHHKcLLfE4Hf5mV/http-path/foo",
        "/ip4/127.0.0.1/tcp/443/tls/sni/example.com/http/http-path/foo",
        "/memory/4",
    ];
    for text in good {
        round_trip(text);
    }
}

#[test]
fn rejects_what_go_multiaddr_rejects() {
    // The failing cases of the go-multiaddr test suite, for the protocols we support. (go
    // also rejects "" and "/"; we read both as the empty address.)
    let bad = [
        "/ip4",
        "/ip4/::1",
        "/ip4/fdpsofodsajfdoisa",
        "/ip4/::/ipcidr/256",
        "/ip6/::/ipcidr/1026",
        "/ip6",
        "/ip6zone",
        "/ip6zone/",
        "/ip6zone//ip6/fe80::1",
        "/udp",
        "/tcp",
        "/udp/65536",
        "/tcp/65536",
        "/quic/65536",
        "/quic-v1/65536",
        "/ip4/127.0.0.1/udp/jfodsajfidosajfoidsa",
        "/ip4/127.0.0.1/udp",
        "/ip4/127.0.0.1/tcp/jfodsajfidosajfoidsa",
        "/ip4/127.0.0.1/tcp",
        "/ip4/127.0.0.1/quic/1234",
        "/ip4/127.0.0.1/quic-v1/1234",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash",
        "/ip4/127.0.0.1/udp/1234/quic-v1/webtransport/certhash/b2uaraocy6yrdblb4sfptaddgimjmmp",
        "/ip4/127.0.0.1/ipfs",
        "/ip4/127.0.0.1/ipfs/tcp",
        "/ip4/127.0.0.1/p2p",
        "/ip4/127.0.0.1/p2p/tcp",
        "/unix",
        "/ip4/1.2.3.4/tcp/80/unix",
        "/ip4/1.2.3.4/tcp/-1",
        "/memory/92233720368547758081",
        // sha2-256 multihash whose digest is longer than 32 bytes.
        "/p2p/QmxoHT6iViN5xAjoz1VZ553cL31U9F94ht3QvWR1FrEbZY",
        // Ours: empty components other than one trailing slash.
        "//",
        "/ip4/1.2.3.4//",
    ];
    for text in bad {
        assert!(text.parse::<Multiaddr>().is_err(), "{text} was accepted");
    }
}

#[test]
fn peer_ids_parse_in_cid_form_and_print_in_base58() {
    let peer: PeerId = PEER.parse().unwrap();
    let cid = addr(&format!("/p2p/{}", peer.to_cid_string()));
    assert_eq!(cid.to_string(), format!("/p2p/{PEER}"));
    assert_eq!(cid.peer_id(), Some(peer));
}

#[test]
fn certhash_accepts_any_multibase_and_prints_base64url() {
    let hash = "EiAGKYQy6AZrKeIiO8wjqpUEtWrlCPq_NDVQiGm5wxkOIg";
    let base64url = addr(&format!("/certhash/u{hash}"));
    let Some(Protocol::Certhash(bytes)) = base64url.iter().next() else {
        panic!("no certhash");
    };
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let base16 = addr(&format!("/certhash/f{hex}"));
    assert_eq!(base16, base64url);
    assert_eq!(base16.to_string(), format!("/certhash/u{hash}"));
}

#[test]
fn one_component_displays_alone() {
    assert_eq!(Protocol::Tcp(80).to_string(), "/tcp/80");
    assert_eq!(Protocol::P2pCircuit.to_string(), "/p2p-circuit");
    assert_eq!(
        Protocol::Unix("/tmp/x".into()).to_string(),
        "/unix/%2Ftmp%2Fx"
    );
    assert_eq!(format!("{:?}", addr("/tcp/80")), "Multiaddr(/tcp/80)");
}

#[test]
fn empty_component_error_names_what_came_before() {
    assert_eq!(
        "/ip4/1.2.3.4//tcp/1".parse::<Multiaddr>().unwrap_err(),
        Error::EmptyComponent {
            after: "/ip4/1.2.3.4".into()
        }
    );
}
