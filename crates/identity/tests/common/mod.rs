//! Helpers shared by the identity tests.

#![allow(dead_code)]

use hyphae_identity::KeyType;

/// Decodes lower- or upper-case hex.
pub(crate) fn hex(text: &str) -> Vec<u8> {
    let text = text.trim();
    assert!(text.len().is_multiple_of(2), "odd-length hex");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Encodes bytes as lower-case hex.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A test vector from the "Test vectors" table of libp2p/specs peer-ids/peer-ids.md.
pub(crate) fn vector(key_type: KeyType, kind: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/vectors/{}_{kind}.hex",
        env!("CARGO_MANIFEST_DIR"),
        key_type.name()
    );
    hex(&std::fs::read_to_string(&path).expect("vector file"))
}
