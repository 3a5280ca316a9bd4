//! serde types as JSON, framed as rust-libp2p's `request_response::json` codec frames them.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::BoxError;
use crate::serde_codec::{Format, SerdeCodec};

/// Requests and responses as JSON (`serde_json`), each the whole content of its direction
/// of the stream (see [`SerdeCodec`]).
///
/// That is the wire format of rust-libp2p's `request_response::json` codec, so a service
/// with this codec and the same protocol id exchanges requests with a rust-libp2p
/// `json::Behaviour<Req, Resp>` in both directions.
///
/// ```
/// use hyphae_request_response::Json;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Greet { name: String }
///
/// let codec = Json::<Greet, String>::new();
/// # let _ = codec;
/// ```
pub type Json<Req, Resp> = SerdeCodec<JsonFormat, Req, Resp>;

/// JSON, for [`Json`].
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonFormat;

impl Format for JsonFormat {
    const NAME: &'static str = "Json";

    fn encode<M: Serialize>(value: &M) -> Result<Vec<u8>, BoxError> {
        Ok(serde_json::to_vec(value)?)
    }

    fn decode<M: DeserializeOwned>(bytes: &[u8]) -> Result<M, BoxError> {
        Ok(serde_json::from_slice(bytes)?)
    }
}
