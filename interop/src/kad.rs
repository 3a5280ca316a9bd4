//! The line contract of the Kademlia peer programs, `rust-libp2p-kad` and `js/kad-peer.mjs`:
//! what they share, spelled once for the Rust side (the js script repeats it; keep them equal).
//!
//! # Starting
//!
//! `<program> [--listen <multiaddr>] [--bootstrap <multiaddr>/p2p/<id>]... [--mode server|client]`
//!
//! The listen address defaults to `/ip4/127.0.0.1/tcp/0`, the mode to `server`. The program
//! runs TCP + Noise + Yamux with an ed25519 identity, identify, ping and Kademlia on
//! [`PROTOCOL`]. Records of the `example` namespace (keys `/example/...`) are accepted as they
//! are and the first of several is selected. It prints `LISTEN <multiaddr>/p2p/<id>` for its
//! (first) listen address, connects to each bootstrap peer, adds it to its routing table, runs
//! a self-lookup, then prints `READY`.
//!
//! # Commands
//!
//! One per stdin line, each run to completion (at most [`COMMAND_TIMEOUT`]) before the next:
//!
//! | command | answer |
//! | --- | --- |
//! | `provide <key>` | `PROVIDED <hex of the wire key>` or `ERROR <text>` |
//! | `find-providers <key>` | `PROVIDER <id>` per provider found, then `END <hex of the wire key>` (or `ERROR <text>`) |
//! | `put <key> <value>` | `PUT` or `ERROR <text>` (the value is the rest of the line) |
//! | `get <key>` | `VALUE <value, UTF-8>` or `NOTFOUND` |
//! | `find-peer <id>` | `PEER <id> <multiaddr>...` or `NOTFOUND` |
//! | `closest <key>` | `CLOSEST <id> <id>...` |
//! | `table` | `TABLE <id> <id>...` (routing table) |
//!
//! `PUT` means at least one other peer echoed the record back (rust-libp2p's `Quorum::One`);
//! `PROVIDED` only that the record was sent to the closest peers found, none of which answers
//! an `ADD_PROVIDER`. `PEER` gives addresses without `/p2p/<id>`. A malformed command answers
//! `ERROR <text>`; closing stdin makes the program exit with 0.
//! A timed-out command answers as if the query had ended: `ERROR` for `provide` and `put`,
//! `NOTFOUND` for `get` and `find-peer`, what was found so far for the others.
//!
//! # Keys and the bytes on the wire
//!
//! A `<key>` is UTF-8 text, or `hex:<hex digits>` for arbitrary bytes (see [`parse_key`]).
//! For `put`, `get` and `closest`, both programs send the key's bytes as the DHT key.
//! For `provide` and `find-providers` they differ, because js-libp2p only provides CIDs:
//!
//! - rust-libp2p sends the key's bytes as they are (`RecordKey::new(&bytes)`);
//! - js-libp2p sends the multihash of a CID: for a text key, the sha2-256 multihash of its
//!   UTF-8 bytes, [`SHA256_MULTIHASH_PREFIX`] followed by the 32-byte digest (the CID is
//!   CIDv1, raw codec, around that multihash); for a `hex:` key, the bytes themselves, which
//!   must then be a multihash.
//!
//! Both print the hex of the key they sent (`PROVIDED <hex>`, `END <hex>`), so a peer can
//! look up what another published with `hex:<that hex>`. js-libp2p's own handlers answer
//! `ADD_PROVIDER` and `GET_PROVIDERS` only for keys that decode as a CID, which in practice
//! means a sha2-256 multihash (a CIDv0): a provider key that is not one reaches no js peer.

use std::time::Duration;

/// The Kademlia protocol both programs speak (in server mode, they also serve it).
pub const PROTOCOL: &str = "/ipfs/kad/1.0.0";

/// How long one command may run before it is answered as timed out.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The prefix of a key given as raw bytes in hex.
pub const HEX_KEY_PREFIX: &str = "hex:";

/// The two bytes before the digest in a sha2-256 multihash: the code `0x12` and the length 32.
pub const SHA256_MULTIHASH_PREFIX: [u8; 2] = [0x12, 0x20];

/// The bytes of a command's `<key>`: `hex:` followed by an even number of hex digits (either
/// case) gives those bytes; anything else is taken as UTF-8 text.
///
/// ```
/// use hyphae_interop::kad::parse_key;
/// assert_eq!(parse_key("/example/a").unwrap(), b"/example/a");
/// assert_eq!(parse_key("hex:00ff").unwrap(), [0x00, 0xff]);
/// assert!(parse_key("hex:0").is_err());
/// ```
pub fn parse_key(key: &str) -> Result<Vec<u8>, KeyError> {
    let Some(digits) = key.strip_prefix(HEX_KEY_PREFIX) else {
        return Ok(key.as_bytes().to_vec());
    };
    if digits.is_empty() || digits.len() % 2 != 0 || !digits.bytes().all(|c| c.is_ascii_hexdigit())
    {
        return Err(KeyError);
    }
    // Only ASCII hex digits remain, so every pair is a valid str and a valid byte.
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).map_err(|_| KeyError)?;
            u8::from_str_radix(text, 16).map_err(|_| KeyError)
        })
        .collect()
}

/// `bytes` in lower-case hex, as the programs print wire keys.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A `hex:` key that is not a non-empty, even number of hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyError;

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a hex: key needs a non-empty, even number of hex digits")
    }
}

impl std::error::Error for KeyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keys_are_their_utf8_bytes() {
        assert_eq!(parse_key("/example/ä").unwrap(), "/example/ä".as_bytes());
        assert_eq!(parse_key("hexagon").unwrap(), b"hexagon");
    }

    #[test]
    fn hex_keys_round_trip() {
        let bytes = parse_key("hex:1220ABcd").unwrap();
        assert_eq!(bytes, [0x12, 0x20, 0xab, 0xcd]);
        assert_eq!(to_hex(&bytes), "1220abcd");
    }

    #[test]
    fn rejects_malformed_hex_keys() {
        for key in ["hex:", "hex:abc", "hex:zz", "hex:+1"] {
            assert_eq!(parse_key(key), Err(KeyError), "{key}");
        }
    }
}
