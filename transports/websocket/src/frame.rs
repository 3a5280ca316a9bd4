//! RFC 6455 section 5: the frame header, masking and the rules every frame must obey, as
//! plain functions over byte slices (no I/O).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Deliberate leniency: a length written with more bytes than needed is accepted (the RFC
//! asks senders for the minimal form; we always send it).

use crate::FrameError;

/// The longest header: 2 fixed bytes, 8 of extended length, 4 of masking key.
pub const MAX_HEADER_LEN: usize = 14;

/// The longest payload of a control frame (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Close status 1000: normal closure (RFC 6455 section 7.4.1).
pub const CLOSE_NORMAL: u16 = 1000;

/// Close status 1002: protocol error (RFC 6455 section 7.4.1).
pub const CLOSE_PROTOCOL_ERROR: u16 = 1002;

/// Close status 1009: message too big (RFC 6455 section 7.4.1).
pub const CLOSE_TOO_BIG: u16 = 1009;

/// Which end of the connection this is; it decides who masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The end that sent the upgrade request: masks every frame it sends.
    Client,
    /// The end that accepted the upgrade: never masks.
    Server,
}

/// A frame's opcode (RFC 6455 section 5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// `0x0`: the next fragment of a message.
    Continuation,
    /// `0x1`: the first fragment of a UTF-8 text message.
    Text,
    /// `0x2`: the first fragment of a binary message.
    Binary,
    /// `0x8`: the connection is closing.
    Close,
    /// `0x9`: asks for a pong.
    Ping,
    /// `0xA`: answers a ping.
    Pong,
}

impl OpCode {
    /// The opcode's 4-bit value.
    pub fn value(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    /// Reads a 4-bit opcode; reserved values are refused.
    pub fn from_value(value: u8) -> Result<OpCode, FrameError> {
        Ok(match value {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            other => return Err(FrameError::ReservedOpcode(other)),
        })
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub fn is_control(self) -> bool {
        self.value() & 0x8 != 0
    }
}

/// A decoded frame header; the payload follows it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Whether this frame ends its message.
    pub fin: bool,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The masking key, present on (and only on) frames a client sends.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

impl Header {
    /// Writes the header into `out` and returns its length (2 to [`MAX_HEADER_LEN`]), always
    /// in the minimal length form.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | self.opcode.value();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut len = 2;
        if self.payload_len < 126 {
            // Fits in 7 bits by the branch condition.
            out[1] = mask_bit | self.payload_len as u8;
        } else if let Ok(short) = u16::try_from(self.payload_len) {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&short.to_be_bytes());
            len = 4;
        } else {
            out[1] = mask_bit | 127;
            out[2..10].copy_from_slice(&self.payload_len.to_be_bytes());
            len = 10;
        }
        if let Some(key) = self.mask {
            out[len..len + 4].copy_from_slice(&key);
            len += 4;
        }
        len
    }
}

/// Reads one frame header from the front of `input`, as received by `receiver`.
///
/// Returns `Ok(None)` while the header is incomplete, else the header and its length.
/// Enforces everything knowable from the header alone: reserved bits and opcodes, control
/// frame rules, the masking direction and `max_payload` (which must fit control frames,
/// i.e. be at least 125; smaller values still admit control frames).
pub fn decode_header(
    input: &[u8],
    receiver: Role,
    max_payload: u64,
) -> Result<Option<(Header, usize)>, FrameError> {
    let [first, second, rest @ ..] = input else {
        return Ok(None);
    };
    let reserved = (first >> 4) & 0x7;
    if reserved != 0 {
        return Err(FrameError::ReservedBits(reserved));
    }
    let fin = first & 0x80 != 0;
    let opcode = OpCode::from_value(first & 0x0F)?;
    let masked = second & 0x80 != 0;
    match (receiver, masked) {
        (Role::Server, false) => return Err(FrameError::UnmaskedClientFrame),
        (Role::Client, true) => return Err(FrameError::MaskedServerFrame),
        _ => {}
    }
    let (payload_len, extended) = match second & 0x7F {
        126 => match rest {
            [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
            _ => return Ok(None),
        },
        127 => match rest.first_chunk::<8>() {
            Some(bytes) => {
                let len = u64::from_be_bytes(*bytes);
                if len >> 63 != 0 {
                    return Err(FrameError::LengthOverflow);
                }
                (len, 8)
            }
            None => return Ok(None),
        },
        short => (u64::from(short), 0),
    };
    if opcode.is_control() {
        if !fin {
            return Err(FrameError::FragmentedControl);
        }
        if payload_len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(FrameError::ControlTooLong(payload_len));
        }
    } else if payload_len > max_payload {
        return Err(FrameError::TooLarge {
            len: payload_len,
            max: max_payload,
        });
    }
    let mut len = 2 + extended;
    let mask = if masked {
        let Some(key) = rest.get(extended..extended + 4) else {
            return Ok(None);
        };
        len += 4;
        Some([key[0], key[1], key[2], key[3]])
    } else {
        None
    };
    Ok(Some((
        Header {
            fin,
            opcode,
            mask,
            payload_len,
        },
        len,
    )))
}

/// XORs `data` with the masking key, as if `data` started `offset` bytes into the payload.
///
/// Masking and unmasking are the same operation. Works eight bytes at a time.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    let mut key = key;
    key.rotate_left(offset % 4);
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let (words, rest) = data.as_chunks_mut::<8>();
    for word in words {
        *word = (u64::from_ne_bytes(*word) ^ wide).to_ne_bytes();
    }
    // The words covered a multiple of 4 bytes, so the key phase is unchanged here.
    for (byte, key_byte) in rest.iter_mut().zip(key.iter().cycle()) {
        *byte ^= key_byte;
    }
}

/// Checks a received close payload: empty, or a status code that may be sent on the wire
/// followed by a UTF-8 reason (RFC 6455 sections 5.5.1 and 7.4). Returns the status code.
pub fn parse_close(payload: &[u8]) -> Result<Option<u16>, FrameError> {
    let (code, reason) = match payload {
        [] => return Ok(None),
        [hi, lo, reason @ ..] => (u16::from_be_bytes([*hi, *lo]), reason),
        [_] => return Err(FrameError::InvalidClose),
    };
    let sendable = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
    if !sendable || std::str::from_utf8(reason).is_err() {
        return Err(FrameError::InvalidClose);
    }
    Ok(Some(code))
}

/// A fast generator of masking keys, seeded once per connection from the OS.
///
/// RFC 6455 section 5.3 asks for unpredictable keys so that a script cannot choose the bytes
/// an intermediary sees; a SplitMix64 stream from a random 64-bit seed serves that purpose
/// (it is not a cryptographic generator, and masking is not encryption).
#[derive(Debug, Clone)]
pub struct MaskRng {
    state: u64,
}

impl MaskRng {
    /// A generator starting at `seed`.
    pub fn from_seed(seed: u64) -> MaskRng {
        MaskRng { state: seed }
    }

    /// A generator seeded from the operating system (a fixed seed if that fails, which still
    /// yields a valid, if predictable, connection).
    pub fn from_os() -> MaskRng {
        MaskRng::from_seed(getrandom::u64().unwrap_or(0x9E37_79B9_7F4A_7C15))
    }

    /// The next masking key.
    pub fn next_key(&mut self) -> [u8; 4] {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let bytes = z.to_le_bytes();
        [bytes[0], bytes[1], bytes[2], bytes[3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_rfc_examples() {
        // RFC 6455 section 5.7: unmasked and masked "Hello".
        let unmasked = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let (header, len) = decode_header(&unmasked, Role::Client, 1 << 20)
            .unwrap()
            .unwrap();
        assert_eq!(len, 2);
        assert_eq!(
            header,
            Header {
                fin: true,
                opcode: OpCode::Text,
                mask: None,
                payload_len: 5
            }
        );
        let masked = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let (header, len) = decode_header(&masked, Role::Server, 1 << 20)
            .unwrap()
            .unwrap();
        assert_eq!(len, 6);
        let mut payload = masked[6..].to_vec();
        apply_mask(&mut payload, header.mask.unwrap(), 0);
        assert_eq!(payload, b"Hello");
        // 256 bytes binary, unmasked: 16-bit length.
        let (header, len) = decode_header(&[0x82, 0x7E, 0x01, 0x00], Role::Client, 1 << 20)
            .unwrap()
            .unwrap();
        assert_eq!((header.payload_len, len), (256, 4));
        // 64 KiB binary, unmasked: 64-bit length.
        let long = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let (header, len) = decode_header(&long, Role::Client, 1 << 20)
            .unwrap()
            .unwrap();
        assert_eq!((header.payload_len, len), (65536, 10));
    }

    #[test]
    fn waits_for_a_complete_header() {
        let masked = [0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4];
        for end in 0..masked.len() {
            assert_eq!(
                decode_header(&masked[..end], Role::Server, 1 << 20),
                Ok(None)
            );
        }
        assert!(
            decode_header(&masked, Role::Server, 1 << 20)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn enforces_the_frame_rules() {
        let check = |bytes: &[u8], receiver| decode_header(bytes, receiver, 1000);
        assert_eq!(
            check(&[0xC2, 0x00], Role::Client),
            Err(FrameError::ReservedBits(0b100))
        );
        assert_eq!(
            check(&[0x83, 0x00], Role::Client),
            Err(FrameError::ReservedOpcode(3))
        );
        assert_eq!(
            check(&[0x09, 0x00], Role::Client),
            Err(FrameError::FragmentedControl)
        );
        assert_eq!(
            check(&[0x89, 0x7E, 0x00, 0x7E], Role::Client),
            Err(FrameError::ControlTooLong(126))
        );
        assert_eq!(
            check(&[0x82, 0x00], Role::Server),
            Err(FrameError::UnmaskedClientFrame)
        );
        assert_eq!(
            check(&[0x82, 0x80, 0, 0, 0, 0], Role::Client),
            Err(FrameError::MaskedServerFrame)
        );
        assert_eq!(
            check(&[0x82, 0x7E, 0x03, 0xE9], Role::Client),
            Err(FrameError::TooLarge {
                len: 1001,
                max: 1000
            })
        );
        assert_eq!(
            check(&[0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], Role::Client),
            Err(FrameError::LengthOverflow)
        );
    }

    #[test]
    fn masking_matches_a_bytewise_reference_at_every_offset() {
        let key = [0xA1, 0xB2, 0xC3, 0xD4];
        let data: Vec<u8> = (0..=255u8).cycle().take(301).collect();
        for offset in 0..8 {
            for start in 0..9 {
                let mut fast = data[start..].to_vec();
                apply_mask(&mut fast, key, offset);
                let slow: Vec<u8> = data[start..]
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ key[(i + offset) % 4])
                    .collect();
                assert_eq!(fast, slow, "offset {offset} start {start}");
            }
        }
    }

    #[test]
    fn validates_close_payloads() {
        assert_eq!(parse_close(&[]), Ok(None));
        assert_eq!(parse_close(&[0x03, 0xE8]), Ok(Some(1000)));
        assert_eq!(parse_close(&[0x03, 0xE8, b'o', b'k']), Ok(Some(1000)));
        assert_eq!(parse_close(&[0x03]), Err(FrameError::InvalidClose));
        // 1005 and 1006 are reserved for local use and must never be sent.
        assert_eq!(parse_close(&[0x03, 0xED]), Err(FrameError::InvalidClose));
        assert_eq!(
            parse_close(&[0x03, 0xE8, 0xFF]),
            Err(FrameError::InvalidClose)
        );
    }

    #[test]
    fn mask_keys_vary() {
        let mut rng = MaskRng::from_seed(7);
        let keys: Vec<[u8; 4]> = (0..64).map(|_| rng.next_key()).collect();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len());
    }
}
