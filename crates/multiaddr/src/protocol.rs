//! One multiaddr component: its code, name, and value in text and binary form.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hyphae_encoding::multibase::{self, Base};
use hyphae_encoding::{multihash, varint};
use hyphae_identity::PeerId;

use crate::table::{Layout, MAX_TEXT_VALUE_LEN, MAX_VALUE_LEN, code, code_of, layout, name_of};
use crate::{Error, percent};

/// One component of a multiaddr.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Protocol<'a> {
    /// `/ip4/<address>`
    Ip4(Ipv4Addr),
    /// `/ip6/<address>`
    Ip6(Ipv6Addr),
    /// `/ip6zone/<zone>`: the zone of the link-local IPv6 address that follows.
    Ip6zone(Cow<'a, str>),
    /// `/ipcidr/<prefix length>`
    Ipcidr(u8),
    /// `/dns/<name>`: resolve to IPv4 or IPv6.
    Dns(Cow<'a, str>),
    /// `/dns4/<name>`: resolve to IPv4.
    Dns4(Cow<'a, str>),
    /// `/dns6/<name>`: resolve to IPv6.
    Dns6(Cow<'a, str>),
    /// `/dnsaddr/<name>`: look up multiaddrs in TXT records of `_dnsaddr.<name>`.
    Dnsaddr(Cow<'a, str>),
    /// `/tcp/<port>`
    Tcp(u16),
    /// `/udp/<port>`
    Udp(u16),
    /// `/quic`: QUIC draft-29, being phased out.
    Quic,
    /// `/quic-v1`: QUIC version 1 (RFC 9000).
    QuicV1,
    /// `/webtransport`
    WebTransport,
    /// `/certhash/<multibase multihash>`: a certificate's hash, as a multihash.
    Certhash(Cow<'a, [u8]>),
    /// `/webrtc`: browser-to-browser WebRTC.
    WebRTC,
    /// `/webrtc-direct`
    WebRTCDirect,
    /// `/ws`: WebSocket.
    Ws,
    /// `/wss`: WebSocket over TLS (same as `/tls/ws`).
    Wss,
    /// `/tls`
    Tls,
    /// `/sni/<host>`: the server name to send in TLS.
    Sni(Cow<'a, str>),
    /// `/noise`
    Noise,
    /// `/http`
    Http,
    /// `/https`
    Https,
    /// `/http-path/<percent-encoded path>`
    HttpPath(Cow<'a, str>),
    /// `/p2p/<peer id>` (read from `/ipfs/<peer id>` too).
    P2p(PeerId),
    /// `/p2p-circuit`: relayed through the peer before it.
    P2pCircuit,
    /// `/unix/<percent-encoded path>`
    Unix(Cow<'a, str>),
    /// `/memory/<port>`: an in-process transport for tests.
    Memory(u64),
}

fn invalid(protocol: &'static str, value: impl fmt::Display, reason: impl Into<String>) -> Error {
    let mut value = value.to_string();
    if value.len() > 80 {
        let mut end = 80;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
    Error::InvalidValue {
        protocol,
        value,
        reason: reason.into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl<'a> Protocol<'a> {
    /// The multicodec code.
    pub fn code(&self) -> u64 {
        match self {
            Protocol::Ip4(_) => code::IP4,
            Protocol::Ip6(_) => code::IP6,
            Protocol::Ip6zone(_) => code::IP6ZONE,
            Protocol::Ipcidr(_) => code::IPCIDR,
            Protocol::Dns(_) => code::DNS,
            Protocol::Dns4(_) => code::DNS4,
            Protocol::Dns6(_) => code::DNS6,
            Protocol::Dnsaddr(_) => code::DNSADDR,
            Protocol::Tcp(_) => code::TCP,
            Protocol::Udp(_) => code::UDP,
            Protocol::Quic => code::QUIC,
            Protocol::QuicV1 => code::QUIC_V1,
            Protocol::WebTransport => code::WEBTRANSPORT,
            Protocol::Certhash(_) => code::CERTHASH,
            Protocol::WebRTC => code::WEBRTC,
            Protocol::WebRTCDirect => code::WEBRTC_DIRECT,
            Protocol::Ws => code::WS,
            Protocol::Wss => code::WSS,
            Protocol::Tls => code::TLS,
            Protocol::Sni(_) => code::SNI,
            Protocol::Noise => code::NOISE,
            Protocol::Http => code::HTTP,
            Protocol::Https => code::HTTPS,
            Protocol::HttpPath(_) => code::HTTP_PATH,
            Protocol::P2p(_) => code::P2P,
            Protocol::P2pCircuit => code::P2P_CIRCUIT,
            Protocol::Unix(_) => code::UNIX,
            Protocol::Memory(_) => code::MEMORY,
        }
    }

    /// The protocol's name in text form.
    pub fn name(&self) -> &'static str {
        name_of(self.code()).unwrap_or("unknown")
    }

    /// The same component with owned data.
    pub fn into_owned(self) -> Protocol<'static> {
        fn own<T: ToOwned + ?Sized>(value: Cow<'_, T>) -> Cow<'static, T> {
            Cow::Owned(value.into_owned())
        }
        match self {
            Protocol::Ip4(ip) => Protocol::Ip4(ip),
            Protocol::Ip6(ip) => Protocol::Ip6(ip),
            Protocol::Ip6zone(zone) => Protocol::Ip6zone(own(zone)),
            Protocol::Ipcidr(prefix) => Protocol::Ipcidr(prefix),
            Protocol::Dns(name) => Protocol::Dns(own(name)),
            Protocol::Dns4(name) => Protocol::Dns4(own(name)),
            Protocol::Dns6(name) => Protocol::Dns6(own(name)),
            Protocol::Dnsaddr(name) => Protocol::Dnsaddr(own(name)),
            Protocol::Tcp(port) => Protocol::Tcp(port),
            Protocol::Udp(port) => Protocol::Udp(port),
            Protocol::Quic => Protocol::Quic,
            Protocol::QuicV1 => Protocol::QuicV1,
            Protocol::WebTransport => Protocol::WebTransport,
            Protocol::Certhash(hash) => Protocol::Certhash(own(hash)),
            Protocol::WebRTC => Protocol::WebRTC,
            Protocol::WebRTCDirect => Protocol::WebRTCDirect,
            Protocol::Ws => Protocol::Ws,
            Protocol::Wss => Protocol::Wss,
            Protocol::Tls => Protocol::Tls,
            Protocol::Sni(host) => Protocol::Sni(own(host)),
            Protocol::Noise => Protocol::Noise,
            Protocol::Http => Protocol::Http,
            Protocol::Https => Protocol::Https,
            Protocol::HttpPath(path) => Protocol::HttpPath(own(path)),
            Protocol::P2p(peer) => Protocol::P2p(peer),
            Protocol::P2pCircuit => Protocol::P2pCircuit,
            Protocol::Unix(path) => Protocol::Unix(own(path)),
            Protocol::Memory(port) => Protocol::Memory(port),
        }
    }

    /// Reads one component from the front of `bytes`; returns it and the rest.
    pub(crate) fn from_bytes(bytes: &'a [u8]) -> Result<(Protocol<'a>, &'a [u8]), Error> {
        let (code, code_len) = varint::decode(bytes).map_err(Error::Varint)?;
        let name = name_of(code).ok_or(Error::UnknownCode { code })?;
        let rest = &bytes[code_len..];
        let (value, rest) = match layout(code) {
            Layout::None => (&rest[..0], rest),
            Layout::Fixed(len) => {
                if rest.len() < len {
                    return Err(Error::Truncated { protocol: name });
                }
                rest.split_at(len)
            }
            Layout::Variable => {
                let (len, len_len) = varint::decode_usize(rest).map_err(|error| match error {
                    hyphae_encoding::Error::VarintIncomplete => Error::Truncated { protocol: name },
                    other => Error::Varint(other),
                })?;
                let rest = &rest[len_len..];
                if len > rest.len() {
                    return Err(Error::Truncated { protocol: name });
                }
                rest.split_at(len)
            }
        };
        Ok((Protocol::from_value_bytes(code, name, value)?, rest))
    }

    /// Builds a component from its code and binary value (already split off).
    fn from_value_bytes(
        code: u64,
        name: &'static str,
        value: &'a [u8],
    ) -> Result<Protocol<'a>, Error> {
        let text = |value: &'a [u8]| -> Result<Cow<'a, str>, Error> {
            let text =
                std::str::from_utf8(value).map_err(|_| invalid(name, hex(value), "not UTF-8"))?;
            check_text(name, text)?;
            Ok(Cow::Borrowed(text))
        };
        // Fixed lengths were checked by `from_bytes`; these conversions cannot fail then.
        let fixed = |value: &[u8]| -> Result<u64, Error> {
            Ok(value
                .iter()
                .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte)))
        };
        Ok(match code {
            code::IP4 => {
                let octets: [u8; 4] = value
                    .try_into()
                    .map_err(|_| Error::Truncated { protocol: name })?;
                Protocol::Ip4(Ipv4Addr::from(octets))
            }
            code::IP6 => {
                let octets: [u8; 16] = value
                    .try_into()
                    .map_err(|_| Error::Truncated { protocol: name })?;
                Protocol::Ip6(Ipv6Addr::from(octets))
            }
            code::TCP => Protocol::Tcp(fixed(value)? as u16),
            code::UDP => Protocol::Udp(fixed(value)? as u16),
            code::IPCIDR => Protocol::Ipcidr(fixed(value)? as u8),
            code::MEMORY => Protocol::Memory(fixed(value)?),
            code::IP6ZONE => Protocol::Ip6zone(text(value)?),
            code::DNS => Protocol::Dns(text(value)?),
            code::DNS4 => Protocol::Dns4(text(value)?),
            code::DNS6 => Protocol::Dns6(text(value)?),
            code::DNSADDR => Protocol::Dnsaddr(text(value)?),
            code::SNI => Protocol::Sni(text(value)?),
            code::UNIX => Protocol::Unix(text(value)?),
            code::HTTP_PATH => Protocol::HttpPath(text(value)?),
            code::CERTHASH => {
                check_certhash(value, || hex(value))?;
                Protocol::Certhash(Cow::Borrowed(value))
            }
            code::P2P => Protocol::P2p(
                PeerId::from_bytes(value)
                    .map_err(|error| invalid(name, hex(value), error.to_string()))?,
            ),
            code::QUIC => Protocol::Quic,
            code::QUIC_V1 => Protocol::QuicV1,
            code::WEBTRANSPORT => Protocol::WebTransport,
            code::WEBRTC => Protocol::WebRTC,
            code::WEBRTC_DIRECT => Protocol::WebRTCDirect,
            code::WS => Protocol::Ws,
            code::WSS => Protocol::Wss,
            code::TLS => Protocol::Tls,
            code::NOISE => Protocol::Noise,
            code::HTTP => Protocol::Http,
            code::HTTPS => Protocol::Https,
            code::P2P_CIRCUIT => Protocol::P2pCircuit,
            other => return Err(Error::UnknownCode { code: other }),
        })
    }

    /// Reads one component from text: `name` and, if the protocol takes one, the next
    /// segment as its value.
    pub(crate) fn from_text<'s>(
        name: &'s str,
        segments: &mut impl Iterator<Item = &'s str>,
    ) -> Result<Protocol<'static>, Error> {
        let code = code_of(name).ok_or_else(|| Error::UnknownProtocol {
            name: name.chars().take(64).collect(),
        })?;
        let name = name_of(code).unwrap_or("unknown");
        if let Layout::None = layout(code) {
            return Protocol::from_value_bytes(code, name, &[]).map(Protocol::into_owned);
        }
        let value = segments
            .next()
            .filter(|value| !value.is_empty())
            .ok_or(Error::MissingValue { protocol: name })?;
        // Bounded before decoding: base58 and base36 decoding is quadratic in the length.
        if value.len() > MAX_TEXT_VALUE_LEN {
            return Err(invalid(
                name,
                value,
                format!("longer than {MAX_TEXT_VALUE_LEN} characters"),
            ));
        }
        let owned = |text: String| -> Result<Cow<'static, str>, Error> {
            check_text(name, &text)?;
            Ok(Cow::Owned(text))
        };
        let port = |value: &str| -> Result<u16, Error> {
            value
                .parse()
                .map_err(|_| invalid(name, value, "not a port number (0 to 65535)"))
        };
        Ok(match code {
            code::IP4 => Protocol::Ip4(
                value
                    .parse()
                    .map_err(|_| invalid(name, value, "not an IPv4 address"))?,
            ),
            code::IP6 => Protocol::Ip6(
                value
                    .parse()
                    .map_err(|_| invalid(name, value, "not an IPv6 address"))?,
            ),
            code::TCP => Protocol::Tcp(port(value)?),
            code::UDP => Protocol::Udp(port(value)?),
            code::IPCIDR => Protocol::Ipcidr(
                value
                    .parse()
                    .map_err(|_| invalid(name, value, "not a prefix length (0 to 255)"))?,
            ),
            code::MEMORY => Protocol::Memory(
                value
                    .parse()
                    .map_err(|_| invalid(name, value, "not an unsigned 64-bit number"))?,
            ),
            code::IP6ZONE => Protocol::Ip6zone(owned(value.to_owned())?),
            code::DNS => Protocol::Dns(owned(value.to_owned())?),
            code::DNS4 => Protocol::Dns4(owned(value.to_owned())?),
            code::DNS6 => Protocol::Dns6(owned(value.to_owned())?),
            code::DNSADDR => Protocol::Dnsaddr(owned(value.to_owned())?),
            code::SNI => Protocol::Sni(owned(value.to_owned())?),
            code::UNIX => Protocol::Unix(owned(
                percent::decode(value).map_err(|reason| invalid(name, value, reason))?,
            )?),
            code::HTTP_PATH => Protocol::HttpPath(owned(
                percent::decode(value).map_err(|reason| invalid(name, value, reason))?,
            )?),
            code::CERTHASH => {
                let (_, bytes) = multibase::decode(value)
                    .map_err(|error| invalid(name, value, error.to_string()))?;
                check_certhash(&bytes, || value.to_owned())?;
                Protocol::Certhash(Cow::Owned(bytes))
            }
            code::P2P => {
                Protocol::P2p(value.parse().map_err(|error: hyphae_identity::Error| {
                    invalid(name, value, error.to_string())
                })?)
            }
            other => return Err(Error::UnknownCode { code: other }),
        })
    }

    /// Appends the binary form.
    pub(crate) fn write_bytes(&self, out: &mut Vec<u8>) {
        varint::encode_to_vec(self.code(), out);
        let variable = |value: &[u8], out: &mut Vec<u8>| {
            varint::encode_to_vec(value.len() as u64, out);
            out.extend_from_slice(value);
        };
        match self {
            Protocol::Ip4(ip) => out.extend_from_slice(&ip.octets()),
            Protocol::Ip6(ip) => out.extend_from_slice(&ip.octets()),
            Protocol::Tcp(port) | Protocol::Udp(port) => out.extend_from_slice(&port.to_be_bytes()),
            Protocol::Ipcidr(prefix) => out.push(*prefix),
            Protocol::Memory(port) => out.extend_from_slice(&port.to_be_bytes()),
            Protocol::Ip6zone(text)
            | Protocol::Dns(text)
            | Protocol::Dns4(text)
            | Protocol::Dns6(text)
            | Protocol::Dnsaddr(text)
            | Protocol::Sni(text)
            | Protocol::Unix(text)
            | Protocol::HttpPath(text) => variable(text.as_bytes(), out),
            Protocol::Certhash(hash) => variable(hash, out),
            Protocol::P2p(peer) => variable(peer.as_bytes(), out),
            Protocol::Quic
            | Protocol::QuicV1
            | Protocol::WebTransport
            | Protocol::WebRTC
            | Protocol::WebRTCDirect
            | Protocol::Ws
            | Protocol::Wss
            | Protocol::Tls
            | Protocol::Noise
            | Protocol::Http
            | Protocol::Https
            | Protocol::P2pCircuit => {}
        }
    }

    /// Checks a value built in code (not parsed) before it goes into a multiaddr.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        match self {
            Protocol::Ip6zone(text)
            | Protocol::Dns(text)
            | Protocol::Dns4(text)
            | Protocol::Dns6(text)
            | Protocol::Dnsaddr(text)
            | Protocol::Sni(text)
            | Protocol::Unix(text)
            | Protocol::HttpPath(text) => check_text(self.name(), text),
            Protocol::Certhash(hash) => check_certhash(hash, || hex(hash)),
            _ => Ok(()),
        }
    }
}

/// Text values must be non-empty and bounded; names and zones cannot contain `/` (paths
/// are percent-encoded in text, so they may).
fn check_text(protocol: &'static str, text: &str) -> Result<(), Error> {
    if text.is_empty() {
        return Err(Error::MissingValue { protocol });
    }
    if text.len() > MAX_VALUE_LEN {
        return Err(invalid(
            protocol,
            text,
            format!("longer than {MAX_VALUE_LEN} bytes"),
        ));
    }
    let is_path = matches!(protocol, "unix" | "http-path");
    if !is_path && text.contains('/') {
        return Err(invalid(protocol, text, "contains '/'"));
    }
    Ok(())
}

/// A certificate hash must be a well-formed multihash of bounded size; `shown` renders the
/// value for the error.
fn check_certhash(hash: &[u8], shown: impl FnOnce() -> String) -> Result<(), Error> {
    if hash.len() > MAX_VALUE_LEN {
        return Err(invalid(
            "certhash",
            shown(),
            format!("longer than {MAX_VALUE_LEN} bytes"),
        ));
    }
    multihash::split(hash)
        .map(|_| ())
        .map_err(|error| invalid("certhash", shown(), error.to_string()))
}

impl fmt::Display for Protocol<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.name())?;
        match self {
            Protocol::Ip4(ip) => write!(f, "/{ip}"),
            Protocol::Ip6(ip) => write!(f, "/{ip}"),
            Protocol::Tcp(port) | Protocol::Udp(port) => write!(f, "/{port}"),
            Protocol::Ipcidr(prefix) => write!(f, "/{prefix}"),
            Protocol::Memory(port) => write!(f, "/{port}"),
            Protocol::Ip6zone(text)
            | Protocol::Dns(text)
            | Protocol::Dns4(text)
            | Protocol::Dns6(text)
            | Protocol::Dnsaddr(text)
            | Protocol::Sni(text) => write!(f, "/{text}"),
            Protocol::Unix(path) | Protocol::HttpPath(path) => {
                write!(f, "/{}", percent::encode(path))
            }
            Protocol::Certhash(hash) => write!(f, "/{}", multibase::encode(Base::Base64Url, hash)),
            Protocol::P2p(peer) => write!(f, "/{peer}"),
            _ => Ok(()),
        }
    }
}
