//! The only structured bytes on a perf stream: the download size the client asks for
//! (spec: "Protocol", client step 2).

/// Length of the header: one big-endian `u64`.
pub const HEADER_LEN: usize = 8;

/// Encodes the download size the client requests.
pub(crate) fn encode_header(download_bytes: u64) -> [u8; HEADER_LEN] {
    download_bytes.to_be_bytes()
}

/// Decodes a complete header. Every value is valid: zero and `u64::MAX` are both allowed
/// (the latter for timer-based downloads the client ends by closing).
pub(crate) fn decode_header(header: [u8; HEADER_LEN]) -> u64 {
    u64::from_be_bytes(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_big_endian() {
        assert_eq!(
            encode_header(0x0102_0304_0506_0708),
            [1, 2, 3, 4, 5, 6, 7, 8]
        );
        assert_eq!(decode_header([0, 0, 0, 0, 0, 0, 1, 0]), 256);
    }

    #[test]
    fn header_round_trips_extremes() {
        for size in [0, 1, u64::MAX] {
            assert_eq!(decode_header(encode_header(size)), size);
        }
    }
}
