//! serde types as CBOR, framed as rust-libp2p's `request_response::cbor` codec frames them.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::{Codec, Error, Message, framing};

/// Requests and responses as CBOR (`cbor4ii`, as rust-libp2p uses), each the whole content of its direction
/// of the stream: the writer closes its side after the message, the reader reads to the
/// end (see [`framing`]).
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
pub struct Cbor<Req, Resp> {
    // `fn() -> ..`: the codec holds no message, so it is Send, Sync and Clone regardless.
    _messages: PhantomData<fn() -> (Req, Resp)>,
}

impl<Req, Resp> Cbor<Req, Resp> {
    /// The codec.
    pub const fn new() -> Cbor<Req, Resp> {
        Cbor {
            _messages: PhantomData,
        }
    }
}

impl<Req, Resp> Default for Cbor<Req, Resp> {
    fn default() -> Cbor<Req, Resp> {
        Cbor::new()
    }
}

impl<Req, Resp> Clone for Cbor<Req, Resp> {
    fn clone(&self) -> Cbor<Req, Resp> {
        Cbor::new()
    }
}

impl<Req, Resp> fmt::Debug for Cbor<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cbor")
    }
}

impl<Req, Resp> Codec for Cbor<Req, Resp>
where
    Req: Serialize + DeserializeOwned + Send + 'static,
    Resp: Serialize + DeserializeOwned + Send + 'static,
{
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&self, io: &mut T, max_size: usize) -> Result<Req, Error>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = framing::read_to_end(io, Message::Request, max_size).await?;
        decode(Message::Request, &bytes)
    }

    async fn read_response<T>(&self, io: &mut T, max_size: usize) -> Result<Resp, Error>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = framing::read_to_end(io, Message::Response, max_size).await?;
        decode(Message::Response, &bytes)
    }

    async fn write_request<T>(&self, io: &mut T, request: Req, max_size: usize) -> Result<(), Error>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode(Message::Request, &request)?;
        framing::write_to_end(io, Message::Request, &bytes, max_size).await
    }

    async fn write_response<T>(
        &self,
        io: &mut T,
        response: Resp,
        max_size: usize,
    ) -> Result<(), Error>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = encode(Message::Response, &response)?;
        framing::write_to_end(io, Message::Response, &bytes, max_size).await
    }
}

fn encode<M: Serialize>(message: Message, value: &M) -> Result<Vec<u8>, Error> {
    cbor4ii::serde::to_vec(Vec::new(), value).map_err(|error| Error::encode(message, error))
}

fn decode<M: DeserializeOwned>(message: Message, bytes: &[u8]) -> Result<M, Error> {
    cbor4ii::serde::from_slice(bytes).map_err(|error| Error::decode(message, error))
}
