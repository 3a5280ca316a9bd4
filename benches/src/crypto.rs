//! What one core can seal with the AEADs of libp2p's secure channels: ring's, and OpenSSL's
//! ChaCha20-Poly1305, which hyphae's Noise uses on CPUs with AVX-512.

use std::time::{Duration, Instant};

use ring::aead::{AES_256_GCM, Aad, Algorithm, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};

/// Plaintext per sealed record: the largest a Noise transport message carries (65535 bytes
/// minus the 16-byte tag), as hyphae's Noise sends under bulk load.
pub const RECORD: usize = 65535 - 16;

/// The ciphers measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cipher {
    /// Noise's cipher in libp2p, from ring.
    ChaCha20Poly1305,
    /// The same from the system's OpenSSL.
    ChaCha20Poly1305OpenSsl,
    /// TLS 1.3's usual cipher, from ring.
    Aes256Gcm,
}

impl Cipher {
    /// The name shown in reports.
    pub fn name(self) -> &'static str {
        match self {
            Cipher::ChaCha20Poly1305 => "ChaCha20-Poly1305 (ring)",
            Cipher::ChaCha20Poly1305OpenSsl => "ChaCha20-Poly1305 (OpenSSL)",
            Cipher::Aes256Gcm => "AES-256-GCM (ring)",
        }
    }

    /// Every cipher, in report order.
    pub const ALL: [Cipher; 3] = [
        Cipher::ChaCha20Poly1305,
        Cipher::ChaCha20Poly1305OpenSsl,
        Cipher::Aes256Gcm,
    ];
}

/// Seals `bytes` bytes (rounded up to whole records) in place on this thread and returns
/// how long it took.
pub fn seal(cipher: Cipher, bytes: u64) -> anyhow::Result<Duration> {
    let records = bytes.div_ceil(RECORD as u64);
    match cipher {
        Cipher::ChaCha20Poly1305 => seal_with_ring(&CHACHA20_POLY1305, records),
        Cipher::Aes256Gcm => seal_with_ring(&AES_256_GCM, records),
        Cipher::ChaCha20Poly1305OpenSsl => seal_with_openssl(records),
    }
}

fn nonce(counter: u64) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_le_bytes());
    nonce
}

fn seal_with_ring(algorithm: &'static Algorithm, records: u64) -> anyhow::Result<Duration> {
    let key = LessSafeKey::new(
        UnboundKey::new(algorithm, &[7; 32]).map_err(|_| anyhow::anyhow!("bad key length"))?,
    );
    let mut record = vec![0u8; RECORD];
    let start = Instant::now();
    for counter in 0..records {
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce(counter)),
                Aad::empty(),
                &mut record,
            )
            .map_err(|_| anyhow::anyhow!("seal failed"))?;
        let _ = std::hint::black_box(tag);
    }
    Ok(start.elapsed())
}

/// As hyphae's Noise does with OpenSSL: one context keyed once, a new nonce per record.
fn seal_with_openssl(records: u64) -> anyhow::Result<Duration> {
    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;
    let mut ctx = CipherCtx::new()?;
    ctx.encrypt_init(Some(Cipher::chacha20_poly1305()), Some(&[7; 32]), None)?;
    let mut record = vec![0u8; RECORD];
    let mut tag = [0u8; 16];
    let start = Instant::now();
    for counter in 0..records {
        ctx.encrypt_init(None, None, Some(&nonce(counter)))?;
        ctx.cipher_update_inplace(&mut record, RECORD)?;
        ctx.cipher_final(&mut [])?;
        ctx.tag(&mut tag)?;
        std::hint::black_box(&tag);
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
        for cipher in Cipher::ALL {
            seal(cipher, 100_000).unwrap();
        }
    }
}
