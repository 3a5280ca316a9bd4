//! DNS responses to the TXT queries `/dnsaddr` resolution sends.

use hyphae_dns::fuzzing::decode_txt_response;

/// The name every seed's question asks about.
pub const DNS_NAME: &str = "_dnsaddr.bootstrap.libp2p.io";

/// A response to the TXT query for [`DNS_NAME`], whose id is taken from the message itself
/// so that the decoder gets past the id check. Records never hold more text than the
/// message has bytes.
pub fn dns_response(data: &[u8]) {
    let Some(&[high, low]) = data.first_chunk::<2>() else {
        return;
    };
    let id = u16::from_be_bytes([high, low]);
    if let Ok(Some(records)) = decode_txt_response(DNS_NAME, id, data) {
        let text: usize = records.iter().map(String::len).sum();
        // U+FFFD (3 bytes) replaces each invalid byte at most.
        assert!(text <= 3 * data.len());
    }
}
