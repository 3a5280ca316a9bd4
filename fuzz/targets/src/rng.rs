//! A deterministic stand-in for the OS RNG, so that a corpus file replays the same run.
//!
//! It is not random at all: good for fuzzing a handshake's parsing, useless for keys that
//! must stay secret.

use std::convert::Infallible;

use rand_core::{TryCryptoRng, TryRng};

/// Counts up from a seed, SplitMix64-scrambled.
pub(crate) struct FixedRng(u64);

impl FixedRng {
    pub(crate) fn new(seed: u64) -> FixedRng {
        FixedRng(seed)
    }
}

impl TryRng for FixedRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.try_next_u64().map(|value| (value >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.try_next_u64()?.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

/// Claimed only so the handshake accepts it; see the module docs.
impl TryCryptoRng for FixedRng {}
