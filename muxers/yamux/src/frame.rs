//! Yamux frames: the 12-byte header and the payload of Data frames.
//!
//! Spec: `yamux/README.md`, section "Framing". Every frame starts with
//!
//! ```text
//! | version: u8 | type: u8 | flags: u16 | stream id: u32 | length: u32 |
//! ```
//!
//! all big-endian. Only Data frames carry a payload (of `length` bytes); for the other types
//! `length` is a window delta (Window Update), an opaque value (Ping) or an error code
//! (Go Away).

use std::fmt;
use std::ops::BitOr;

use bytes::BufMut;

use crate::Error;

/// Length of a frame header in bytes ("Framing": 12 bytes of overhead per frame).
pub const HEADER_LEN: usize = 12;

/// The only protocol version ("Version Field": always 0).
pub const VERSION: u8 = 0;

/// What a frame does ("Type Field").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// `0x0`: carries `length` bytes of stream data.
    Data,
    /// `0x1`: grants the peer `length` more bytes of send window on a stream.
    WindowUpdate,
    /// `0x2`: a ping (SYN) or its answer (ACK), echoing an opaque value.
    Ping,
    /// `0x3`: the sender will accept no new streams; `length` is a [`GoAwayCode`].
    GoAway,
}

impl FrameType {
    /// The type's value on the wire.
    pub const fn to_u8(self) -> u8 {
        match self {
            FrameType::Data => 0,
            FrameType::WindowUpdate => 1,
            FrameType::Ping => 2,
            FrameType::GoAway => 3,
        }
    }

    /// The type with wire value `value`, if it is one the spec defines.
    pub const fn from_u8(value: u8) -> Option<FrameType> {
        match value {
            0 => Some(FrameType::Data),
            1 => Some(FrameType::WindowUpdate),
            2 => Some(FrameType::Ping),
            3 => Some(FrameType::GoAway),
            _ => None,
        }
    }
}

/// The flags of a frame ("Flag Field"); bits the spec does not define are kept and ignored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u16);

impl Flags {
    /// No flag set.
    pub const NONE: Flags = Flags(0);
    /// `0x1`: opens a stream, or marks an outbound ping.
    pub const SYN: Flags = Flags(0x1);
    /// `0x2`: accepts a stream, or marks a ping's answer.
    pub const ACK: Flags = Flags(0x2);
    /// `0x4`: half-closes a stream: the sender sends no more data on it.
    pub const FIN: Flags = Flags(0x4);
    /// `0x8`: resets a stream at once, in both directions.
    pub const RST: Flags = Flags(0x8);

    /// The flags with wire value `bits`.
    pub const fn from_bits(bits: u16) -> Flags {
        Flags(bits)
    }

    /// The wire value.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag of `other` is set in `self`.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Flags {
    type Output = Flags;

    fn bitor(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }
}

impl fmt::Debug for Flags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Flags::SYN, "SYN"),
            (Flags::ACK, "ACK"),
            (Flags::FIN, "FIN"),
            (Flags::RST, "RST"),
        ];
        let mut list = f.debug_set();
        for (flag, name) in names {
            if self.contains(flag) {
                list.entry(&format_args!("{name}"));
            }
        }
        let unknown = self.0 & !0xf;
        if unknown != 0 {
            list.entry(&format_args!("{unknown:#x}"));
        }
        list.finish()
    }
}

/// Identifies a stream within a session ("StreamID Field").
///
/// The client opens odd ids, the server even ones; 0 names the session itself (Ping and Go
/// Away frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(u32);

impl StreamId {
    /// The id Ping and Go Away frames carry.
    pub const SESSION: StreamId = StreamId(0);

    /// The stream id with wire value `value`.
    pub const fn new(value: u32) -> StreamId {
        StreamId(value)
    }

    /// The wire value.
    pub const fn value(self) -> u32 {
        self.0
    }

    /// Whether this id names the session rather than a stream.
    pub const fn is_session(self) -> bool {
        self.0 == 0
    }

    /// Whether a client opened this stream (odd ids).
    pub const fn is_client(self) -> bool {
        self.0 % 2 == 1
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a session ends, sent in a Go Away frame ("Session termination").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GoAwayCode {
    /// `0x0`: normal termination.
    Normal,
    /// `0x1`: the peer broke the protocol.
    ProtocolError,
    /// `0x2`: the sender failed internally.
    InternalError,
    /// A code the spec does not define, as received.
    Other(u32),
}

impl GoAwayCode {
    /// The code's value on the wire.
    pub const fn to_u32(self) -> u32 {
        match self {
            GoAwayCode::Normal => 0,
            GoAwayCode::ProtocolError => 1,
            GoAwayCode::InternalError => 2,
            GoAwayCode::Other(code) => code,
        }
    }

    /// The code with wire value `value`.
    pub const fn from_u32(value: u32) -> GoAwayCode {
        match value {
            0 => GoAwayCode::Normal,
            1 => GoAwayCode::ProtocolError,
            2 => GoAwayCode::InternalError,
            code => GoAwayCode::Other(code),
        }
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// What the frame does.
    pub frame_type: FrameType,
    /// Its flags.
    pub flags: Flags,
    /// The stream it addresses ([`StreamId::SESSION`] for Ping and Go Away).
    pub stream_id: StreamId,
    /// Payload length (Data), window delta (Window Update), opaque value (Ping) or error
    /// code (Go Away).
    pub length: u32,
}

impl Header {
    /// A Data frame header announcing `len` payload bytes.
    pub const fn data(stream_id: StreamId, flags: Flags, len: u32) -> Header {
        Header {
            frame_type: FrameType::Data,
            flags,
            stream_id,
            length: len,
        }
    }

    /// A Window Update frame granting `delta` more bytes of window.
    pub const fn window_update(stream_id: StreamId, flags: Flags, delta: u32) -> Header {
        Header {
            frame_type: FrameType::WindowUpdate,
            flags,
            stream_id,
            length: delta,
        }
    }

    /// A Ping frame: SYN for a ping, ACK for its answer.
    pub const fn ping(flags: Flags, opaque: u32) -> Header {
        Header {
            frame_type: FrameType::Ping,
            flags,
            stream_id: StreamId::SESSION,
            length: opaque,
        }
    }

    /// A Go Away frame.
    pub const fn go_away(code: GoAwayCode) -> Header {
        Header {
            frame_type: FrameType::GoAway,
            flags: Flags::NONE,
            stream_id: StreamId::SESSION,
            length: code.to_u32(),
        }
    }

    /// The header's 12 wire bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        bytes[0] = VERSION;
        bytes[1] = self.frame_type.to_u8();
        bytes[2..4].copy_from_slice(&self.flags.bits().to_be_bytes());
        bytes[4..8].copy_from_slice(&self.stream_id.value().to_be_bytes());
        bytes[8..12].copy_from_slice(&self.length.to_be_bytes());
        bytes
    }

    /// Appends the header's wire bytes to `out`.
    pub fn encode_to<B: BufMut>(&self, out: &mut B) {
        out.put_slice(&self.encode());
    }

    /// Decodes the header at the front of `bytes`, or `Ok(None)` if fewer than 12 bytes are
    /// there.
    ///
    /// A version other than 0 and an unknown type are errors. Payload lengths are not checked
    /// here: see [`decode`] and [`Session`](crate::Session), which bound them.
    pub fn decode(bytes: &[u8]) -> Result<Option<Header>, Error> {
        let Some(bytes) = bytes.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        if bytes[0] != VERSION {
            return Err(Error::UnsupportedVersion(bytes[0]));
        }
        let frame_type = FrameType::from_u8(bytes[1]).ok_or(Error::UnknownFrameType(bytes[1]))?;
        let field = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        Ok(Some(Header {
            frame_type,
            flags: Flags::from_bits(u16::from_be_bytes([bytes[2], bytes[3]])),
            stream_id: StreamId::new(field(4)),
            length: field(8),
        }))
    }

    /// Bytes of payload that follow this header on the wire.
    pub const fn payload_len(&self) -> usize {
        match self.frame_type {
            FrameType::Data => self.length as usize,
            _ => 0,
        }
    }
}

/// A complete frame borrowed from an input buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The header.
    pub header: Header,
    /// The payload: empty for every type but Data.
    pub payload: &'a [u8],
}

/// Decodes the frame at the front of `bytes`.
///
/// Returns the frame and the number of bytes it occupies, or `Ok(None)` if `bytes` holds only
/// part of it. A Data frame announcing more than `max_payload` bytes is rejected as soon as its
/// header is complete, before its payload arrives.
pub fn decode(bytes: &[u8], max_payload: u32) -> Result<Option<(Frame<'_>, usize)>, Error> {
    let Some(header) = Header::decode(bytes)? else {
        return Ok(None);
    };
    if header.frame_type == FrameType::Data && header.length > max_payload {
        return Err(Error::FrameTooLarge {
            len: header.length,
            max: max_payload,
        });
    }
    let end = HEADER_LEN + header.payload_len();
    Ok(bytes
        .get(HEADER_LEN..end)
        .map(|payload| (Frame { header, payload }, end)))
}

/// Appends a complete frame (header, then `payload` for Data frames) to `out`.
pub fn encode<B: BufMut>(header: &Header, payload: &[u8], out: &mut B) {
    header.encode_to(out);
    if header.frame_type == FrameType::Data {
        out.put_slice(payload);
    }
}

/// How many more bytes `bytes` needs before its first frame is complete — or, while its
/// header is incomplete, before the header is (0 if the frame is complete, or if the header is
/// malformed and decoding will fail).
///
/// Drivers use this to size their read buffer once for a large frame instead of growing it
/// by small steps.
pub fn bytes_needed(bytes: &[u8]) -> usize {
    match Header::decode(bytes) {
        Ok(Some(header)) => (HEADER_LEN + header.payload_len()).saturating_sub(bytes.len()),
        Ok(None) => HEADER_LEN - bytes.len(),
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_the_spec_layout_big_endian() {
        let header = Header::window_update(
            StreamId::new(0x0102_0304),
            Flags::SYN | Flags::ACK,
            0x0a0b_0c0d,
        );
        assert_eq!(
            header.encode(),
            [0, 1, 0, 3, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d]
        );
        assert_eq!(
            Header::go_away(GoAwayCode::ProtocolError).encode(),
            [0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]
        );
        assert_eq!(
            Header::ping(Flags::ACK, 7).encode(),
            [0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7]
        );
    }

    #[test]
    fn decodes_a_data_frame_and_reports_what_it_consumed() {
        let mut bytes = Vec::new();
        encode(
            &Header::data(StreamId::new(3), Flags::FIN, 5),
            b"hello",
            &mut bytes,
        );
        bytes.extend_from_slice(b"next");
        let (frame, consumed) = decode(&bytes, 100).unwrap().unwrap();
        assert_eq!(consumed, 17);
        assert_eq!(frame.payload, b"hello");
        assert_eq!(frame.header.stream_id, StreamId::new(3));
        assert!(frame.header.flags.contains(Flags::FIN));
    }

    #[test]
    fn waits_for_the_rest_of_a_frame() {
        let mut bytes = Vec::new();
        encode(
            &Header::data(StreamId::new(1), Flags::NONE, 4),
            b"abcd",
            &mut bytes,
        );
        for len in 0..bytes.len() {
            assert_eq!(
                decode(&bytes[..len], 100).unwrap(),
                None,
                "prefix of {len} bytes"
            );
            let needed = if len < HEADER_LEN {
                HEADER_LEN
            } else {
                bytes.len()
            };
            assert_eq!(bytes_needed(&bytes[..len]), needed - len);
        }
        assert_eq!(bytes_needed(&bytes), 0);
    }

    #[test]
    fn rejects_a_bad_version_or_type() {
        assert!(matches!(
            decode(&[1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], 10),
            Err(Error::UnsupportedVersion(1))
        ));
        assert!(matches!(
            decode(&[0, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], 10),
            Err(Error::UnknownFrameType(4))
        ));
    }

    #[test]
    fn rejects_an_oversized_data_frame_before_its_payload_arrives() {
        let header = Header::data(StreamId::new(1), Flags::NONE, 1 << 30).encode();
        assert!(matches!(
            decode(&header, 1 << 20),
            Err(Error::FrameTooLarge {
                len: 1073741824,
                max: 1048576
            })
        ));
        // Only Data frames carry a payload: a huge window delta is not a frame size.
        let update = Header::window_update(StreamId::new(1), Flags::NONE, u32::MAX).encode();
        assert_eq!(decode(&update, 16).unwrap().unwrap().1, HEADER_LEN);
    }

    #[test]
    fn keeps_unknown_flag_bits() {
        let bytes = [0, 0, 0x80, 0x01, 0, 0, 0, 1, 0, 0, 0, 0];
        let header = Header::decode(&bytes).unwrap().unwrap();
        assert!(header.flags.contains(Flags::SYN));
        assert_eq!(header.encode(), bytes);
    }

    fn arbitrary_header() -> impl Strategy<Value = Header> {
        (0u8..4, any::<u16>(), any::<u32>(), any::<u32>()).prop_map(|(kind, flags, id, length)| {
            Header {
                frame_type: FrameType::from_u8(kind).unwrap(),
                flags: Flags::from_bits(flags),
                stream_id: StreamId::new(id),
                length,
            }
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), max in any::<u32>()) {
            let _ = decode(&bytes, max);
            let _ = bytes_needed(&bytes);
        }

        #[test]
        fn headers_round_trip(header in arbitrary_header()) {
            prop_assert_eq!(Header::decode(&header.encode()).unwrap(), Some(header));
        }

        #[test]
        fn data_frames_round_trip(payload in proptest::collection::vec(any::<u8>(), 0..256), id in any::<u32>(), flags in any::<u16>()) {
            let header = Header::data(StreamId::new(id), Flags::from_bits(flags), payload.len() as u32);
            let mut bytes = Vec::new();
            encode(&header, &payload, &mut bytes);
            let (frame, consumed) = decode(&bytes, 256).unwrap().unwrap();
            prop_assert_eq!(consumed, bytes.len());
            prop_assert_eq!(frame.header, header);
            prop_assert_eq!(frame.payload, &payload[..]);
        }
    }
}
