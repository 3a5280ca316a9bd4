//! The Noise `SymmetricState` with SHA-256 (Noise Protocol Framework rev 34, sections 4.3,
//! 5.2 and 12.5): the chaining key, the handshake hash and the handshake's cipher.

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::Error;
use crate::cipher::CipherState;

/// `HASHLEN` of SHA-256.
pub(crate) const HASH_LEN: usize = 32;

/// The state that every handshake message is mixed into.
pub(crate) struct SymmetricState {
    chaining_key: Zeroizing<[u8; HASH_LEN]>,
    hash: [u8; HASH_LEN],
    cipher: CipherState,
}

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)`.
    pub(crate) fn new(protocol_name: &[u8]) -> SymmetricState {
        let mut hash = [0u8; HASH_LEN];
        if protocol_name.len() <= HASH_LEN {
            hash[..protocol_name.len()].copy_from_slice(protocol_name);
        } else {
            hash = Sha256::digest(protocol_name).into();
        }
        SymmetricState {
            chaining_key: Zeroizing::new(hash),
            hash,
            cipher: CipherState::empty(),
        }
    }

    /// `MixKey(input_key_material)`: derives a new chaining key and cipher key.
    pub(crate) fn mix_key(&mut self, input_key_material: &[u8]) {
        let (chaining_key, key) = hkdf2(&self.chaining_key, input_key_material);
        self.chaining_key = chaining_key;
        self.cipher = CipherState::new(&key);
    }

    /// `MixHash(data)`: `h = SHA-256(h || data)`.
    pub(crate) fn mix_hash(&mut self, data: &[u8]) {
        self.hash = Sha256::new()
            .chain_update(self.hash)
            .chain_update(data)
            .finalize()
            .into();
    }

    /// `EncryptAndHash(plaintext)`, appending the result to `out`.
    pub(crate) fn encrypt_and_hash(
        &mut self,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let start = out.len();
        self.cipher.encrypt_with_ad(&self.hash, plaintext, out)?;
        let hash = Sha256::new()
            .chain_update(self.hash)
            .chain_update(&out[start..])
            .finalize();
        self.hash = hash.into();
        Ok(())
    }

    /// `DecryptAndHash(ciphertext)`, appending the plaintext to `out`.
    pub(crate) fn decrypt_and_hash(
        &mut self,
        ciphertext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.cipher.decrypt_with_ad(&self.hash, ciphertext, out)?;
        self.mix_hash(ciphertext);
        Ok(())
    }

    /// Whether a key has been mixed in, so that `EncryptAndHash` adds a tag.
    pub(crate) fn has_key(&self) -> bool {
        self.cipher.has_key()
    }

    /// The handshake hash `h`, which identifies the handshake.
    #[cfg(test)]
    pub(crate) fn handshake_hash(&self) -> [u8; HASH_LEN] {
        self.hash
    }

    /// `Split()`: the cipher states for initiator-to-responder and responder-to-initiator
    /// transport messages.
    pub(crate) fn split(&self) -> (CipherState, CipherState) {
        let (initiator_to_responder, responder_to_initiator) = hkdf2(&self.chaining_key, &[]);
        (
            CipherState::for_transport(&initiator_to_responder),
            CipherState::for_transport(&responder_to_initiator),
        )
    }
}

/// The framework's `HKDF(chaining_key, input_key_material, 2)` (section 4.3), which is
/// RFC 5869 HKDF with the chaining key as salt, empty info and 64 bytes of output.
fn hkdf2(
    chaining_key: &[u8; HASH_LEN],
    input_key_material: &[u8],
) -> (Zeroizing<[u8; HASH_LEN]>, Zeroizing<[u8; HASH_LEN]>) {
    let mut output = Zeroizing::new([0u8; 2 * HASH_LEN]);
    let expanded = Hkdf::<Sha256>::new(Some(chaining_key), input_key_material)
        .expand(&[], output.as_mut_slice());
    // Expansion fails only beyond 255 hash lengths; 64 bytes is two.
    debug_assert!(expanded.is_ok());
    let mut first = Zeroizing::new([0u8; HASH_LEN]);
    let mut second = Zeroizing::new([0u8; HASH_LEN]);
    first.copy_from_slice(&output[..HASH_LEN]);
    second.copy_from_slice(&output[HASH_LEN..]);
    (first, second)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hkdf::hmac::{Hmac, KeyInit, Mac};

    fn hmac(key: &[u8], data: &[&[u8]]) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap();
        for part in data {
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }

    #[test]
    fn hkdf_matches_the_framework_definition() {
        // Section 4.3: temp_key = HMAC(ck, ikm); out1 = HMAC(temp_key, 0x01);
        // out2 = HMAC(temp_key, out1 || 0x02).
        let chaining_key = [9u8; 32];
        let ikm = b"input key material";
        let temp_key = hmac(&chaining_key, &[ikm]);
        let first = hmac(&temp_key, &[&[1]]);
        let second = hmac(&temp_key, &[&first, &[2]]);
        let (a, b) = hkdf2(&chaining_key, ikm);
        assert_eq!(&a[..], &first[..]);
        assert_eq!(&b[..], &second[..]);
    }

    #[test]
    fn short_protocol_names_are_padded_and_long_ones_hashed() {
        let padded = SymmetricState::new(b"Noise_XX_25519_ChaChaPoly_SHA256");
        assert_eq!(
            &padded.handshake_hash(),
            b"Noise_XX_25519_ChaChaPoly_SHA256"
        );
        let short = SymmetricState::new(b"Noise");
        assert_eq!(&short.handshake_hash()[..5], b"Noise");
        assert_eq!(short.handshake_hash()[5..], [0; 27]);
        let long = SymmetricState::new(&[b'x'; 40]);
        assert_eq!(
            long.handshake_hash(),
            <[u8; 32]>::from(Sha256::digest([b'x'; 40]))
        );
    }
}
