//! Payload buffers the application has finished reading, kept for later large payloads.
//!
//! Bulk data arrives as one buffer per Data payload. Freeing each once it is read and
//! allocating the next lets the allocator hand the pages back to the kernel and fault them in
//! again: on loopback that cost the reading thread from a quarter to nearly all of what its
//! decryption cost, depending on how far the reader lagged.
//! Keeping a few megabytes of read buffers while bulk data moves avoids it; the driver frees
//! them once the connection goes quiet.

use bytes::{Bytes, BytesMut};

use super::receive::LARGE_PAYLOAD;

/// Most bytes kept per session: more than the payloads a driver takes in one turn (about
/// 1 MiB), so the reader's turn refills what the driver's turn used.
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// Largest buffer kept: larger payloads are rare and get buffers of their own.
const MAX_BUFFER: usize = 256 * 1024;

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
