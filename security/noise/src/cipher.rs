//! The Noise `CipherState` with the ChaChaPoly cipher functions (Noise Protocol Framework
//! rev 34, sections 5.1 and 12.3).
//!
//! The AEAD itself comes from [`crate::aead`]: ring's, or OpenSSL's where the `openssl`
//! feature is on and it is faster.

use crate::aead::{Aead, NonceBytes};
use crate::{Error, TAG_LEN};

/// A key (or none yet) and the nonce of the next message under it.
///
/// Nonces count up from 0; 2^64 - 1 is reserved (section 5.1), so a cipher stops after
/// 2^64 - 1 messages with [`Error::NonceExhausted`] instead of ever reusing a nonce.
pub(crate) struct CipherState {
    // The AEAD leaves nonce uniqueness to us: `nonce` below never repeats.
    cipher: Option<Aead>,
    nonce: u64,
}

impl CipherState {
    /// A cipher state without a key: `EncryptWithAd` and `DecryptWithAd` pass data through.
    pub(crate) fn empty() -> CipherState {
        CipherState {
            cipher: None,
            nonce: 0,
        }
    }

    /// `InitializeKey(key)`: a keyed cipher state whose next nonce is 0.
    pub(crate) fn new(key: &[u8; 32]) -> CipherState {
        CipherState {
            cipher: Some(Aead::ring(key)),
            nonce: 0,
        }
    }

    /// `InitializeKey(key)` for a transport cipher, which may carry bulk data: bulk frames
    /// go to the library that seals them fastest on this CPU (see [`Aead::fastest`]).
    /// Handshake ciphers seal a few short messages, with ring alone.
    pub(crate) fn for_transport(key: &[u8; 32]) -> CipherState {
        CipherState {
            cipher: Some(Aead::fastest(key)),
            nonce: 0,
        }
    }

    /// Frees what the cipher libraries keyed, for a connection gone quiet (see
    /// [`Aead::release_key_state`]).
    pub(crate) fn release_key_state(&mut self) {
        if let Some(cipher) = &mut self.cipher {
            cipher.release_key_state();
        }
    }

    #[cfg(test)]
    pub(crate) fn holds_bulk_state(&self) -> bool {
        self.cipher.as_ref().is_some_and(Aead::holds_bulk_state)
    }

    /// Whether either library's keyed state is held.
    #[cfg(test)]
    pub(crate) fn holds_key_state(&self) -> bool {
        self.cipher
            .as_ref()
            .is_some_and(|cipher| cipher.holds_ring_state() || cipher.holds_bulk_state())
    }

    /// `HasKey()`.
    pub(crate) fn has_key(&self) -> bool {
        self.cipher.is_some()
    }

    /// The nonce of the next message.
    #[cfg(test)]
    pub(crate) fn nonce(&self) -> u64 {
        self.nonce
    }

    /// Sets the nonce of the next message (`SetNonce`), for tests of the nonce limit.
    #[cfg(test)]
    pub(crate) fn set_nonce(&mut self, nonce: u64) {
        self.nonce = nonce;
    }

    /// The 96-bit ChaChaPoly nonce for the current counter: 32 bits of zeros, then the
    /// counter little-endian (section 12.3), or an error once the reserved maximum is reached.
    fn current_nonce(&self) -> Result<NonceBytes, Error> {
        if self.nonce == u64::MAX {
            return Err(Error::NonceExhausted);
        }
        let mut nonce = NonceBytes::default();
        nonce[4..].copy_from_slice(&self.nonce.to_le_bytes());
        Ok(nonce)
    }

    /// Encrypts `buffer` in place under the next nonce and returns the tag.
    ///
    /// Only a keyed cipher encrypts; the transport phase's ciphers always are.
    pub(crate) fn encrypt_in_place(
        &mut self,
        associated_data: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        let nonce = self.current_nonce()?;
        let Some(cipher) = &mut self.cipher else {
            return Err(Error::OutOfOrder("encryption before a key was agreed"));
        };
        let tag = cipher.seal_in_place(nonce, associated_data, buffer)?;
        self.nonce += 1;
        Ok(tag)
    }

    /// Decrypts `buffer` in place under the next nonce, checking `tag`.
    ///
    /// On failure the nonce does not advance (section 5.1) and the buffer's contents are
    /// unspecified. Only a keyed cipher decrypts.
    pub(crate) fn decrypt_in_place(
        &mut self,
        associated_data: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        let nonce = self.current_nonce()?;
        let Some(cipher) = &mut self.cipher else {
            return Err(Error::OutOfOrder("decryption before a key was agreed"));
        };
        cipher.open_in_place(nonce, associated_data, buffer, tag)?;
        self.nonce += 1;
        Ok(())
    }

    /// `EncryptWithAd(ad, plaintext)`, appending the ciphertext (and tag, when keyed) to `out`.
    pub(crate) fn encrypt_with_ad(
        &mut self,
        associated_data: &[u8],
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = out.len();
        out.extend_from_slice(plaintext);
        if !self.has_key() {
            return Ok(());
        }
        match self.encrypt_in_place(associated_data, &mut out[start..]) {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(error) => {
                out.truncate(start);
                Err(error)
            }
        }
    }

    /// `DecryptWithAd(ad, ciphertext)`, appending the plaintext to `out`.
    pub(crate) fn decrypt_with_ad(
        &mut self,
        associated_data: &[u8],
        ciphertext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if !self.has_key() {
            out.extend_from_slice(ciphertext);
            return Ok(());
        }
        let Some(body_len) = ciphertext.len().checked_sub(TAG_LEN) else {
            return Err(Error::Decrypt);
        };
        let (body, tag) = ciphertext.split_at(body_len);
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Decrypt)?;
        let start = out.len();
        out.extend_from_slice(body);
        let result = self.decrypt_in_place(associated_data, &mut out[start..], tag);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_counts_nonces() {
        let key = [7u8; 32];
        let (mut sender, mut receiver) = (CipherState::new(&key), CipherState::new(&key));
        for message in [&b""[..], b"hello", &[0xaa; 1000]] {
            let mut ciphertext = Vec::new();
            sender
                .encrypt_with_ad(b"ad", message, &mut ciphertext)
                .unwrap();
            assert_eq!(ciphertext.len(), message.len() + TAG_LEN);
            let mut plaintext = Vec::new();
            receiver
                .decrypt_with_ad(b"ad", &ciphertext, &mut plaintext)
                .unwrap();
            assert_eq!(plaintext, message);
        }
        assert_eq!((sender.nonce(), receiver.nonce()), (3, 3));
    }

    #[test]
    fn without_a_key_data_passes_through() {
        let mut cipher = CipherState::empty();
        let mut out = Vec::new();
        cipher.encrypt_with_ad(b"ad", b"clear", &mut out).unwrap();
        assert_eq!(out, b"clear");
    }

    #[test]
    fn rejects_tampering_without_advancing_the_nonce() {
        let key = [1u8; 32];
        let mut ciphertext = Vec::new();
        CipherState::new(&key)
            .encrypt_with_ad(b"", b"payload", &mut ciphertext)
            .unwrap();
        ciphertext[0] ^= 1;
        let mut receiver = CipherState::new(&key);
        let mut plaintext = Vec::new();
        assert!(matches!(
            receiver.decrypt_with_ad(b"", &ciphertext, &mut plaintext),
            Err(Error::Decrypt)
        ));
        assert!(plaintext.is_empty());
        assert_eq!(receiver.nonce(), 0);
        assert!(matches!(
            receiver.decrypt_with_ad(b"", &[0; 15], &mut plaintext),
            Err(Error::Decrypt)
        ));
    }

    #[test]
    fn stops_before_the_reserved_nonce() {
        let mut cipher = CipherState::new(&[3u8; 32]);
        cipher.set_nonce(u64::MAX - 1);
        let mut out = Vec::new();
        cipher.encrypt_with_ad(b"", b"last", &mut out).unwrap();
        out.clear();
        assert!(matches!(
            cipher.encrypt_with_ad(b"", b"one too many", &mut out),
            Err(Error::NonceExhausted)
        ));
        assert!(out.is_empty());
        let mut receiver = CipherState::new(&[3u8; 32]);
        receiver.set_nonce(u64::MAX);
        assert!(matches!(
            receiver.decrypt_in_place(b"", &mut [], &[0; TAG_LEN]),
            Err(Error::NonceExhausted)
        ));
    }
}
