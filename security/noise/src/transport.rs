//! The transport phase (noise/README.md, "Encryption and I/O"): after the handshake each
//! side holds one cipher per direction, and every frame carries one ChaChaPoly ciphertext of
//! at most [`MAX_PLAINTEXT_LEN`] bytes plus its 16-byte tag. Encryption and decryption
//! happen in place in the caller's buffers.

use std::ops::Range;

use bytes::{Buf, BufMut, BytesMut};

use crate::cipher::CipherState;
use crate::{Error, MAX_MESSAGE_LEN, MAX_PLAINTEXT_LEN, TAG_LEN, frame};

/// The two ciphers of an established Noise session, one per direction.
///
/// The tokio driver wraps them in a [`NoiseStream`](crate::NoiseStream); use them directly
/// to move encrypted frames through your own I/O.
pub struct Ciphers {
    /// Encrypts what we send.
    pub encryptor: Encryptor,
    /// Decrypts what the peer sends.
    pub decryptor: Decryptor,
}

impl std::fmt::Debug for Ciphers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ciphers").finish_non_exhaustive()
    }
}

/// Turns plaintext into framed transport messages, counting nonces.
pub struct Encryptor {
    cipher: CipherState,
}

impl Encryptor {
    pub(crate) fn new(cipher: CipherState) -> Encryptor {
        Encryptor { cipher }
    }

    /// Appends `plaintext` to `out` as one frame: length prefix, ciphertext, tag.
    ///
    /// `plaintext` may be at most [`MAX_PLAINTEXT_LEN`] bytes; split larger data over
    /// several frames. Fails once the cipher's nonces are exhausted.
    ///
    /// ```
    /// # fn demo(encryptor: &mut hyphae_noise::Encryptor) -> Result<(), hyphae_noise::Error> {
    /// let mut wire = bytes::BytesMut::new();
    /// encryptor.encrypt(b"hello", &mut wire)?;
    /// assert_eq!(wire.len(), 2 + 5 + 16);
    /// # Ok(()) }
    /// ```
    pub fn encrypt(&mut self, plaintext: &[u8], out: &mut BytesMut) -> Result<(), Error> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(Error::MessageTooLarge {
                len: plaintext.len() + TAG_LEN,
                max: MAX_MESSAGE_LEN,
            });
        }
        let start = out.len();
        out.reserve(frame::PREFIX_LEN + plaintext.len() + TAG_LEN);
        out.put_bytes(0, frame::PREFIX_LEN);
        out.extend_from_slice(plaintext);
        self.seal(out, start)
    }

    /// Frees what the cipher libraries keyed, for a connection gone quiet.
    pub(crate) fn release_key_state(&mut self) {
        self.cipher.release_key_state();
    }

    #[cfg(test)]
    pub(crate) fn holds_bulk_state(&self) -> bool {
        self.cipher.holds_bulk_state()
    }

    #[cfg(test)]
    pub(crate) fn holds_key_state(&self) -> bool {
        self.cipher.holds_key_state()
    }

    /// Seals the frame that starts at `out[start..]`: a two-byte placeholder for the length
    /// prefix followed by plaintext, which is encrypted in place and given its tag.
    ///
    /// On failure `out` is truncated to `start`.
    pub(crate) fn seal(&mut self, out: &mut BytesMut, start: usize) -> Result<(), Error> {
        let body = start + frame::PREFIX_LEN;
        let sealed = match out.get_mut(body..) {
            Some(plaintext) => self.seal_detached(plaintext),
            None => Err(Error::MessageTooLarge {
                len: TAG_LEN,
                max: MAX_MESSAGE_LEN,
            }),
        };
        match sealed {
            Ok((prefix, tag)) => {
                out[start..body].copy_from_slice(&prefix);
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(error) => {
                out.truncate(start);
                Err(error)
            }
        }
    }

    /// Encrypts `body`, one frame's plaintext, in place and returns the frame's length
    /// prefix and tag, which go before and after it on the wire.
    pub(crate) fn seal_detached(
        &mut self,
        body: &mut [u8],
    ) -> Result<([u8; frame::PREFIX_LEN], [u8; TAG_LEN]), Error> {
        let Some(prefix) = frame::prefix(body.len() + TAG_LEN) else {
            return Err(Error::MessageTooLarge {
                len: body.len() + TAG_LEN,
                max: MAX_MESSAGE_LEN,
            });
        };
        let tag = self.cipher.encrypt_in_place(&[], body)?;
        Ok((prefix, tag))
    }
}

impl std::fmt::Debug for Encryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encryptor").finish_non_exhaustive()
    }
}

/// Where the plaintext of a frame decrypted in place lies in the receive buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecryptedFrame {
    /// The plaintext's bytes within the buffer.
    pub(crate) plaintext: Range<usize>,
    /// Bytes of the whole frame (prefix, ciphertext, tag) at the front of the buffer.
    pub(crate) len: usize,
}

/// Turns received frames back into plaintext, checking each one's tag and nonce.
pub struct Decryptor {
    cipher: CipherState,
}

impl Decryptor {
    pub(crate) fn new(cipher: CipherState) -> Decryptor {
        Decryptor { cipher }
    }

    /// Frees what the cipher libraries keyed, for a connection gone quiet.
    pub(crate) fn release_key_state(&mut self) {
        self.cipher.release_key_state();
    }

    #[cfg(test)]
    pub(crate) fn holds_bulk_state(&self) -> bool {
        self.cipher.holds_bulk_state()
    }

    #[cfg(test)]
    pub(crate) fn holds_key_state(&self) -> bool {
        self.cipher.holds_key_state()
    }

    /// Removes the first frame from `input` and returns its plaintext, decrypted in place, or
    /// `Ok(None)` if `input` does not hold a whole frame yet.
    ///
    /// A frame that does not authenticate is an [`Error::Decrypt`]; the session is then
    /// unusable, as the spec requires.
    pub fn decrypt(&mut self, input: &mut BytesMut) -> Result<Option<BytesMut>, Error> {
        let Some(frame) = self.decrypt_in_place(input)? else {
            return Ok(None);
        };
        let mut plaintext = input.split_to(frame.len);
        plaintext.advance(frame.plaintext.start);
        plaintext.truncate(frame.plaintext.len());
        Ok(Some(plaintext))
    }

    /// Decrypts the first frame of `input` in place, leaving it there; the caller must drop
    /// the frame's `len` bytes before decrypting the next one.
    pub(crate) fn decrypt_in_place(
        &mut self,
        input: &mut [u8],
    ) -> Result<Option<DecryptedFrame>, Error> {
        let Some(len) = frame::complete(input) else {
            return Ok(None);
        };
        let Some(plaintext_len) = len.checked_sub(TAG_LEN) else {
            return Err(Error::FrameTooShort { len });
        };
        let plaintext = frame::PREFIX_LEN..frame::PREFIX_LEN + plaintext_len;
        let (body, rest) = input[plaintext.start..].split_at_mut(plaintext_len);
        let tag: &[u8; TAG_LEN] = rest.first_chunk().ok_or(Error::FrameTooShort { len })?;
        self.cipher.decrypt_in_place(&[], body, tag)?;
        Ok(Some(DecryptedFrame {
            plaintext,
            len: frame::PREFIX_LEN + len,
        }))
    }
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryptor").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn pair() -> (Encryptor, Decryptor) {
        let key = [42u8; 32];
        (
            Encryptor::new(CipherState::new(&key)),
            Decryptor::new(CipherState::new(&key)),
        )
    }

    #[test]
    fn frames_round_trip_in_order() {
        let (mut encryptor, mut decryptor) = pair();
        let mut wire = BytesMut::new();
        let messages: [&[u8]; 3] = [b"one", b"", &[9; MAX_PLAINTEXT_LEN]];
        for message in messages {
            encryptor.encrypt(message, &mut wire).unwrap();
        }
        assert_eq!(wire.len(), 3 * (2 + 16) + 3 + MAX_PLAINTEXT_LEN);
        assert_eq!(&wire[..2], &[0, 19]);
        for message in messages {
            assert_eq!(&decryptor.decrypt(&mut wire).unwrap().unwrap()[..], message);
        }
        assert!(wire.is_empty());
        assert!(decryptor.decrypt(&mut wire).unwrap().is_none());
    }

    #[test]
    fn waits_for_a_whole_frame() {
        let (mut encryptor, mut decryptor) = pair();
        let mut wire = BytesMut::new();
        encryptor.encrypt(b"split across reads", &mut wire).unwrap();
        let mut partial = wire.split_to(10);
        assert!(decryptor.decrypt(&mut partial).unwrap().is_none());
        partial.extend_from_slice(&wire);
        assert_eq!(
            &decryptor.decrypt(&mut partial).unwrap().unwrap()[..],
            b"split across reads"
        );
    }

    #[test]
    fn rejects_oversized_plaintext_and_short_or_tampered_frames() {
        let (mut encryptor, mut decryptor) = pair();
        let mut wire = BytesMut::new();
        assert!(matches!(
            encryptor.encrypt(&[0; MAX_PLAINTEXT_LEN + 1], &mut wire),
            Err(Error::MessageTooLarge { .. })
        ));
        assert!(wire.is_empty());
        let mut short = BytesMut::from(&[0, 15][..]);
        short.extend_from_slice(&[0; 15]);
        assert!(matches!(
            decryptor.decrypt(&mut short),
            Err(Error::FrameTooShort { len: 15 })
        ));
        encryptor.encrypt(b"integrity", &mut wire).unwrap();
        wire[4] ^= 0x80;
        assert!(matches!(decryptor.decrypt(&mut wire), Err(Error::Decrypt)));
    }

    #[test]
    fn a_replayed_frame_does_not_decrypt() {
        let (mut encryptor, mut decryptor) = pair();
        let mut wire = BytesMut::new();
        encryptor.encrypt(b"once", &mut wire).unwrap();
        let mut replay = wire.clone();
        decryptor.decrypt(&mut wire).unwrap().unwrap();
        assert!(matches!(
            decryptor.decrypt(&mut replay),
            Err(Error::Decrypt)
        ));
    }
}
