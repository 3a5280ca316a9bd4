//! Raw bytes, each message preceded by its length as an unsigned varint.

use std::fmt;
use std::marker::PhantomData;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::{Codec, Error, Message, framing};

/// Requests and responses as raw bytes, each preceded by its length as an unsigned varint
/// (the framing of most libp2p protocols; see [`framing`]).
///
/// `M` is the byte container both ways: `Vec<u8>` (the default) or [`bytes::Bytes`].
///
/// ```
/// use hyphae_request_response::LengthPrefixed;
///
/// let vectors = LengthPrefixed::<Vec<u8>>::new();
/// let shared = LengthPrefixed::<bytes::Bytes>::new();
/// # let _ = (vectors, shared);
/// ```
pub struct LengthPrefixed<M = Vec<u8>> {
    // `fn() -> M`: the codec holds no `M`, so it is Send, Sync and Clone whatever `M` is.
    _message: PhantomData<fn() -> M>,
}

impl<M> LengthPrefixed<M> {
    /// The codec.
    pub const fn new() -> LengthPrefixed<M> {
        LengthPrefixed {
            _message: PhantomData,
        }
    }
}

impl<M> Default for LengthPrefixed<M> {
    fn default() -> LengthPrefixed<M> {
        LengthPrefixed::new()
    }
}

impl<M> Clone for LengthPrefixed<M> {
    fn clone(&self) -> LengthPrefixed<M> {
        LengthPrefixed::new()
    }
}

impl<M> fmt::Debug for LengthPrefixed<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LengthPrefixed")
    }
}

impl<M> Codec for LengthPrefixed<M>
where
    M: From<Vec<u8>> + AsRef<[u8]> + Send + 'static,
{
    type Request = M;
    type Response = M;

    async fn read_request<T>(&self, io: &mut T, max_size: usize) -> Result<M, Error>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = framing::read_length_prefixed(io, Message::Request, max_size).await?;
        Ok(M::from(bytes))
    }

    async fn read_response<T>(&self, io: &mut T, max_size: usize) -> Result<M, Error>
    where
        T: AsyncRead + Unpin + Send,
    {
        let bytes = framing::read_length_prefixed(io, Message::Response, max_size).await?;
        Ok(M::from(bytes))
    }

    async fn write_request<T>(&self, io: &mut T, request: M, max_size: usize) -> Result<(), Error>
    where
        T: AsyncWrite + Unpin + Send,
    {
        framing::write_length_prefixed(io, Message::Request, request.as_ref(), max_size).await
    }

    async fn write_response<T>(&self, io: &mut T, response: M, max_size: usize) -> Result<(), Error>
    where
        T: AsyncWrite + Unpin + Send,
    {
        framing::write_length_prefixed(io, Message::Response, response.as_ref(), max_size).await
    }
}
