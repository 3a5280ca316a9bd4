//! serde for [`Multiaddr`]: text in human-readable formats, the binary form otherwise.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Multiaddr;

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
            let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
            text.parse().map_err(D::Error::custom)
        } else {
            let bytes = <std::borrow::Cow<'de, [u8]>>::deserialize(deserializer)?;
            Multiaddr::try_from(bytes.as_ref()).map_err(D::Error::custom)
        }
    }
}
