//! Varints and the varint-length-prefixed frames every libp2p protocol reads first.

use hyphae_core::frame as framing;
use hyphae_encoding::varint as uvarint;

/// The largest frame the target accepts: small, so that a fuzzer finds the limit.
const MAX_FRAME: usize = 1024;

/// An unsigned varint: a decoded value re-encodes to exactly the bytes it was read from
/// (only minimal encodings are accepted).
pub fn varint(data: &[u8]) {
    let Ok((value, len)) = uvarint::decode(data) else {
        return;
    };
    let mut buf = [0; uvarint::MAX_LEN];
    assert_eq!(uvarint::encode(value, &mut buf), &data[..len]);
    assert_eq!(uvarint::encoded_len(value), len);
}

/// A length-prefixed frame: a decoded frame re-encodes to the bytes it took, and never
/// exceeds the limit.
pub fn frame(data: &[u8]) {
    let Ok(Some((payload, consumed))) = framing::decode(data, MAX_FRAME) else {
        return;
    };
    assert!(payload.len() <= MAX_FRAME);
    let mut encoded = Vec::new();
    framing::encode(payload, &mut encoded);
    assert_eq!(encoded, &data[..consumed]);
}
