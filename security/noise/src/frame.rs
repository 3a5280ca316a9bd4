//! The noise-libp2p wire format (noise/README.md, "Wire Format"): every Noise message,
//! handshake or transport, is sent as a 16-bit big-endian length followed by the message.
//! The length prefix cannot announce more than [`MAX_MESSAGE_LEN`](crate::MAX_MESSAGE_LEN),
//! so a peer can never make us buffer more than one such message per frame.

/// Bytes of the length prefix.
pub(crate) const PREFIX_LEN: usize = 2;

/// The length of the message in the first frame of `input`, if that frame is complete.
pub(crate) fn complete(input: &[u8]) -> Option<usize> {
    let (prefix, rest) = input.split_first_chunk::<PREFIX_LEN>()?;
    let len = usize::from(u16::from_be_bytes(*prefix));
    (rest.len() >= len).then_some(len)
}

/// The length prefix of a message of `len` bytes, or `None` if it does not fit in a frame.
pub(crate) fn prefix(len: usize) -> Option<[u8; PREFIX_LEN]> {
    u16::try_from(len).ok().map(u16::to_be_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_complete_frames_only() {
        assert_eq!(complete(&[]), None);
        assert_eq!(complete(&[0]), None);
        assert_eq!(complete(&[0, 0]), Some(0));
        assert_eq!(complete(&[0, 3, 1, 2]), None);
        assert_eq!(complete(&[0, 3, 1, 2, 3, 9]), Some(3));
        assert_eq!(complete(&[0xff, 0xff]), None);
    }

    #[test]
    fn prefixes_lengths_up_to_the_maximum() {
        assert_eq!(prefix(0x1234), Some([0x12, 0x34]));
        assert_eq!(prefix(65535), Some([0xff, 0xff]));
        assert_eq!(prefix(65536), None);
    }
}
