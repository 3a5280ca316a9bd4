//! Percent-encoding of one path segment, for `/unix` and `/http-path` values.

/// Escapes every byte that is not an unreserved URI character (RFC 3986 §2.3).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; the result must be UTF-8.
pub(crate) fn decode(text: &str) -> Result<String, &'static str> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = bytes
                .get(index + 1..index + 3)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or("a % is not followed by two hex digits")?;
            out.push(hex);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "decodes to bytes that are not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_paths() {
        assert_eq!(encode("/tmp/p2p.sock"), "%2Ftmp%2Fp2p.sock");
        assert_eq!(decode("%2Ftmp%2fp2p.sock").unwrap(), "/tmp/p2p.sock");
        assert!(decode("%2").is_err());
        assert!(decode("%zz").is_err());
        assert!(decode("%ff").is_err());
    }
}
