//! serde types as CBOR, framed as rust-libp2p's `request_response::cbor` codec frames them.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::BoxError;
use crate::serde_codec::{Format, SerdeCodec};

/// Requests and responses as CBOR (`cbor4ii`, as rust-libp2p uses), each the whole content
/// of its direction of the stream (see [`SerdeCodec`]).
///
/// That is the wire format of rust-libp2p's `request_response::cbor` codec, so a service
/// with this codec and the same protocol id exchanges requests with a rust-libp2p
/// `cbor::Behaviour<Req, Resp>` in both directions.
///
/// ```
/// use hyphae_request_response::Cbor;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Greet { name: String }
///
/// let codec = Cbor::<Greet, String>::new();
/// # let _ = codec;
/// ```
pub type Cbor<Req, Resp> = SerdeCodec<CborFormat, Req, Resp>;

/// CBOR, for [`Cbor`].
#[derive(Debug, Clone, Copy, Default)]
pub struct CborFormat;

impl Format for CborFormat {
    const NAME: &'static str = "Cbor";

    fn encode<M: Serialize>(value: &M) -> Result<Vec<u8>, BoxError> {
        Ok(cbor4ii::serde::to_vec(Vec::new(), value)?)
    }

    fn decode<M: DeserializeOwned>(bytes: &[u8]) -> Result<M, BoxError> {
        Ok(cbor4ii::serde::from_slice(bytes)?)
    }
}
