//! serde types, each message the whole content of its direction of the stream: the framing
//! of rust-libp2p's `request_response::json` and `request_response::cbor` codecs, whatever
//! the encoding.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::{BoxError, Codec, Error, Message, framing};

/// An encoding of serde types (JSON, CBOR) for [`SerdeCodec`].
pub trait Format: Send + Sync + 'static {
    /// The format's name, for `Debug`.
    const NAME: &'static str;

    /// Encodes `value`.
    fn encode<M: Serialize>(value: &M) -> Result<Vec<u8>, BoxError>;

    /// Decodes a whole message.
    fn decode<M: DeserializeOwned>(bytes: &[u8]) -> Result<M, BoxError>;
}

/// Requests and responses as serde types encoded with `F`, each the whole content of its
/// direction of the stream: the writer closes its side after the message, the reader reads
/// to the end (see [`framing`]). Use it through [`Json`](crate::Json) or
/// [`Cbor`](crate::Cbor).
pub struct SerdeCodec<F, Req, Resp> {
    _types: PhantomData<Types<F, Req, Resp>>,
}

/// `fn() -> ..`: the codec holds no message, so it is Send, Sync and Clone regardless.
type Types<F, Req, Resp> = fn() -> (F, Req, Resp);

impl<F, Req, Resp> SerdeCodec<F, Req, Resp> {
    /// The codec.
    pub const fn new() -> SerdeCodec<F, Req, Resp> {
        SerdeCodec {
            _types: PhantomData,
        }
    }
}

impl<F, Req, Resp> Default for SerdeCodec<F, Req, Resp> {
    fn default() -> SerdeCodec<F, Req, Resp> {
        SerdeCodec::new()
    }
}

impl<F, Req, Resp> Clone for SerdeCodec<F, Req, Resp> {
    fn clone(&self) -> SerdeCodec<F, Req, Resp> {
        SerdeCodec::new()
    }
}

impl<F: Format, Req, Resp> fmt::Debug for SerdeCodec<F, Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(F::NAME)
    }
}

impl<F, Req, Resp> Codec for SerdeCodec<F, Req, Resp>
where
    F: Format,
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
        F::decode(&bytes).map_err(|error| Error::decode(Message::Request, error))
    }

    async fn read_response<T>(&self, io: &mut T, max_size: usize) -> Result<Resp, Error>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = framing::read_to_end(io, Message::Response, max_size).await?;
        F::decode(&bytes).map_err(|error| Error::decode(Message::Response, error))
    }

    async fn write_request<T>(&self, io: &mut T, request: Req, max_size: usize) -> Result<(), Error>
    where
        T: AsyncWrite + Unpin + Send,
    {
        let bytes = F::encode(&request).map_err(|error| Error::encode(Message::Request, error))?;
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
        let bytes =
            F::encode(&response).map_err(|error| Error::encode(Message::Response, error))?;
        framing::write_to_end(io, Message::Response, &bytes, max_size).await
    }
}
