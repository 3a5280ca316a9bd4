//! The [`Codec`] trait: how requests and responses of one protocol are read and written.

use std::future::Future;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::Error;

/// Reads and writes the requests and responses of a protocol on a stream, each within a
/// size limit.
///
/// The service calls each method once per stream: the requester writes its request, then
/// closes its side of the stream (so a reader may read to the end) and reads the response;
/// the responder reads the request, writes the response and closes its side. A codec only
/// frames and encodes messages: it neither opens, closes nor resets streams.
///
/// The limits are the [`Config`](crate::Config)'s. A codec must never buffer more than
/// `max_size` bytes of a message (plus its framing), answering [`Error::TooLarge`] for a
/// message that exceeds the limit, whether it is reading one or asked to write one. The
/// functions of [`framing`](crate::framing) do this for the two common framings, so a
/// codec is usually a framing plus an encoding:
///
/// ```
/// use hyphae_request_response::{Codec, Error, Message, framing};
/// use tokio::io::{AsyncRead, AsyncWrite};
///
/// /// Requests and responses as UTF-8 text, each with a length prefix.
/// #[derive(Debug, Clone)]
/// struct Text;
///
/// impl Codec for Text {
///     type Request = String;
///     type Response = String;
///
///     async fn read_request<T>(&self, io: &mut T, max_size: usize) -> Result<String, Error>
///     where
///         T: AsyncRead + Unpin + Send,
///     {
///         let bytes = framing::read_length_prefixed(io, Message::Request, max_size).await?;
///         String::from_utf8(bytes).map_err(|e| Error::decode(Message::Request, e))
///     }
///
///     async fn read_response<T>(&self, io: &mut T, max_size: usize) -> Result<String, Error>
///     where
///         T: AsyncRead + Unpin + Send,
///     {
///         let bytes = framing::read_length_prefixed(io, Message::Response, max_size).await?;
///         String::from_utf8(bytes).map_err(|e| Error::decode(Message::Response, e))
///     }
///
///     async fn write_request<T>(&self, io: &mut T, request: String, max_size: usize)
///         -> Result<(), Error>
///     where
///         T: AsyncWrite + Unpin + Send,
///     {
///         framing::write_length_prefixed(io, Message::Request, request.as_bytes(), max_size).await
///     }
///
///     async fn write_response<T>(&self, io: &mut T, response: String, max_size: usize)
///         -> Result<(), Error>
///     where
///         T: AsyncWrite + Unpin + Send,
///     {
///         framing::write_length_prefixed(io, Message::Response, response.as_bytes(), max_size)
///             .await
///     }
/// }
/// ```
///
/// The methods may be written as `async fn`; the futures they return must be `Send`, since
/// the service runs them on spawned tasks.
pub trait Codec: Clone + Send + Sync + 'static {
    /// What a requester sends.
    type Request: Send + 'static;
    /// What a responder answers.
    type Response: Send + 'static;

    /// Reads one request of at most `max_size` bytes.
    fn read_request<T>(
        &self,
        io: &mut T,
        max_size: usize,
    ) -> impl Future<Output = Result<Self::Request, Error>> + Send
    where
        T: AsyncRead + Unpin + Send;

    /// Reads one response of at most `max_size` bytes.
    fn read_response<T>(
        &self,
        io: &mut T,
        max_size: usize,
    ) -> impl Future<Output = Result<Self::Response, Error>> + Send
    where
        T: AsyncRead + Unpin + Send;

    /// Writes `request`, or fails with [`Error::TooLarge`] if it is larger than `max_size`
    /// bytes.
    fn write_request<T>(
        &self,
        io: &mut T,
        request: Self::Request,
        max_size: usize,
    ) -> impl Future<Output = Result<(), Error>> + Send
    where
        T: AsyncWrite + Unpin + Send;

    /// Writes `response`, or fails with [`Error::TooLarge`] if it is larger than
    /// `max_size` bytes.
    fn write_response<T>(
        &self,
        io: &mut T,
        response: Self::Response,
        max_size: usize,
    ) -> impl Future<Output = Result<(), Error>> + Send
    where
        T: AsyncWrite + Unpin + Send;
}
