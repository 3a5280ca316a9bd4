//! serde for [`Multiaddr`]: the text form in human-readable formats (JSON, TOML, YAML), the
//! binary form otherwise (bincode, CBOR, ...).

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Multiaddr;
use crate::table::MAX_VALUE_LEN;

impl Serialize for Multiaddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_bytes(self.as_bytes())
        }
    }
}

impl<'de> Deserialize<'de> for Multiaddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Multiaddr, D::Error> {
        if deserializer.is_human_readable() {
            deserializer.deserialize_str(MultiaddrVisitor)
        } else {
            deserializer.deserialize_bytes(MultiaddrVisitor)
        }
    }
}

/// Accepts text, bytes, or a sequence of bytes (how some formats write `serialize_bytes`).
struct MultiaddrVisitor;

impl<'de> Visitor<'de> for MultiaddrVisitor {
    type Value = Multiaddr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a multiaddr as text or bytes")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Multiaddr, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Multiaddr, E> {
        Multiaddr::try_from(bytes).map_err(E::custom)
    }

    fn visit_byte_buf<E: de::Error>(self, bytes: Vec<u8>) -> Result<Multiaddr, E> {
        Multiaddr::try_from(bytes).map_err(E::custom)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Multiaddr, A::Error> {
        // The size hint comes from the input: trust it only up to a bound.
        let hint = seq.size_hint().unwrap_or(0).min(MAX_VALUE_LEN);
        let mut bytes = Vec::with_capacity(hint);
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Multiaddr::try_from(bytes).map_err(de::Error::custom)
    }
}
