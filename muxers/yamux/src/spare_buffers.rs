//! Payload buffers the application has finished reading, kept by the driver for later large
//! payloads: its memory strategy, not part of the protocol (the [`Session`](crate::Session)
//! only uses the buffer it is handed in
//! [`take_pending_payload`](crate::Session::take_pending_payload)).
//!
//! Bulk data arrives as one buffer per Data payload. Freeing each once it is read and
//! allocating the next lets the allocator hand the pages back to the kernel and fault them in
//! again: on loopback that cost the reading thread from a quarter to nearly all of what its
//! decryption cost, depending on how far the reader lagged.
//! Keeping a few megabytes of read buffers while bulk data moves avoids it; the driver frees
//! them once the connection goes quiet.

use bytes::{Bytes, BytesMut};

use crate::reader::LARGE_PAYLOAD;

/// Most bytes kept per connection: more than the payloads a driver takes in one turn (about
/// 1 MiB), so the reader's turn refills what the driver's turn used.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Largest buffer kept: larger payloads are rare and get buffers of their own.
const MAX_BUFFER: usize = 256 * 1024;

/// Buffers of payloads already read, for the next large payloads; see the
/// [module docs](self).
#[derive(Debug)]
pub(crate) struct SpareBuffers {
    /// Each buffer with the capacity it had when kept (reclaiming more of its allocation
    /// later may raise what it reports).
    buffers: Vec<(BytesMut, usize)>,
    /// Of the capacities counted, the sum.
    bytes: usize,
    /// Whether buffers handed back are kept at all.
    enabled: bool,
}

impl Default for SpareBuffers {
    fn default() -> SpareBuffers {
        SpareBuffers {
            buffers: Vec::new(),
            bytes: 0,
            enabled: true,
        }
    }
}

impl SpareBuffers {
    /// Starts or stops keeping buffers; stopping frees those kept.
    pub(crate) fn set_enabled(&mut self, enabled: bool) {
        if !enabled {
            self.buffers = Vec::new();
            self.bytes = 0;
        }
        self.enabled = enabled;
    }

    /// Keeps `chunk`'s memory if nothing else shares it and it is worth keeping.
    pub(crate) fn put(&mut self, chunk: Bytes) {
        if !self.enabled {
            return;
        }
        let Ok(mut buffer) = chunk.try_into_mut() else {
            return;
        };
        buffer.clear();
        // Reclaiming succeeds only if the whole allocation is that large: too large to keep.
        if buffer.try_reclaim(MAX_BUFFER + 1) {
            return;
        }
        // The last part of a payload read in pieces starts inside its allocation: rewind to
        // the start, so that the capacity counted is all the memory kept.
        let _ = buffer.try_reclaim(buffer.capacity() + 1);
        let size = buffer.capacity();
        if size >= LARGE_PAYLOAD && self.bytes + size <= MAX_BYTES {
            self.bytes += size;
            self.buffers.push((buffer, size));
        }
    }

    /// An empty buffer for a payload of `len` bytes: a kept one that holds it without
    /// pinning more than twice its size (so the windows still bound our memory, within a
    /// factor of two), else a new one of exactly that size.
    pub(crate) fn take(&mut self, len: usize) -> BytesMut {
        let fits = |(buffer, _): &mut (BytesMut, usize)| {
            buffer.try_reclaim(len) && buffer.capacity() <= 2 * len
        };
        match self.buffers.iter_mut().position(fits) {
            Some(index) => {
                let (buffer, counted) = self.buffers.swap_remove(index);
                self.bytes -= counted;
                buffer
            }
            None => BytesMut::with_capacity(len),
        }
    }

    /// Bytes kept.
    pub(crate) fn capacity(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A payload as the session hands it to readers: a buffer of exactly its size, frozen.
    fn payload(byte: u8, len: usize) -> Bytes {
        let mut buffer = BytesMut::with_capacity(len);
        buffer.resize(len, byte);
        buffer.freeze()
    }

    #[test]
    fn kept_buffers_take_later_payloads_of_at_least_half_their_size() {
        let mut spare = SpareBuffers::default();
        let first = payload(1, 64 * 1024);
        let memory = first.as_ptr();
        spare.put(first);

        let mut second = spare.take(40 * 1024);
        assert_eq!(
            second.as_ptr(),
            memory,
            "the kept buffer holds the next payload"
        );
        assert!(second.is_empty());
        assert_eq!(spare.capacity(), 0);
        second.extend_from_slice(&[2; 40 * 1024]);
        spare.put(second.freeze());

        // A buffer more than twice the payload's size would pin too much: a new one it is.
        let third = spare.take(20 * 1024);
        assert_ne!(third.as_ptr(), memory);
        assert_eq!(spare.capacity(), 64 * 1024);
    }

    #[test]
    fn a_chunk_shared_with_another_is_not_kept() {
        let mut spare = SpareBuffers::default();
        let chunk = payload(3, 20 * 1024);
        let shared = chunk.clone();
        spare.put(chunk);
        assert_eq!(spare.capacity(), 0);
        let next = spare.take(20 * 1024);
        assert_ne!(next.as_ptr(), shared.as_ptr());
        assert_eq!(&shared[..], &[3; 20 * 1024][..]);
    }

    #[test]
    fn kept_buffers_are_bounded_and_freed_when_disabled() {
        let mut spare = SpareBuffers::default();
        // Small chunks are not worth keeping.
        spare.put(Bytes::from(vec![0u8; 100]));
        assert_eq!(spare.capacity(), 0);
        // Nor are very large ones.
        spare.put(Bytes::from(vec![0u8; 300 * 1024]));
        assert_eq!(spare.capacity(), 0);
        // Payload-sized ones are, up to 4 MiB in all.
        for _ in 0..100 {
            spare.put(Bytes::from(vec![0u8; 64 * 1024]));
        }
        assert_eq!(spare.capacity(), 4 * 1024 * 1024);

        // Disabled, it frees what it kept and keeps nothing more until enabled again.
        spare.set_enabled(false);
        assert_eq!(spare.capacity(), 0);
        spare.put(Bytes::from(vec![0u8; 64 * 1024]));
        assert_eq!(spare.capacity(), 0);
        spare.set_enabled(true);
        spare.put(Bytes::from(vec![0u8; 64 * 1024]));
        assert_eq!(spare.capacity(), 64 * 1024);
    }

    #[test]
    fn the_last_piece_of_a_payload_read_in_pieces_is_kept_whole() {
        let mut spare = SpareBuffers::default();
        // Read in 10 000-byte pieces: each but the last shares the allocation while the rest
        // of the payload lives.
        let mut rest = payload(5, 64 * 1024);
        while !rest.is_empty() {
            let piece = rest.split_to(rest.len().min(10_000));
            spare.put(piece);
        }
        // The whole 64 KiB allocation is kept and counted, not just the last 5536 bytes.
        assert_eq!(spare.capacity(), 64 * 1024);
        // A buffer too large to keep is not kept, even when its last piece is small.
        let mut large = Bytes::from(vec![6u8; 300 * 1024]);
        let last = large.split_off(300 * 1024 - 9000);
        drop(large);
        assert_eq!(last.len(), 9000);
        spare.put(last);
        assert_eq!(spare.capacity(), 64 * 1024);
    }
}
