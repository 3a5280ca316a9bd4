//! Malformed text or bytes give an error that names the offending protocol and value.

use hyphae_multiaddr::{Error, Multiaddr, Protocol};

fn text_error(text: &str) -> Error {
    text.parse::<Multiaddr>()
        .expect_err(&format!("{text} was accepted"))
}

fn bytes_error(bytes: &[u8]) -> Error {
    Multiaddr::try_from(bytes).expect_err(&format!("{bytes:02x?} was accepted"))
}

#[test]
fn text_must_start_with_a_slash() {
    assert_eq!(
        text_error("ip4/1.2.3.4"),
        Error::MustStartWithSlash {
            text: "ip4/1.2.3.4".into()
        }
    );
}

#[test]
fn unknown_protocol_names_the_name() {
    assert_eq!(
        text_error("/ip4/1.2.3.4/tpc/80"),
        Error::UnknownProtocol { name: "tpc".into() }
    );
    // A value given to a protocol that takes none is read as the next protocol name.
    assert_eq!(
        text_error("/quic-v1/1234"),
        Error::UnknownProtocol {
            name: "1234".into()
        }
    );
}

#[test]
fn missing_value_names_the_protocol() {
    assert_eq!(
        text_error("/ip4/1.2.3.4/tcp"),
        Error::MissingValue { protocol: "tcp" }
    );
    assert_eq!(
        text_error("/ip4/1.2.3.4/tcp/"),
        Error::MissingValue { protocol: "tcp" }
    );
    assert_eq!(text_error("/ipfs"), Error::MissingValue { protocol: "p2p" });
    assert_eq!(
        text_error("/ip6zone//ip6/fe80::1"),
        Error::MissingValue {
            protocol: "ip6zone"
        }
    );
}

#[test]
fn invalid_value_names_the_protocol_and_value() {
    let cases = [
        ("/ip4/1.2.3.999/tcp/1", "ip4", "1.2.3.999"),
        ("/ip4/1.2.3.4/tcp/65536", "tcp", "65536"),
        ("/udp/-1", "udp", "-1"),
        ("/ip6/nope", "ip6", "nope"),
        ("/ipcidr/256", "ipcidr", "256"),
        (
            "/memory/18446744073709551616",
            "memory",
            "18446744073709551616",
        ),
        ("/p2p/QmNotAPeer", "p2p", "QmNotAPeer"),
        ("/certhash/uAAAA", "certhash", "uAAAA"),
        ("/certhash/?abc", "certhash", "?abc"),
        ("/unix/%zz", "unix", "%zz"),
        ("/http-path/%ff", "http-path", "%ff"),
    ];
    for (text, protocol, value) in cases {
        match text_error(text) {
            Error::InvalidValue {
                protocol: p,
                value: v,
                reason,
            } => {
                assert_eq!((p, v.as_str()), (protocol, value), "{text}");
                assert!(!reason.is_empty());
            }
            other => panic!("{text}: unexpected {other:?}"),
        }
    }
}

#[test]
fn error_messages_read_well() {
    assert_eq!(
        text_error("/ip4/1.2.3.4/tcp/x").to_string(),
        "invalid /tcp value \"x\": not a port number (0 to 65535)"
    );
    assert_eq!(
        bytes_error(&[0x04, 1, 2]).to_string(),
        "/ip4 value is truncated"
    );
}

#[test]
fn overlong_text_values_are_rejected_before_decoding() {
    let long_certhash = format!("/certhash/z{}", "2".repeat(100_000));
    assert!(matches!(
        text_error(&long_certhash),
        Error::InvalidValue { protocol: "certhash", value, .. } if value.len() <= 80
    ));
    let long_name = format!("/dns/{}", "a".repeat(2000));
    assert!(matches!(
        text_error(&long_name),
        Error::InvalidValue {
            protocol: "dns",
            ..
        }
    ));
}

#[test]
fn names_may_not_contain_a_slash() {
    let mut bytes = vec![0x36, 3];
    bytes.extend_from_slice(b"a/b");
    assert!(matches!(
        bytes_error(&bytes),
        Error::InvalidValue { protocol: "dns4", value, .. } if value == "a/b"
    ));
}

#[test]
fn truncated_bytes_name_the_protocol() {
    assert_eq!(
        bytes_error(&[0x04, 1, 2]),
        Error::Truncated { protocol: "ip4" }
    );
    assert_eq!(
        bytes_error(&[0x06, 0]),
        Error::Truncated { protocol: "tcp" }
    );
    assert_eq!(
        bytes_error(&[0x89, 0x06, 0, 0, 0]),
        Error::Truncated { protocol: "memory" }
    );
    assert_eq!(
        bytes_error(&[0x36, 0x05, b'a']),
        Error::Truncated { protocol: "dns4" }
    );
    // The length prefix itself is cut off.
    assert_eq!(
        bytes_error(&[0x36, 0x80]),
        Error::Truncated { protocol: "dns4" }
    );
    assert_eq!(bytes_error(&[0x36]), Error::Truncated { protocol: "dns4" });
}

#[test]
fn huge_length_prefix_is_rejected_without_allocating() {
    // dns4 with a declared length of 2^63: must be refused by comparing with the input.
    let bytes = [
        0x36, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
    ];
    assert_eq!(bytes_error(&bytes), Error::Truncated { protocol: "dns4" });
}

#[test]
fn unknown_code_names_the_code() {
    assert_eq!(bytes_error(&[0x7f]), Error::UnknownCode { code: 0x7f });
    // onion3 (0x01bd) is in the multicodec table but not supported here.
    assert_eq!(
        bytes_error(&[0xbd, 0x03]),
        Error::UnknownCode { code: 0x01bd }
    );
}

#[test]
fn bad_varints_are_reported() {
    assert!(matches!(bytes_error(&[0x80]), Error::Varint(_)));
    assert!(matches!(bytes_error(&[0x84, 0x00]), Error::Varint(_)));
}

#[test]
fn invalid_binary_values_name_the_protocol() {
    let cases: [(&[u8], &str); 4] = [
        (&[0x36, 0x02, 0xff, 0xfe], "dns4"),
        (&[0xa5, 0x03, 0x02, 0x11, 0x00], "p2p"),
        (&[0xd2, 0x03, 0x03, 0x12, 0x20, 0x00], "certhash"),
        (&[0x90, 0x03, 0x00], "unix"),
    ];
    for (bytes, protocol) in cases {
        match bytes_error(bytes) {
            Error::InvalidValue { protocol: p, .. } | Error::MissingValue { protocol: p } => {
                assert_eq!(p, protocol, "{bytes:02x?}")
            }
            other => panic!("{bytes:02x?}: unexpected {other:?}"),
        }
    }
}

#[test]
fn invalid_values_built_in_code_are_refused() {
    let mut addr: Multiaddr = "/ip4/1.2.3.4".parse().unwrap();
    assert_eq!(
        addr.try_push(Protocol::Dns("".into())),
        Err(Error::MissingValue { protocol: "dns" })
    );
    assert!(matches!(
        addr.try_push(Protocol::Sni("a/b".into())),
        Err(Error::InvalidValue {
            protocol: "sni",
            ..
        })
    ));
    assert!(matches!(
        addr.try_push(Protocol::Certhash(vec![0x12, 0x20].into())),
        Err(Error::InvalidValue {
            protocol: "certhash",
            ..
        })
    ));
    assert_eq!(addr.len(), 1);
}
