//! What one core can seal with the AEADs of libp2p's secure channels (ring).

use std::time::{Duration, Instant};

use ring::aead::{AES_256_GCM, Aad, Algorithm, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

/// Plaintext per sealed record: the largest a Noise transport message carries (65535 bytes
/// minus the 16-byte tag), as hyphae's Noise sends under bulk load.
pub const RECORD: usize = 65535 - 16;

/// The ciphers measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// Noise's cipher in libp2p.
    ChaCha20Poly1305,
    /// TLS 1.3's usual cipher.
    Aes256Gcm,
}

impl Cipher {
    /// The name shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            Cipher::ChaCha20Poly1305 => "ChaCha20-Poly1305",
            Cipher::Aes256Gcm => "AES-256-GCM",
        }
    }

    fn algorithm(self) -> &'static Algorithm {
        match self {
            Cipher::ChaCha20Poly1305 => &CHACHA20_POLY1305,
            Cipher::Aes256Gcm => &AES_256_GCM,
        }
    }
}

/// Seals `bytes` bytes (rounded up to whole records) in place on this thread and returns
/// how long it took.
pub fn seal(cipher: Cipher, bytes: u64) -> anyhow::Result<Duration> {
    let key = LessSafeKey::new(
        UnboundKey::new(cipher.algorithm(), &[7; 32])
            .map_err(|_| anyhow::anyhow!("bad key length"))?,
    );
    let mut record = vec![0u8; RECORD];
    let records = bytes.div_ceil(RECORD as u64);
    let start = Instant::now();
    for counter in 0..records {
        let mut nonce = [0u8; 12];
        nonce[4..].copy_from_slice(&counter.to_le_bytes());
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut record,
            )
            .map_err(|_| anyhow::anyhow!("seal failed"))?;
        let _ = std::hint::black_box(tag);
    }
    Ok(start.elapsed())
}

/// The bytes [`seal`] actually seals for a request of `bytes`.
pub fn sealed_bytes(bytes: u64) -> u64 {
    bytes.div_ceil(RECORD as u64) * RECORD as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_whole_records() {
        assert_eq!(sealed_bytes(1), RECORD as u64);
        assert_eq!(sealed_bytes(RECORD as u64 + 1), 2 * RECORD as u64);
        for cipher in [Cipher::ChaCha20Poly1305, Cipher::Aes256Gcm] {
            seal(cipher, 100_000).unwrap();
        }
    }
}
