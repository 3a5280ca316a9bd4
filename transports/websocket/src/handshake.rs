//! RFC 6455 section 4: the HTTP/1.1 Upgrade exchange that opens a WebSocket, as bounded
//! parsers and writers over byte slices (no I/O).
//!
//! The client sends `GET <path> HTTP/1.1` with `Upgrade: websocket`, `Connection: Upgrade`,
//! `Sec-WebSocket-Version: 13` and a random 16-byte `Sec-WebSocket-Key`; the server answers
//! `101 Switching Protocols` with `Sec-WebSocket-Accept` =
//! base64(SHA-1(key ‖ "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")). No extensions or
//! subprotocols are offered or accepted: libp2p runs its own protocols over binary messages.
//!
//! Deliberate leniency: a request without `Host` is accepted (the RFC says to refuse it, but
//! nothing here depends on it).

use hyphae_encoding::multibase::Base;
use sha1::{Digest, Sha1};

use crate::HandshakeError;

/// The GUID RFC 6455 section 1.3 appends to the key before hashing.
pub const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only WebSocket version (RFC 6455 section 4.1).
pub const VERSION: &str = "13";

/// The most header lines a request or response may carry.
pub const MAX_HEADERS: usize = 64;

/// A client's upgrade request, as the server reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The request target (`/` unless the client dialled an `/http-path`).
    pub path: String,
    /// The `Host` header, if sent.
    pub host: Option<String>,
    /// The `Sec-WebSocket-Key` header, as sent (base64 of 16 bytes).
    pub key: String,
}

/// Makes a `Sec-WebSocket-Key` from 16 random bytes.
pub fn make_key(random: [u8; 16]) -> String {
    Base::Base64Pad.encode(&random)
}

/// The `Sec-WebSocket-Accept` value that answers `key`.
pub fn accept_key(key: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(key.as_bytes());
    hasher.update(ACCEPT_GUID.as_bytes());
    Base::Base64Pad.encode(&hasher.finalize())
}

/// The client's upgrade request for `path` on `host` (`name:port`, IPv6 in brackets).
pub fn write_request(host: &str, path: &str, key: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {VERSION}\r\n\r\n"
    )
    .into_bytes()
}

/// The server's `101` answer to a request carrying `key`.
pub fn write_response(key: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    )
    .into_bytes()
}

/// The answer that refuses a request that failed with `error`: `426` with the version we
/// speak for a version mismatch, else `400`.
pub fn write_rejection(error: &HandshakeError) -> Vec<u8> {
    let (status, extra) = match error {
        HandshakeError::UnsupportedVersion(_) => (
            "426 Upgrade Required",
            format!("Sec-WebSocket-Version: {VERSION}\r\n"),
        ),
        HandshakeError::NotGet(_) => ("405 Method Not Allowed", "Allow: GET\r\n".to_owned()),
        _ => ("400 Bad Request", String::new()),
    };
    format!("HTTP/1.1 {status}\r\n{extra}Connection: close\r\nContent-Length: 0\r\n\r\n")
        .into_bytes()
}

/// Reads an upgrade request from the front of `input`.
///
/// Returns `Ok(None)` while the head is incomplete and shorter than `max_len`; otherwise the
/// request and the length of its head (bytes after it are WebSocket frames).
pub fn parse_request(
    input: &[u8],
    max_len: usize,
) -> Result<Option<(Request, usize)>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let Some(len) = complete(request.parse(input), input.len(), max_len)? else {
        return Ok(None);
    };
    let method = request.method.unwrap_or_default();
    if method != "GET" {
        return Err(HandshakeError::NotGet(method.to_owned()));
    }
    check_version(request.version)?;
    let headers = &*request.headers;
    require_token(headers, "Upgrade", "websocket")?;
    require_token(headers, "Connection", "upgrade")?;
    let version = required(headers, "Sec-WebSocket-Version")?;
    if version.trim_ascii() != VERSION.as_bytes() {
        return Err(HandshakeError::UnsupportedVersion(lossy(version)));
    }
    let key = required(headers, "Sec-WebSocket-Key")?;
    let key = std::str::from_utf8(key).unwrap_or("").trim();
    let decodes_to_16 = Base::Base64Pad
        .decode(key)
        .is_ok_and(|bytes| bytes.len() == 16);
    if !decodes_to_16 {
        return Err(HandshakeError::BadHeader {
            name: "Sec-WebSocket-Key",
            value: key.to_owned(),
        });
    }
    Ok(Some((
        Request {
            path: request.path.unwrap_or("/").to_owned(),
            host: find(headers, "Host").map(lossy),
            key: key.to_owned(),
        },
        len,
    )))
}

/// Reads the server's answer to a request that carried `key` from the front of `input`.
///
/// Returns `Ok(None)` while the head is incomplete and shorter than `max_len`; otherwise the
/// length of the head (bytes after it are WebSocket frames).
pub fn parse_response(
    input: &[u8],
    key: &str,
    max_len: usize,
) -> Result<Option<usize>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let Some(len) = complete(response.parse(input), input.len(), max_len)? else {
        return Ok(None);
    };
    check_version(response.version)?;
    let code = response.code.unwrap_or_default();
    if code != 101 {
        return Err(HandshakeError::Status {
            code,
            reason: response.reason.unwrap_or_default().to_owned(),
        });
    }
    let headers = &*response.headers;
    require_token(headers, "Upgrade", "websocket")?;
    require_token(headers, "Connection", "upgrade")?;
    let accept = required(headers, "Sec-WebSocket-Accept")?;
    if accept.trim_ascii() != accept_key(key).as_bytes() {
        return Err(HandshakeError::AcceptMismatch);
    }
    if find(headers, "Sec-WebSocket-Extensions").is_some() {
        return Err(HandshakeError::UnrequestedSelection("an extension"));
    }
    if find(headers, "Sec-WebSocket-Protocol").is_some() {
        return Err(HandshakeError::UnrequestedSelection("a subprotocol"));
    }
    Ok(Some(len))
}

/// Turns an httparse result into the head length, `None` for "need more", or an error.
fn complete(
    result: httparse::Result<usize>,
    available: usize,
    max_len: usize,
) -> Result<Option<usize>, HandshakeError> {
    match result {
        Ok(httparse::Status::Complete(len)) if len <= max_len => Ok(Some(len)),
        Ok(httparse::Status::Complete(_)) => Err(HandshakeError::HeadTooLarge { limit: max_len }),
        Ok(httparse::Status::Partial) if available >= max_len => {
            Err(HandshakeError::HeadTooLarge { limit: max_len })
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            Err(HandshakeError::TooManyHeaders { limit: MAX_HEADERS })
        }
        Err(error) => Err(HandshakeError::Malformed(error.to_string())),
    }
}

fn check_version(version: Option<u8>) -> Result<(), HandshakeError> {
    match version {
        Some(minor) if minor >= 1 => Ok(()),
        other => Err(HandshakeError::HttpVersion(other.unwrap_or_default())),
    }
}

fn find<'h>(headers: &'h [httparse::Header<'_>], name: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|header| header.name.eq_ignore_ascii_case(name))
        .map(|header| header.value)
}

fn required<'h>(
    headers: &'h [httparse::Header<'_>],
    name: &'static str,
) -> Result<&'h [u8], HandshakeError> {
    find(headers, name).ok_or(HandshakeError::MissingHeader(name))
}

/// Requires `name` to list `token` among its comma-separated values (case-insensitive), as
/// `Connection: keep-alive, Upgrade` does for browsers. Repeated headers are all searched.
fn require_token(
    headers: &[httparse::Header<'_>],
    name: &'static str,
    token: &str,
) -> Result<(), HandshakeError> {
    let mut values = headers
        .iter()
        .filter(|header| header.name.eq_ignore_ascii_case(name))
        .peekable();
    let Some(first) = values.peek().map(|header| header.value) else {
        return Err(HandshakeError::MissingHeader(name));
    };
    let found = values.any(|header| {
        header
            .value
            .split(|byte| *byte == b',')
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    });
    if found {
        Ok(())
    } else {
        Err(HandshakeError::BadHeader {
            name,
            value: lossy(first),
        })
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 8192;

    #[test]
    fn computes_the_rfc_accept_key() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(make_key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn request_and_response_round_trip() {
        let key = make_key([7; 16]);
        let mut request = write_request("example.com:443", "/chat", &key);
        request.extend_from_slice(b"\x82\x80");
        let (parsed, len) = parse_request(&request, LIMIT).unwrap().unwrap();
        assert_eq!(len, request.len() - 2);
        assert_eq!(
            parsed,
            Request {
                path: "/chat".into(),
                host: Some("example.com:443".into()),
                key: key.clone()
            }
        );
        let response = write_response(&parsed.key);
        assert_eq!(
            parse_response(&response, &key, LIMIT),
            Ok(Some(response.len()))
        );
        for end in 0..response.len() {
            assert_eq!(parse_response(&response[..end], &key, LIMIT), Ok(None));
        }
        assert_eq!(
            parse_response(&response, &make_key([8; 16]), LIMIT),
            Err(HandshakeError::AcceptMismatch)
        );
    }

    #[test]
    fn accepts_browser_style_requests() {
        let request = b"GET / HTTP/1.1\r\nhost: a\r\nconnection: keep-alive, Upgrade\r\n\
            upgrade: WebSocket\r\nsec-websocket-version: 13\r\n\
            sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
        assert!(parse_request(request, LIMIT).unwrap().is_some());
    }

    #[test]
    fn names_what_is_wrong_with_a_request() {
        let base = |extra: &str, key: &str, version: &str| {
            format!(
                "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Version: {version}\r\nSec-WebSocket-Key: {key}\r\n{extra}\r\n"
            )
        };
        let good_key = "dGhlIHNhbXBsZSBub25jZQ==";
        assert_eq!(
            parse_request(base("", "c2hvcnQ=", "13").as_bytes(), LIMIT),
            Err(HandshakeError::BadHeader {
                name: "Sec-WebSocket-Key",
                value: "c2hvcnQ=".into()
            })
        );
        assert_eq!(
            parse_request(base("", good_key, "8").as_bytes(), LIMIT),
            Err(HandshakeError::UnsupportedVersion("8".into()))
        );
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", LIMIT),
            Err(HandshakeError::MissingHeader("Upgrade"))
        );
        assert_eq!(
            parse_request(b"POST / HTTP/1.1\r\n\r\n", LIMIT),
            Err(HandshakeError::NotGet("POST".into()))
        );
        assert!(matches!(
            parse_request(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", LIMIT),
            Err(HandshakeError::Malformed(_))
        ));
        assert_eq!(
            parse_request(&[b'G'; 100], 64),
            Err(HandshakeError::HeadTooLarge { limit: 64 })
        );
    }

    #[test]
    fn reports_a_refusing_status() {
        let response = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            parse_response(response, "k", LIMIT),
            Err(HandshakeError::Status {
                code: 404,
                reason: "Not Found".into()
            })
        );
        let rejection = write_rejection(&HandshakeError::UnsupportedVersion("8".into()));
        assert!(
            String::from_utf8(rejection)
                .unwrap()
                .starts_with("HTTP/1.1 426")
        );
    }
}
