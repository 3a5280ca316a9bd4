//! Frames sealed in place, in buffers a writer handed over with
//! [`WriteOwned`](hyphae_core::WriteOwned): each waits as its length prefix, its ciphertext
//! (where the plaintext was) and its tag, and goes to the socket in vectored writes, so bulk
//! data is never copied between the muxer and the socket.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::BytesMut;

use crate::{TAG_LEN, frame};

/// Sealed frames waiting for the socket, oldest first.
#[derive(Debug, Default)]
pub(crate) struct InPlaceFrames {
    frames: VecDeque<InPlaceFrame>,
    /// Bytes of all frames not yet written.
    unsent: usize,
}

#[derive(Debug)]
struct InPlaceFrame {
    prefix: [u8; frame::PREFIX_LEN],
    ciphertext: BytesMut,
    tag: [u8; TAG_LEN],
    /// Bytes of the frame (prefix, ciphertext, tag in that order) already written.
    sent: usize,
}

impl InPlaceFrame {
    fn len(&self) -> usize {
        frame::PREFIX_LEN + self.ciphertext.len() + TAG_LEN
    }

    /// What is left to write of the prefix, the ciphertext and the tag.
    fn unsent_parts(&self) -> [&[u8]; 3] {
        let mut skip = self.sent;
        let mut parts = [&self.prefix[..], &self.ciphertext[..], &self.tag[..]];
        for part in &mut parts {
            let skipped = skip.min(part.len());
            *part = &part[skipped..];
            skip -= skipped;
        }
        parts
    }
}

impl InPlaceFrames {
    /// Queues a sealed frame behind the others.
    pub(crate) fn push(
        &mut self,
        prefix: [u8; frame::PREFIX_LEN],
        ciphertext: BytesMut,
        tag: [u8; TAG_LEN],
    ) {
        let frame = InPlaceFrame {
            prefix,
            ciphertext,
            tag,
            sent: 0,
        };
        self.unsent += frame.len();
        self.frames.push_back(frame);
    }

    /// Bytes waiting to be written.
    pub(crate) fn unsent(&self) -> usize {
        self.unsent
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Fills `slices` with the unsent bytes, oldest first, as far as they go; returns how
    /// many slices it filled.
    pub(crate) fn gather<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let parts = self
            .frames
            .iter()
            .flat_map(InPlaceFrame::unsent_parts)
            .filter(|part| !part.is_empty());
        let mut filled = 0;
        for (slot, part) in slices.iter_mut().zip(parts) {
            *slot = IoSlice::new(part);
            filled += 1;
        }
        filled
    }

    /// Marks `written` bytes as sent, dropping the frames that are done; returns the part
    /// of `written` beyond the queued frames (the caller's bytes that were written after
    /// them).
    pub(crate) fn consume(&mut self, mut written: usize) -> usize {
        while let Some(front) = self.frames.front_mut() {
            let left = front.len() - front.sent;
            if written < left {
                front.sent += written;
                self.unsent -= written;
                return 0;
            }
            written -= left;
            self.unsent -= left;
            self.frames.pop_front();
        }
        written
    }

    /// Frees the queue's memory once it is empty, for a connection gone quiet.
    pub(crate) fn release_if_empty(&mut self) {
        if self.frames.is_empty() {
            self.frames = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(bodies: &[&[u8]]) -> InPlaceFrames {
        let mut frames = InPlaceFrames::default();
        for (i, body) in bodies.iter().enumerate() {
            let n = u8::try_from(i).unwrap();
            frames.push([n, n], BytesMut::from(*body), [n + 100; TAG_LEN]);
        }
        frames
    }

    /// Everything `gather` offers, concatenated.
    fn gathered(frames: &InPlaceFrames, slots: usize) -> Vec<u8> {
        let mut slices = vec![IoSlice::new(&[]); slots];
        let filled = frames.gather(&mut slices);
        slices[..filled].iter().flat_map(|s| s.to_vec()).collect()
    }

    #[test]
    fn frames_are_offered_as_prefix_ciphertext_and_tag_in_order() {
        let frames = queue(&[b"abc", b"", b"de"]);
        assert_eq!(frames.unsent(), 3 * (2 + TAG_LEN) + 5);
        let mut expected = vec![0, 0];
        expected.extend_from_slice(b"abc");
        expected.extend_from_slice(&[100; TAG_LEN]);
        expected.extend_from_slice(&[1, 1]);
        expected.extend_from_slice(&[101; TAG_LEN]);
        expected.extend_from_slice(&[2, 2]);
        expected.extend_from_slice(b"de");
        expected.extend_from_slice(&[102; TAG_LEN]);
        assert_eq!(gathered(&frames, 16), expected);
        // With fewer slots, a prefix of the same bytes.
        assert_eq!(gathered(&frames, 4), expected[..2 + 3 + TAG_LEN + 2]);
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut frames = queue(&[b"abcdef", b"gh"]);
        let total = frames.unsent();
        let all = gathered(&frames, 16);
        let mut sent = 0;
        // Cut inside the prefix, the ciphertext, the tag and across frames.
        for step in [1, 3, 5, 17, 1, 2] {
            assert_eq!(frames.consume(step), 0);
            sent += step;
            assert_eq!(frames.unsent(), total - sent);
            assert_eq!(gathered(&frames, 16), all[sent..]);
        }
        // Bytes written beyond the queue belong to the caller.
        assert_eq!(frames.consume(total - sent + 7), 7);
        assert!(frames.is_empty());
        assert_eq!(frames.unsent(), 0);
    }
}
