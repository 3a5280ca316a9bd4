//! Unsigned LEB128 varints as the multiformats unsigned-varint spec defines them: seven bits
//! per byte, least significant group first, and only the shortest encoding accepted.

use crate::Error;

/// The most bytes a `u64` varint occupies.
pub const MAX_LEN: usize = 10;

/// Encodes `value` into `buf` and returns the bytes written.
///
/// ```
/// let mut buf = [0u8; hyphae_encoding::varint::MAX_LEN];
/// assert_eq!(hyphae_encoding::varint::encode(300, &mut buf), &[0xac, 0x02]);
/// ```
pub fn encode(mut value: u64, buf: &mut [u8; MAX_LEN]) -> &[u8] {
    let mut len = 0;
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            buf[len] = byte;
            len += 1;
            return &buf[..len];
        }
        buf[len] = byte | 0x80;
        len += 1;
    }
}

/// Appends the encoding of `value` to `out`.
pub fn encode_to_vec(value: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; MAX_LEN];
    out.extend_from_slice(encode(value, &mut buf));
}

/// How many bytes [`encode`] writes for `value`.
pub fn encoded_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Decodes a varint from the front of `bytes`, returning the value and the bytes it occupied.
///
/// [`Error::VarintIncomplete`] means the input ended mid-varint (a stream reader should wait for
/// more); overlong or non-minimal encodings are errors.
pub fn decode(bytes: &[u8]) -> Result<(u64, usize), Error> {
    let mut value: u64 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(MAX_LEN) {
        let group = u64::from(byte & 0x7f);
        let shift = 7 * index as u32;
        if index == MAX_LEN - 1 && group > 1 {
            return Err(Error::VarintOverflow);
        }
        value |= group << shift;
        if byte & 0x80 == 0 {
            if byte == 0 && index > 0 {
                return Err(Error::VarintNotMinimal);
            }
            return Ok((value, index + 1));
        }
    }
    if bytes.len() >= MAX_LEN {
        Err(Error::VarintOverflow)
    } else {
        Err(Error::VarintIncomplete)
    }
}

/// Decodes a varint that is used as a length or count, so it must fit in `usize`.
pub fn decode_usize(bytes: &[u8]) -> Result<(usize, usize), Error> {
    let (value, len) = decode(bytes)?;
    let value = usize::try_from(value).map_err(|_| Error::VarintOverflow)?;
    Ok((value, len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn encodes_spec_examples() {
        // Examples from the multiformats unsigned-varint README.
        let cases: &[(u64, &[u8])] = &[
            (1, &[0x01]),
            (127, &[0x7f]),
            (128, &[0x80, 0x01]),
            (255, &[0xff, 0x01]),
            (300, &[0xac, 0x02]),
            (16384, &[0x80, 0x80, 0x01]),
        ];
        for &(value, bytes) in cases {
            let mut buf = [0; MAX_LEN];
            assert_eq!(encode(value, &mut buf), bytes, "encoding {value}");
            assert_eq!(decode(bytes), Ok((value, bytes.len())), "decoding {value}");
            assert_eq!(encoded_len(value), bytes.len());
        }
    }

    #[test]
    fn rejects_non_minimal_encoding() {
        assert_eq!(decode(&[0x81, 0x00]), Err(Error::VarintNotMinimal));
        assert_eq!(decode(&[0x80, 0x80, 0x00]), Err(Error::VarintNotMinimal));
    }

    #[test]
    fn reports_incomplete_input() {
        assert_eq!(decode(&[]), Err(Error::VarintIncomplete));
        assert_eq!(decode(&[0x80]), Err(Error::VarintIncomplete));
    }

    #[test]
    fn rejects_values_past_u64() {
        let mut too_big = [0xff; MAX_LEN];
        too_big[MAX_LEN - 1] = 0x02;
        assert_eq!(decode(&too_big), Err(Error::VarintOverflow));
        assert_eq!(decode(&[0xff; 11]), Err(Error::VarintOverflow));
        let mut buf = [0; MAX_LEN];
        assert_eq!(decode(encode(u64::MAX, &mut buf)), Ok((u64::MAX, MAX_LEN)));
    }

    proptest! {
        #[test]
        fn round_trips(value: u64) {
            let mut buf = [0; MAX_LEN];
            let bytes = encode(value, &mut buf);
            prop_assert_eq!(bytes.len(), encoded_len(value));
            prop_assert_eq!(decode(bytes), Ok((value, bytes.len())));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes: Vec<u8>) {
            if let Ok((value, len)) = decode(&bytes) {
                let mut buf = [0; MAX_LEN];
                prop_assert_eq!(encode(value, &mut buf), &bytes[..len]);
            }
        }
    }
}
