//! Messages prefixed by their length as an unsigned varint ("uvarint-length-prefixed").
//!
//! Every reader takes the protocol's maximum message size and rejects a larger length prefix
//! as soon as the prefix is complete, before allocating or waiting for the body: a peer cannot
//! make us buffer more than the limit.

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::Error;
use hyphae_encoding::{self as encoding, varint};

/// Appends `payload` with its length prefix to `out`.
pub fn encode(payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(varint::encoded_len(payload.len() as u64) + payload.len());
    varint::encode_to_vec(payload.len() as u64, out);
    out.extend_from_slice(payload);
}

/// Decodes one frame from the front of `bytes`.
///
/// Returns the payload and the bytes consumed, or `Ok(None)` if `bytes` holds only part of a
/// frame. A length above `max_len` is an error even before its body arrives.
pub fn decode(bytes: &[u8], max_len: usize) -> Result<Option<(&[u8], usize)>, Error> {
    let (len, prefix_len) = match varint::decode(bytes) {
        Ok(decoded) => decoded,
        Err(encoding::Error::VarintIncomplete) => return Ok(None),
        Err(error) => return Err(Error::LengthPrefix(error)),
    };
    let len = checked_len(len, max_len)?;
    let end = prefix_len + len;
    Ok(bytes.get(prefix_len..end).map(|payload| (payload, end)))
}

fn checked_len(len: u64, max_len: usize) -> Result<usize, Error> {
    usize::try_from(len)
        .ok()
        .filter(|&len| len <= max_len)
        .ok_or(Error::FrameTooLarge { len, max: max_len })
}

/// Splits frames off a growing receive buffer, for sans-IO protocol cores.
#[derive(Debug, Clone)]
pub struct Decoder {
    max_len: usize,
}

impl Decoder {
    /// A decoder that rejects frames longer than `max_len`.
    pub fn new(max_len: usize) -> Decoder {
        Decoder { max_len }
    }

    /// Removes and returns the first complete frame in `buffer`, or `Ok(None)` if it does
    /// not hold one yet.
    pub fn decode(&self, buffer: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        let Some((payload, consumed)) = decode(buffer, self.max_len)? else {
            return Ok(None);
        };
        let prefix_len = consumed - payload.len();
        buffer.advance(prefix_len);
        Ok(Some(buffer.split_to(consumed - prefix_len).freeze()))
    }
}

/// Reads one frame of at most `max_len` bytes from `reader`.
///
/// Returns `Ok(None)` on a clean end of stream before the first byte of a frame. The prefix
/// is read a byte at a time so no byte of the next frame is consumed; give it a buffered or
/// muxed stream, not a raw socket, where that matters.
pub async fn read<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_len: usize,
) -> Result<Option<Vec<u8>>, Error> {
    let mut prefix = [0u8; varint::MAX_LEN];
    let mut prefix_len = 0;
    let len = loop {
        let mut byte = [0u8; 1];
        if reader.read(&mut byte).await? == 0 {
            return if prefix_len == 0 {
                Ok(None)
            } else {
                Err(Error::LengthPrefix(encoding::Error::VarintIncomplete))
            };
        }
        prefix[prefix_len] = byte[0];
        prefix_len += 1;
        match varint::decode(&prefix[..prefix_len]) {
            Ok((len, _)) => break checked_len(len, max_len)?,
            Err(encoding::Error::VarintIncomplete) if prefix_len < varint::MAX_LEN => continue,
            Err(error) => return Err(Error::LengthPrefix(error)),
        }
    };
    let mut payload = vec![0u8; len];
    let mut read = 0;
    while read < len {
        match reader.read(&mut payload[read..]).await? {
            0 => {
                return Err(Error::TruncatedFrame {
                    read,
                    expected: len,
                });
            }
            n => read += n,
        }
    }
    Ok(Some(payload))
}

/// Writes `payload` as one frame (prefix and body in a single write) and flushes.
pub async fn write<W: AsyncWrite + Unpin>(writer: &mut W, payload: &[u8]) -> Result<(), Error> {
    let mut frame = Vec::new();
    encode(payload, &mut frame);
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_a_frame_and_reports_what_it_consumed() {
        let mut bytes = Vec::new();
        encode(b"hello", &mut bytes);
        bytes.extend_from_slice(b"rest");
        assert_eq!(decode(&bytes, 100).unwrap(), Some((&b"hello"[..], 6)));
    }

    #[test]
    fn waits_for_the_rest_of_a_frame() {
        assert_eq!(decode(&[], 100).unwrap(), None);
        assert_eq!(decode(&[0x85], 1000).unwrap(), None);
        assert_eq!(decode(&[5, b'h', b'e'], 100).unwrap(), None);
    }

    #[test]
    fn rejects_an_oversized_prefix_before_the_body_arrives() {
        // 1 MiB announced, nothing else sent yet.
        let prefix = [0x80, 0x80, 0x40];
        assert!(matches!(
            decode(&prefix, 4096),
            Err(Error::FrameTooLarge {
                len: 1048576,
                max: 4096
            })
        ));
    }

    #[test]
    fn decoder_splits_frames_off_a_buffer() {
        let mut bytes = Vec::new();
        encode(b"one", &mut bytes);
        encode(b"", &mut bytes);
        encode(b"three", &mut bytes);
        let mut buffer = BytesMut::from(&bytes[..bytes.len() - 1]);
        let decoder = Decoder::new(16);
        assert_eq!(decoder.decode(&mut buffer).unwrap().unwrap(), "one");
        assert_eq!(decoder.decode(&mut buffer).unwrap().unwrap(), "");
        assert_eq!(decoder.decode(&mut buffer).unwrap(), None);
        buffer.extend_from_slice(b"e");
        assert_eq!(decoder.decode(&mut buffer).unwrap().unwrap(), "three");
        assert!(buffer.is_empty());
    }

    #[tokio::test]
    async fn reads_and_writes_frames_over_a_stream() {
        let (mut a, mut b) = tokio::io::duplex(64);
        write(&mut a, b"ping").await.unwrap();
        write(&mut a, &[7; 40]).await.unwrap();
        drop(a);
        assert_eq!(read(&mut b, 64).await.unwrap().unwrap(), b"ping");
        assert_eq!(read(&mut b, 64).await.unwrap().unwrap(), vec![7; 40]);
        assert_eq!(read(&mut b, 64).await.unwrap(), None);
    }

    #[tokio::test]
    async fn read_rejects_oversized_and_truncated_frames() {
        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[0xff, 0xff, 0xff, 0xff, 0x0f]).await.unwrap();
        assert!(matches!(
            read(&mut b, 1024).await,
            Err(Error::FrameTooLarge { max: 1024, .. })
        ));

        let (mut a, mut b) = tokio::io::duplex(64);
        a.write_all(&[10, 1, 2, 3]).await.unwrap();
        drop(a);
        assert!(matches!(
            read(&mut b, 1024).await,
            Err(Error::TruncatedFrame {
                read: 3,
                expected: 10
            })
        ));
    }

    proptest! {
        #[test]
        fn round_trips(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8)) {
            let mut bytes = Vec::new();
            for payload in &payloads {
                encode(payload, &mut bytes);
            }
            let mut buffer = BytesMut::from(&bytes[..]);
            let decoder = Decoder::new(300);
            for payload in &payloads {
                prop_assert_eq!(decoder.decode(&mut buffer).unwrap().unwrap(), &payload[..]);
            }
            prop_assert!(buffer.is_empty());
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_respect_the_limit(bytes: Vec<u8>, max_len in 0usize..512) {
            if let Ok(Some((payload, consumed))) = decode(&bytes, max_len) {
                prop_assert!(payload.len() <= max_len);
                prop_assert!(consumed <= bytes.len());
            }
        }
    }
}
