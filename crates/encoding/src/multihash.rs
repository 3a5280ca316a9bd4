//! Multihash framing: `varint(code) || varint(digest length) || digest`.
//!
//! Only the framing lives here; hashing is done by whoever needs a digest.

use crate::{Error, varint};

/// Multihash code of the identity "hash" (the digest is the data itself).
pub const IDENTITY: u64 = 0x00;
/// Multihash code of SHA2-256.
pub const SHA2_256: u64 = 0x12;

/// Splits a complete multihash into its code and digest.
///
/// The digest must be exactly as long as the header says: trailing bytes are an error.
pub fn split(bytes: &[u8]) -> Result<(u64, &[u8]), Error> {
    let (code, code_len) = varint::decode(bytes)?;
    let (declared, len_len) = varint::decode(&bytes[code_len..])?;
    let digest = &bytes[code_len + len_len..];
    if digest.len() as u64 != declared {
        return Err(Error::MultihashLength {
            declared,
            actual: digest.len(),
        });
    }
    Ok((code, digest))
}

/// Appends the multihash of `digest` under `code` to `out`.
pub fn encode_to_vec(code: u64, digest: &[u8], out: &mut Vec<u8>) {
    varint::encode_to_vec(code, out);
    varint::encode_to_vec(digest.len() as u64, out);
    out.extend_from_slice(digest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_sha256_multihash() {
        let mut bytes = vec![0x12, 0x20];
        bytes.extend_from_slice(&[7; 32]);
        assert_eq!(split(&bytes), Ok((SHA2_256, &[7u8; 32][..])));
    }

    #[test]
    fn rejects_digest_of_wrong_length() {
        assert_eq!(
            split(&[0x12, 0x20, 1, 2]),
            Err(Error::MultihashLength {
                declared: 32,
                actual: 2
            })
        );
        assert!(split(&[0x00, 0x01, 1, 2]).is_err());
    }

    proptest! {
        #[test]
        fn round_trips(code in 0u64..1 << 40, digest in proptest::collection::vec(any::<u8>(), 0..80)) {
            let mut bytes = Vec::new();
            encode_to_vec(code, &digest, &mut bytes);
            prop_assert_eq!(split(&bytes), Ok((code, &digest[..])));
        }

        #[test]
        fn splitting_arbitrary_bytes_never_panics(bytes: Vec<u8>) {
            let _ = split(&bytes);
        }
    }
}
