//! A running hash of a simulation's events: two runs with equal hashes did the same thing.

/// FNV-1a over 64-bit words: stable across Rust versions and platforms, unlike the standard
/// library's hasher, which is what a hash written into a test or a report needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceHash(u64);

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for TraceHash {
    fn default() -> TraceHash {
        TraceHash(OFFSET)
    }
}

impl TraceHash {
    /// Adds one event, given as words.
    pub fn add(&mut self, words: &[u64]) {
        for word in words {
            for byte in word.to_le_bytes() {
                self.0 ^= u64::from(byte);
                self.0 = self.0.wrapping_mul(PRIME);
            }
        }
        // An end marker, so that [a, b] then [c] differs from [a] then [b, c].
        self.0 ^= 0xff;
        self.0 = self.0.wrapping_mul(PRIME);
    }

    /// The hash so far.
    pub fn get(&self) -> u64 {
        self.0
    }
}
