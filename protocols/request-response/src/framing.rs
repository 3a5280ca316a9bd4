//! The two ways a [`Codec`](crate::Codec) usually delimits a message on a stream, each
//! enforcing its size limit.
//!
//! - **To the end of the stream**: the message is the stream's whole content, and the writer
//!   closes its side after it. What rust-libp2p's JSON and CBOR codecs do; only possible
//!   because each direction of a stream carries a single message.
//! - **Length-prefixed**: an unsigned varint (multiformats unsigned-varint) giving the
//!   message's length in bytes, then the message. The framing of most libp2p protocols.
//!
//! Readers never allocate for more bytes than have arrived: a length prefix is checked
//! against the limit first, and even an allowed length only reserves memory as the bytes
//! come in.

use std::io;

use bytes::Buf;
use hyphae_encoding::varint;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::{Error, Message};

/// The most memory reserved up front for a length-prefixed message; beyond it the buffer
/// grows as bytes arrive, so a peer announcing a large message and sending nothing costs
/// only this.
const INITIAL_CAPACITY: usize = 64 * 1024;

/// Reads the whole stream as one `message` of at most `max_size` bytes.
///
/// A stream with more than `max_size` bytes fails with [`Error::TooLarge`] once byte
/// `max_size + 1` arrives; nothing further is read.
pub async fn read_to_end<T>(io: &mut T, message: Message, max_size: usize) -> Result<Vec<u8>, Error>
where
    T: AsyncRead + Unpin + Send,
{
    let mut bytes = Vec::new();
    let cap = u64::try_from(max_size)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    io.take(cap)
        .read_to_end(&mut bytes)
        .await
        .map_err(|source| Error::stream(message, source))?;
    if bytes.len() > max_size {
        return Err(Error::TooLarge {
            message,
            size: None,
            limit: max_size,
        });
    }
    Ok(bytes)
}

/// Writes `bytes` as a `message` delimited by the end of the stream: the caller closes its
/// side afterwards (the request-response service does).
pub async fn write_to_end<T>(
    io: &mut T,
    message: Message,
    bytes: &[u8],
    max_size: usize,
) -> Result<(), Error>
where
    T: AsyncWrite + Unpin + Send,
{
    check_size(message, bytes.len(), max_size)?;
    io.write_all(bytes)
        .await
        .map_err(|source| Error::stream(message, source))
}

/// Reads one `message` preceded by its length as an unsigned varint, of at most `max_size`
/// bytes.
///
/// A length above `max_size` fails with [`Error::TooLarge`] before any of the message is
/// read; an invalid varint is an [`Error::Decode`]; a stream ending early is an
/// [`Error::StreamClosed`].
pub async fn read_length_prefixed<T>(
    io: &mut T,
    message: Message,
    max_size: usize,
) -> Result<Vec<u8>, Error>
where
    T: AsyncRead + Unpin + Send,
{
    let len = read_length(io, message).await?;
    if len > u64::try_from(max_size).unwrap_or(u64::MAX) {
        return Err(Error::TooLarge {
            message,
            size: Some(len),
            limit: max_size,
        });
    }
    // At most `max_size`, which is a usize.
    let len = usize::try_from(len).unwrap_or(max_size);
    let mut bytes = Vec::with_capacity(len.min(INITIAL_CAPACITY));
    let read = io
        .take(len as u64)
        .read_to_end(&mut bytes)
        .await
        .map_err(|source| Error::stream(message, source))?;
    if read < len {
        return Err(Error::stream(
            message,
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream ended after {read} of {len} bytes"),
            ),
        ));
    }
    Ok(bytes)
}

/// Reads an unsigned varint byte by byte, never past its end.
async fn read_length<T>(io: &mut T, message: Message) -> Result<u64, Error>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; varint::MAX_LEN];
    for filled in 1..=varint::MAX_LEN {
        prefix[filled - 1] = io
            .read_u8()
            .await
            .map_err(|source| Error::stream(message, source))?;
        match varint::decode(&prefix[..filled]) {
            Ok((len, _)) => return Ok(len),
            Err(hyphae_encoding::Error::VarintIncomplete) => {}
            Err(error) => return Err(Error::decode(message, error)),
        }
    }
    // Ten bytes always decode to a length or an overflow error.
    Err(Error::decode(
        message,
        hyphae_encoding::Error::VarintOverflow,
    ))
}

/// Writes `bytes` as one `message` preceded by its length as an unsigned varint, or fails
/// with [`Error::TooLarge`] (writing nothing) if it is longer than `max_size`.
pub async fn write_length_prefixed<T>(
    io: &mut T,
    message: Message,
    bytes: &[u8],
    max_size: usize,
) -> Result<(), Error>
where
    T: AsyncWrite + Unpin + Send,
{
    check_size(message, bytes.len(), max_size)?;
    let mut prefix = [0u8; varint::MAX_LEN];
    let prefix = varint::encode(bytes.len() as u64, &mut prefix);
    // One vectored write where the stream supports it: prefix and message in one frame.
    io.write_all_buf(&mut Buf::chain(prefix, bytes))
        .await
        .map_err(|source| Error::stream(message, source))
}

fn check_size(message: Message, size: usize, max_size: usize) -> Result<(), Error> {
    if size > max_size {
        return Err(Error::TooLarge {
            message,
            size: Some(size as u64),
            limit: max_size,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn a_length_prefixed_message_round_trips() {
        let mut wire = Vec::new();
        block_on(write_length_prefixed(
            &mut wire,
            Message::Request,
            b"hello",
            5,
        ))
        .unwrap();
        assert_eq!(wire, b"\x05hello");
        let read = block_on(read_length_prefixed(&mut &wire[..], Message::Request, 5)).unwrap();
        assert_eq!(read, b"hello");
    }

    #[test]
    fn rejects_a_length_prefix_above_the_limit_before_reading_the_message() {
        // Announces 2^40 bytes and sends none of them.
        let mut wire = Vec::new();
        varint::encode_to_vec(1 << 40, &mut wire);
        match block_on(read_length_prefixed(
            &mut &wire[..],
            Message::Response,
            1024,
        )) {
            Err(Error::TooLarge {
                message: Message::Response,
                size: Some(size),
                limit: 1024,
            }) => assert_eq!(size, 1 << 40),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn a_truncated_message_is_a_closed_stream() {
        let wire = b"\x0ahello";
        match block_on(read_length_prefixed(&mut &wire[..], Message::Request, 100)) {
            Err(Error::StreamClosed { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::UnexpectedEof)
            }
            other => panic!("expected StreamClosed, got {other:?}"),
        }
    }

    #[test]
    fn an_overlong_varint_is_a_decode_error() {
        let wire = [0xffu8; 11];
        assert!(matches!(
            block_on(read_length_prefixed(&mut &wire[..], Message::Request, 100)),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn reading_to_the_end_stops_one_byte_past_the_limit() {
        let wire = [7u8; 100];
        let mut reader = &wire[..];
        assert!(matches!(
            block_on(read_to_end(&mut reader, Message::Request, 10)),
            Err(Error::TooLarge {
                size: None,
                limit: 10,
                ..
            })
        ));
        assert_eq!(reader.len(), 89, "read more than limit + 1 bytes");
        let read = block_on(read_to_end(&mut &wire[..], Message::Request, 100)).unwrap();
        assert_eq!(read.len(), 100);
    }

    #[test]
    fn writers_refuse_a_message_above_the_limit_and_write_nothing() {
        let mut wire = Vec::new();
        for result in [
            block_on(write_to_end(&mut wire, Message::Response, &[0; 11], 10)),
            block_on(write_length_prefixed(
                &mut wire,
                Message::Response,
                &[0; 11],
                10,
            )),
        ] {
            assert!(matches!(
                result,
                Err(Error::TooLarge {
                    message: Message::Response,
                    size: Some(11),
                    limit: 10
                })
            ));
        }
        assert!(wire.is_empty());
    }
}
