//! ChaCha20-Poly1305 (RFC 8439), the AEAD of `Noise_XX_25519_ChaChaPoly_SHA256`, from one of
//! two libraries.
//!
//! `ring` by default: its assembly interleaves ChaCha20 and Poly1305 in one AVX2 pass and is
//! the fastest choice on most CPUs. With the crate feature `openssl`, CPUs with AVX-512 seal
//! and open bulk messages with the system's OpenSSL instead, whose AVX-512 ChaCha20 and
//! Poly1305 move 1.3 times as many bytes per second as ring on such a CPU (without AVX-512
//! OpenSSL is no faster, so ring stays). Short messages keep to ring. A quiet connection
//! keeps only its keys: what the libraries key from them (ring's key object, OpenSSL's
//! contexts of about 2 KiB each) is set up again when messages move. Both compute the same
//! function, so which one handles a message does not show.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};
use zeroize::Zeroizing;

use crate::{Error, TAG_LEN};

/// The 96-bit nonce of one message.
pub(crate) type NonceBytes = [u8; 12];

/// Messages at least this long are bulk data, sealed and opened by OpenSSL where it is
/// faster. Noise transport frames under load carry 65519 bytes.
#[cfg(feature = "openssl")]
const BULK_MESSAGE: usize = 16 * 1024;

/// Whether [`Aead::fastest`] hands bulk messages to OpenSSL on this machine.
#[cfg(test)]
pub(crate) fn fastest_uses_openssl() -> bool {
    #[cfg(feature = "openssl")]
    {
        openssl_aead::is_faster_here()
    }
    #[cfg(not(feature = "openssl"))]
    {
        false
    }
}

/// A ChaCha20-Poly1305 key, ready to seal and open messages in place.
///
/// Only the key is kept for the connection's life. What the libraries key from it is set
/// up by the first message that needs it and freed once the connection goes quiet
/// ([`Aead::release_key_state`]): ring's key object is 544 bytes (its type has room for
/// AES-GCM's tables), twice per connection, and a node holds thousands of connections that
/// are idle nearly always.
pub(crate) struct Aead {
    key: Zeroizing<[u8; 32]>,
    /// ring's keyed state, while messages move.
    ring: Option<Box<LessSafeKey>>,
    /// OpenSSL for bulk messages, on CPUs where it is faster.
    #[cfg(feature = "openssl")]
    bulk: Option<openssl_aead::OpenSslAead>,
}

impl Aead {
    /// Keyed with `key`: ring, plus OpenSSL for bulk messages where it is faster.
    pub(crate) fn fastest(key: &[u8; 32]) -> Aead {
        #[cfg_attr(not(feature = "openssl"), allow(unused_mut))]
        let mut aead = Aead::ring(key);
        #[cfg(feature = "openssl")]
        if openssl_aead::is_faster_here() {
            aead.bulk = Some(openssl_aead::OpenSslAead::default());
        }
        aead
    }

    /// ring alone, keyed with `key`.
    pub(crate) fn ring(key: &[u8; 32]) -> Aead {
        Aead {
            key: Zeroizing::new(*key),
            ring: None,
            #[cfg(feature = "openssl")]
            bulk: None,
        }
    }

    /// ring's keyed state, set up if the connection was quiet.
    fn ring_key(&mut self) -> Result<&LessSafeKey, Error> {
        match &mut self.ring {
            Some(key) => Ok(key),
            empty => {
                let key = UnboundKey::new(&CHACHA20_POLY1305, &self.key[..])
                    .map_err(|_| Error::Crypto("ChaCha20-Poly1305 key setup"))?;
                Ok(empty.insert(Box::new(LessSafeKey::new(key))))
            }
        }
    }

    /// OpenSSL, keyed for sealing (`seal` true) or opening, if it takes a message of `len`
    /// bytes. An OpenSSL that cannot key the cipher is dropped, and ring takes over.
    #[cfg(feature = "openssl")]
    fn bulk_for(&mut self, len: usize, seal: bool) -> Option<&mut openssl_aead::OpenSslAead> {
        if len < BULK_MESSAGE {
            return None;
        }
        if !self.bulk.as_mut()?.key_context(&self.key, seal) {
            self.bulk = None;
        }
        self.bulk.as_mut()
    }

    /// Frees what the libraries keyed (ring's key object, OpenSSL's contexts), for a
    /// connection gone quiet; the next message sets it up again.
    pub(crate) fn release_key_state(&mut self) {
        self.ring = None;
        #[cfg(feature = "openssl")]
        if let Some(bulk) = &mut self.bulk {
            bulk.release_contexts();
        }
    }

    /// Whether ring's keyed state is held beside the key.
    #[cfg(test)]
    pub(crate) fn holds_ring_state(&self) -> bool {
        self.ring.is_some()
    }

    /// Whether OpenSSL contexts for bulk data are held beside the key.
    #[cfg(test)]
    pub(crate) fn holds_bulk_state(&self) -> bool {
        #[cfg(feature = "openssl")]
        if let Some(bulk) = &self.bulk {
            return bulk.has_contexts();
        }
        false
    }

    /// Encrypts `buffer` in place and returns its tag. `nonce` must never repeat under one
    /// key; the caller counts.
    pub(crate) fn seal_in_place(
        &mut self,
        nonce: NonceBytes,
        associated_data: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], Error> {
        #[cfg(feature = "openssl")]
        if let Some(bulk) = self.bulk_for(buffer.len(), true) {
            return bulk.seal_in_place(nonce, associated_data, buffer);
        }
        // Sealing fails only beyond 256 GiB under one nonce; a Noise message is 64 KiB.
        let tag = self
            .ring_key()?
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data),
                buffer,
            )
            .map_err(|_| Error::Crypto("ChaCha20-Poly1305 seal"))?;
        let mut bytes = [0u8; TAG_LEN];
        bytes.copy_from_slice(tag.as_ref());
        Ok(bytes)
    }

    /// Decrypts `buffer` in place if `tag` authenticates it, or fails with
    /// [`Error::Decrypt`] leaving the buffer's contents unspecified.
    pub(crate) fn open_in_place(
        &mut self,
        nonce: NonceBytes,
        associated_data: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), Error> {
        #[cfg(feature = "openssl")]
        if let Some(bulk) = self.bulk_for(buffer.len(), false) {
            return bulk.open_in_place(nonce, associated_data, buffer, tag);
        }
        self.ring_key()?
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(associated_data),
                Tag::from(*tag),
                buffer,
                0..,
            )
            .map(|_| ())
            .map_err(|_| Error::Decrypt)
    }
}

#[cfg(feature = "openssl")]
pub(crate) mod openssl_aead {
    //! OpenSSL's ChaCha20-Poly1305 through its EVP interface: one context per direction,
    //! keyed once when first used, given a new nonce per message.

    use std::sync::atomic::{AtomicBool, Ordering};

    use openssl::cipher::Cipher;
    use openssl::cipher_ctx::CipherCtx;

    use super::NonceBytes;
    use crate::{Error, TAG_LEN};

    /// Set once OpenSSL has failed to key a ChaCha20-Poly1305 context: it does not offer the
    /// cipher (one restricted to its FIPS provider does not), and ring does all the work.
    static UNUSABLE: AtomicBool = AtomicBool::new(false);

    /// Whether OpenSSL is the faster library here: this CPU has the AVX-512 instructions its
    /// ChaCha20 and Poly1305 code uses, and OpenSSL has not been found to lack the cipher.
    /// OpenSSL itself is first touched by the first bulk message, so a process whose
    /// connections stay quiet never loads it.
    pub(crate) fn is_faster_here() -> bool {
        has_avx512() && !UNUSABLE.load(Ordering::Relaxed)
    }

    fn has_avx512() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// The OpenSSL contexts keyed so far (with the key its [`Aead`](super::Aead) keeps). A
    /// transport cipher only seals or only opens, so it holds one context; OpenSSL wipes a
    /// context when freeing it.
    #[derive(Default)]
    pub(crate) struct OpenSslAead {
        sealer: Option<CipherCtx>,
        opener: Option<CipherCtx>,
    }

    /// A context keyed with `key` for sealing (`seal` true) or opening.
    fn keyed_context(key: &[u8; 32], seal: bool) -> Result<CipherCtx, Error> {
        let setup = |_| Error::Crypto("ChaCha20-Poly1305 key setup (OpenSSL)");
        let cipher = Cipher::chacha20_poly1305();
        let mut ctx = CipherCtx::new().map_err(setup)?;
        if seal {
            ctx.encrypt_init(Some(cipher), Some(key), None)
        } else {
            ctx.decrypt_init(Some(cipher), Some(key), None)
        }
        .map_err(setup)?;
        Ok(ctx)
    }

    impl OpenSslAead {
        /// Makes sure the context for sealing (`seal` true) or opening is keyed with `key`;
        /// false if OpenSSL cannot key one, which also marks it unusable for the whole
        /// process.
        pub(crate) fn key_context(&mut self, key: &[u8; 32], seal: bool) -> bool {
            let slot = self.slot(seal);
            if slot.is_none() {
                let Ok(ctx) = keyed_context(key, seal) else {
                    UNUSABLE.store(true, Ordering::Relaxed);
                    return false;
                };
                *slot = Some(ctx);
            }
            true
        }

        fn slot(&mut self, seal: bool) -> &mut Option<CipherCtx> {
            if seal {
                &mut self.sealer
            } else {
                &mut self.opener
            }
        }

        /// The context for sealing (`seal` true) or opening, keyed by
        /// [`OpenSslAead::key_context`] first.
        fn context(&mut self, seal: bool) -> Result<&mut CipherCtx, Error> {
            self.slot(seal).as_mut().ok_or(Error::Crypto(
                "ChaCha20-Poly1305 context used before keying (OpenSSL)",
            ))
        }

        /// Frees the contexts; the next message keys a new one.
        pub(crate) fn release_contexts(&mut self) {
            self.sealer = None;
            self.opener = None;
        }

        #[cfg(test)]
        pub(crate) fn has_contexts(&self) -> bool {
            self.sealer.is_some() || self.opener.is_some()
        }

        pub(crate) fn seal_in_place(
            &mut self,
            nonce: NonceBytes,
            associated_data: &[u8],
            buffer: &mut [u8],
        ) -> Result<[u8; TAG_LEN], Error> {
            let ctx = self.context(true)?;
            let failed = |_| Error::Crypto("ChaCha20-Poly1305 seal (OpenSSL)");
            ctx.encrypt_init(None, None, Some(&nonce)).map_err(failed)?;
            if !associated_data.is_empty() {
                ctx.cipher_update(associated_data, None).map_err(failed)?;
            }
            let len = buffer.len();
            ctx.cipher_update_inplace(buffer, len).map_err(failed)?;
            ctx.cipher_final(&mut []).map_err(failed)?;
            let mut tag = [0u8; TAG_LEN];
            ctx.tag(&mut tag).map_err(failed)?;
            Ok(tag)
        }

        pub(crate) fn open_in_place(
            &mut self,
            nonce: NonceBytes,
            associated_data: &[u8],
            buffer: &mut [u8],
            tag: &[u8; TAG_LEN],
        ) -> Result<(), Error> {
            let ctx = self.context(false)?;
            let failed = |_| Error::Decrypt;
            ctx.decrypt_init(None, None, Some(&nonce)).map_err(failed)?;
            if !associated_data.is_empty() {
                ctx.cipher_update(associated_data, None).map_err(failed)?;
            }
            let len = buffer.len();
            ctx.cipher_update_inplace(buffer, len).map_err(failed)?;
            ctx.set_tag(tag).map_err(failed)?;
            // The tag is checked here; a mismatch fails the message.
            ctx.cipher_final(&mut []).map_err(failed)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// One library's seal and open, for messages of any length.
    trait Library {
        fn seal(&mut self, nonce: NonceBytes, aad: &[u8], buffer: &mut [u8]) -> [u8; TAG_LEN];
        fn open(
            &mut self,
            nonce: NonceBytes,
            aad: &[u8],
            buffer: &mut [u8],
            tag: &[u8; TAG_LEN],
        ) -> Result<(), Error>;
    }

    /// Implements [`Library`] for a type with `seal_in_place` and `open_in_place`.
    macro_rules! library {
        ($type:ty) => {
            impl Library for $type {
                fn seal(
                    &mut self,
                    nonce: NonceBytes,
                    aad: &[u8],
                    buffer: &mut [u8],
                ) -> [u8; TAG_LEN] {
                    self.seal_in_place(nonce, aad, buffer).unwrap()
                }

                fn open(
                    &mut self,
                    nonce: NonceBytes,
                    aad: &[u8],
                    buffer: &mut [u8],
                    tag: &[u8; TAG_LEN],
                ) -> Result<(), Error> {
                    self.open_in_place(nonce, aad, buffer, tag)
                }
            }
        };
    }

    // ring, as an [`Aead`] made by [`Aead::ring`].
    library!(Aead);
    #[cfg(feature = "openssl")]
    library!(openssl_aead::OpenSslAead);

    /// Every library available in this build, keyed alike.
    fn each_library(key: &[u8; 32]) -> Vec<Box<dyn Library>> {
        #[allow(unused_mut)]
        let mut libraries: Vec<Box<dyn Library>> = vec![Box::new(Aead::ring(key))];
        #[cfg(feature = "openssl")]
        {
            let mut openssl = openssl_aead::OpenSslAead::default();
            assert!(openssl.key_context(key, true) && openssl.key_context(key, false));
            libraries.push(Box::new(openssl));
        }
        libraries
    }

    #[test]
    fn keyed_state_exists_only_while_messages_move() {
        let key = [9u8; 32];
        let mut aead = Aead::fastest(&key);
        let mut reference = Aead::ring(&key);
        let mut short = vec![5u8; 100];
        assert!(!aead.holds_ring_state(), "keyed on first use");
        let tag = aead.seal_in_place([0; 12], b"", &mut short).unwrap();
        assert!(aead.holds_ring_state());
        assert!(
            !aead.holds_bulk_state(),
            "short messages need no OpenSSL context"
        );
        let mut bulk = vec![6u8; 65519];
        let mut expected = bulk.clone();
        let bulk_tag = aead.seal_in_place([1; 12], b"", &mut bulk).unwrap();
        #[cfg(feature = "openssl")]
        assert_eq!(aead.holds_bulk_state(), openssl_aead::is_faster_here());
        // Whichever library sealed, the output is ChaCha20-Poly1305's.
        let expected_tag = reference
            .seal_in_place([1; 12], b"", &mut expected)
            .unwrap();
        assert_eq!((bulk, bulk_tag), (expected, expected_tag));
        aead.release_key_state();
        assert!(!aead.holds_bulk_state());
        assert!(!aead.holds_ring_state());
        reference
            .open_in_place([0; 12], b"", &mut short, &tag)
            .unwrap();
        assert_eq!(short, vec![5u8; 100]);
        // Keyed again from the key kept.
        let mut again = vec![7u8; 50];
        let mut expected = again.clone();
        let tag = aead.seal_in_place([2; 12], b"", &mut again).unwrap();
        let expected_tag = reference
            .seal_in_place([2; 12], b"", &mut expected)
            .unwrap();
        assert_eq!((again, tag), (expected, expected_tag));
    }

    /// RFC 8439 section 2.8.2: the AEAD test vector.
    #[test]
    fn each_library_seals_the_rfc_8439_vector() {
        let key: [u8; 32] = std::array::from_fn(|i| 0x80 + i as u8);
        let nonce = [
            0x07, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
        ];
        let aad = [
            0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
        ];
        let plaintext = b"Ladies and Gentlemen of the class of '99: If I could offer you only one \
tip for the future, sunscreen would be it.";
        let ciphertext_start = [0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb];
        let tag = [
            0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a, 0x7e, 0x90, 0x2e, 0xcb, 0xd0, 0x60,
            0x06, 0x91,
        ];
        for mut aead in each_library(&key) {
            let mut buffer = plaintext.to_vec();
            assert_eq!(aead.seal(nonce, &aad, &mut buffer), tag);
            assert_eq!(buffer[..8], ciphertext_start);
            aead.open(nonce, &aad, &mut buffer, &tag).unwrap();
            assert_eq!(&buffer[..], &plaintext[..]);
        }
    }

    proptest! {
        /// The libraries agree byte for byte, each opens what the other sealed, and any
        /// flipped bit fails to open.
        #[test]
        fn the_libraries_agree_and_reject_tampering(
            key in any::<[u8; 32]>(),
            nonce in any::<[u8; 12]>(),
            aad in proptest::collection::vec(any::<u8>(), 0..64),
            plaintext in proptest::collection::vec(any::<u8>(), 0..3000),
            flip in any::<prop::sample::Index>(),
        ) {
            let mut libraries = each_library(&key);
            let mut sealed = Vec::new();
            for aead in &mut libraries {
                let mut buffer = plaintext.clone();
                let tag = aead.seal(nonce, &aad, &mut buffer);
                sealed.push((buffer, tag));
            }
            prop_assert!(sealed.windows(2).all(|pair| pair[0] == pair[1]));
            let (ciphertext, tag) = &sealed[0];
            for aead in &mut libraries {
                let mut buffer = ciphertext.clone();
                aead.open(nonce, &aad, &mut buffer, tag).unwrap();
                prop_assert_eq!(&buffer, &plaintext);

                let mut message = ciphertext.clone();
                message.extend_from_slice(tag);
                let bit = flip.index(message.len() * 8);
                message[bit / 8] ^= 1 << (bit % 8);
                let (body, bad_tag) = message.split_at_mut(ciphertext.len());
                let bad_tag: [u8; TAG_LEN] = (&*bad_tag).try_into().unwrap();
                prop_assert!(matches!(
                    aead.open(nonce, &aad, body, &bad_tag),
                    Err(Error::Decrypt)
                ));
            }
        }
    }
}
