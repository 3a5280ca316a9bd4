//! The mplex frame ("Message format"): uvarint header `(stream id << 3) | flag`, uvarint
//! length, then that many bytes of data.

use bytes::Bytes;
use hyphae_encoding::varint;

use crate::Error;

/// Largest data segment of one frame ("Writing to a stream": up to 1 MiB per message).
pub const MAX_FRAME_DATA: usize = 1024 * 1024;

/// The message flag: the low three bits of the header ("Flag Values").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Opens a stream; data is its (debug-only) name.
    NewStream = 0,
    /// Data, sent by the side that did not open the stream.
    MessageReceiver = 1,
    /// Data, sent by the side that opened the stream.
    MessageInitiator = 2,
    /// Half-close by the side that did not open the stream.
    CloseReceiver = 3,
    /// Half-close by the side that opened the stream.
    CloseInitiator = 4,
    /// Reset by the side that did not open the stream.
    ResetReceiver = 5,
    /// Reset by the side that opened the stream.
    ResetInitiator = 6,
}

impl Flag {
    fn from_bits(bits: u8) -> Result<Flag, Error> {
        Ok(match bits {
            0 => Flag::NewStream,
            1 => Flag::MessageReceiver,
            2 => Flag::MessageInitiator,
            3 => Flag::CloseReceiver,
            4 => Flag::CloseInitiator,
            5 => Flag::ResetReceiver,
            6 => Flag::ResetInitiator,
            other => return Err(Error::UnknownFlag(other)),
        })
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The stream number (unique per opener only).
    pub stream: u64,
    /// What the frame does.
    pub flag: Flag,
    /// The data segment.
    pub data: Bytes,
}

/// Appends the encoding of one frame to `out`.
pub fn encode(stream: u64, flag: Flag, data: &[u8], out: &mut Vec<u8>) {
    varint::encode_to_vec((stream << 3) | flag as u64, out);
    varint::encode_to_vec(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// Decodes one frame from the front of `bytes`, accepting at most `max_data` bytes of data.
///
/// `Ok(None)` means the frame is incomplete (wait for more bytes). The length is checked
/// against `max_data` before anything is buffered.
pub fn decode(bytes: &[u8], max_data: usize) -> Result<Option<(Frame, usize)>, Error> {
    let (header, header_len) = match varint::decode(bytes) {
        Ok(decoded) => decoded,
        Err(hyphae_encoding::Error::VarintIncomplete) => return Ok(None),
        Err(error) => return Err(Error::Malformed(error)),
    };
    let flag = Flag::from_bits((header & 0x07) as u8)?;
    let rest = &bytes[header_len..];
    let (len, len_len) = match varint::decode(rest) {
        Ok(decoded) => decoded,
        Err(hyphae_encoding::Error::VarintIncomplete) => return Ok(None),
        Err(error) => return Err(Error::Malformed(error)),
    };
    let data_len = match usize::try_from(len) {
        Ok(data_len) if data_len <= max_data => data_len,
        _ => {
            return Err(Error::FrameTooLarge { len, max: max_data });
        }
    };
    let rest = &rest[len_len..];
    if rest.len() < data_len {
        return Ok(None);
    }
    let frame = Frame {
        stream: header >> 3,
        flag,
        data: Bytes::copy_from_slice(&rest[..data_len]),
    };
    Ok(Some((frame, header_len + len_len + data_len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rejects_flag_seven() {
        assert!(matches!(
            decode(&[0x07, 0x00], 10),
            Err(Error::UnknownFlag(7))
        ));
    }

    #[test]
    fn rejects_oversized_length_before_data_arrives() {
        let mut bytes = Vec::new();
        varint::encode_to_vec(2, &mut bytes);
        varint::encode_to_vec(MAX_FRAME_DATA as u64 + 1, &mut bytes);
        assert!(matches!(
            decode(&bytes, MAX_FRAME_DATA),
            Err(Error::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn incomplete_frame_waits() {
        let mut bytes = Vec::new();
        encode(5, Flag::MessageInitiator, b"hello", &mut bytes);
        for end in 0..bytes.len() {
            assert_eq!(decode(&bytes[..end], MAX_FRAME_DATA).unwrap(), None);
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode(&bytes, 16);
        }

        #[test]
        fn round_trips(stream in 0u64..(1 << 60), bits in 0u8..7, data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let flag = Flag::from_bits(bits).unwrap();
            let mut out = Vec::new();
            encode(stream, flag, &data, &mut out);
            let (frame, used) = decode(&out, MAX_FRAME_DATA).unwrap().unwrap();
            prop_assert_eq!(used, out.len());
            prop_assert_eq!(frame, Frame { stream, flag, data: Bytes::from(data) });
        }
    }
}
