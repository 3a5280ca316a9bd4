//! Multibase: text that names its own base with a one-character prefix.
//!
//! Supports the bases libp2p meets in practice: base16, base32 (RFC 4648, no padding), base36
//! (AutoTLS peer ids), base58btc (legacy peer ids) and base64 / base64url (`/certhash`).

use crate::Error;

/// A base with its multibase prefix character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Base {
    /// `f`: lower-case hexadecimal.
    Base16Lower,
    /// `F`: upper-case hexadecimal.
    Base16Upper,
    /// `b`: RFC 4648 base32, lower case, no padding (the default for CIDs).
    Base32Lower,
    /// `B`: RFC 4648 base32, upper case, no padding.
    Base32Upper,
    /// `k`: base36, lower case.
    Base36Lower,
    /// `K`: base36, upper case.
    Base36Upper,
    /// `z`: base58 with the Bitcoin alphabet.
    Base58Btc,
    /// `m`: RFC 4648 base64, no padding.
    Base64,
    /// `M`: RFC 4648 base64 with padding.
    Base64Pad,
    /// `u`: RFC 4648 base64url, no padding (multiaddr `/certhash`).
    Base64Url,
    /// `U`: RFC 4648 base64url with padding.
    Base64UrlPad,
}

const BASE16_LOWER: &[u8] = b"0123456789abcdef";
const BASE16_UPPER: &[u8] = b"0123456789ABCDEF";
const BASE32_LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
const BASE32_UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE36_LOWER: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const BASE36_UPPER: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const BASE58_BTC: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// How the characters of a base map onto bytes.
enum Alphabet {
    /// RFC 4648 style: each character carries a fixed number of bits.
    Bits {
        alphabet: &'static [u8],
        bits: u32,
        padded: bool,
    },
    /// Big-number style (base36, base58): leading zero bytes become leading zero digits.
    Radix { alphabet: &'static [u8] },
}

impl Base {
    /// Every supported base.
    pub const ALL: [Base; 11] = [
        Base::Base16Lower,
        Base::Base16Upper,
        Base::Base32Lower,
        Base::Base32Upper,
        Base::Base36Lower,
        Base::Base36Upper,
        Base::Base58Btc,
        Base::Base64,
        Base::Base64Pad,
        Base::Base64Url,
        Base::Base64UrlPad,
    ];

    /// The multibase prefix character.
    pub fn prefix(self) -> char {
        match self {
            Base::Base16Lower => 'f',
            Base::Base16Upper => 'F',
            Base::Base32Lower => 'b',
            Base::Base32Upper => 'B',
            Base::Base36Lower => 'k',
            Base::Base36Upper => 'K',
            Base::Base58Btc => 'z',
            Base::Base64 => 'm',
            Base::Base64Pad => 'M',
            Base::Base64Url => 'u',
            Base::Base64UrlPad => 'U',
        }
    }

    /// The base named by a multibase prefix character.
    pub fn from_prefix(prefix: char) -> Result<Base, Error> {
        Base::ALL
            .into_iter()
            .find(|base| base.prefix() == prefix)
            .ok_or(Error::UnknownMultibase(prefix))
    }

    /// The multibase name of the base.
    pub fn name(self) -> &'static str {
        match self {
            Base::Base16Lower => "base16",
            Base::Base16Upper => "base16upper",
            Base::Base32Lower => "base32",
            Base::Base32Upper => "base32upper",
            Base::Base36Lower => "base36",
            Base::Base36Upper => "base36upper",
            Base::Base58Btc => "base58btc",
            Base::Base64 => "base64",
            Base::Base64Pad => "base64pad",
            Base::Base64Url => "base64url",
            Base::Base64UrlPad => "base64urlpad",
        }
    }

    fn alphabet(self) -> Alphabet {
        let bits = |alphabet, bits, padded| Alphabet::Bits {
            alphabet,
            bits,
            padded,
        };
        match self {
            Base::Base16Lower => bits(BASE16_LOWER, 4, false),
            Base::Base16Upper => bits(BASE16_UPPER, 4, false),
            Base::Base32Lower => bits(BASE32_LOWER, 5, false),
            Base::Base32Upper => bits(BASE32_UPPER, 5, false),
            Base::Base36Lower => Alphabet::Radix {
                alphabet: BASE36_LOWER,
            },
            Base::Base36Upper => Alphabet::Radix {
                alphabet: BASE36_UPPER,
            },
            Base::Base58Btc => Alphabet::Radix {
                alphabet: BASE58_BTC,
            },
            Base::Base64 => bits(BASE64, 6, false),
            Base::Base64Pad => bits(BASE64, 6, true),
            Base::Base64Url => bits(BASE64_URL, 6, false),
            Base::Base64UrlPad => bits(BASE64_URL, 6, true),
        }
    }

    /// Encodes `bytes` in this base, without the multibase prefix.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self.alphabet() {
            Alphabet::Bits {
                alphabet,
                bits,
                padded,
            } => encode_bits(bytes, alphabet, bits, padded),
            Alphabet::Radix { alphabet } => encode_radix(bytes, alphabet),
        }
    }

    /// Decodes text in this base, without the multibase prefix.
    pub fn decode(self, text: &str) -> Result<Vec<u8>, Error> {
        match self.alphabet() {
            Alphabet::Bits {
                alphabet,
                bits,
                padded,
            } => decode_bits(text, alphabet, bits, padded, self.name()),
            Alphabet::Radix { alphabet } => decode_radix(text, alphabet, self.name()),
        }
    }
}

/// Encodes `bytes` as multibase text: the prefix of `base`, then the encoding.
///
/// ```
/// use hyphae_encoding::multibase::{self, Base};
/// assert_eq!(multibase::encode(Base::Base32Lower, b"yes mani !"), "bpfsxgidnmfxgsibb");
/// ```
pub fn encode(base: Base, bytes: &[u8]) -> String {
    let mut text = String::with_capacity(1 + bytes.len() * 2);
    text.push(base.prefix());
    text.push_str(&base.encode(bytes));
    text
}

/// Decodes multibase text, returning the base its prefix named and the bytes.
pub fn decode(text: &str) -> Result<(Base, Vec<u8>), Error> {
    let mut chars = text.chars();
    let prefix = chars.next().ok_or(Error::MultibaseEmpty)?;
    let base = Base::from_prefix(prefix)?;
    Ok((base, base.decode(chars.as_str())?))
}

/// Base58btc without a multibase prefix: the legacy text form of peer ids.
pub mod base58 {
    use super::Base;
    use crate::Error;

    /// Encodes `bytes` in base58btc.
    pub fn encode(bytes: &[u8]) -> String {
        Base::Base58Btc.encode(bytes)
    }

    /// Decodes base58btc text.
    pub fn decode(text: &str) -> Result<Vec<u8>, Error> {
        Base::Base58Btc.decode(text)
    }
}

fn encode_bits(bytes: &[u8], alphabet: &[u8], bits: u32, padded: bool) -> String {
    let mask = (1u32 << bits) - 1;
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(bits as usize) + 2);
    let mut buffer: u32 = 0;
    let mut buffered: u32 = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        buffered += 8;
        while buffered >= bits {
            buffered -= bits;
            out.push(char::from(alphabet[((buffer >> buffered) & mask) as usize]));
        }
        buffer &= (1 << buffered) - 1;
    }
    if buffered > 0 {
        out.push(char::from(
            alphabet[((buffer << (bits - buffered)) & mask) as usize],
        ));
    }
    if padded {
        let group = group_chars(bits);
        while !out.len().is_multiple_of(group) {
            out.push('=');
        }
    }
    out
}

/// Characters in one padding group: the fewest that hold a whole number of bytes.
fn group_chars(bits: u32) -> usize {
    match bits {
        5 => 8,
        6 => 4,
        _ => 2,
    }
}

fn decode_bits(
    text: &str,
    alphabet: &[u8],
    bits: u32,
    padded: bool,
    base: &'static str,
) -> Result<Vec<u8>, Error> {
    let body = if padded {
        if !text.len().is_multiple_of(group_chars(bits)) {
            return Err(Error::InvalidLength {
                base,
                reason: "padded text is not a whole number of groups",
            });
        }
        let trimmed = text.trim_end_matches('=');
        if text.len() - trimmed.len() >= group_chars(bits) {
            return Err(Error::InvalidLength {
                base,
                reason: "too much padding",
            });
        }
        trimmed
    } else {
        text
    };
    // A final group of this many characters cannot come from whole bytes.
    let leftover_bits = (body.len() as u64 * u64::from(bits)) % 8;
    if leftover_bits >= u64::from(bits) {
        return Err(Error::InvalidLength {
            base,
            reason: "length cannot come from whole bytes",
        });
    }
    let mut out = Vec::with_capacity(body.len() * bits as usize / 8);
    let mut buffer: u32 = 0;
    let mut buffered: u32 = 0;
    for (position, character) in body.char_indices() {
        let value = digit_value(alphabet, character).ok_or(Error::InvalidCharacter {
            base,
            character,
            position,
        })?;
        buffer = (buffer << bits) | value;
        buffered += bits;
        if buffered >= 8 {
            buffered -= 8;
            out.push((buffer >> buffered) as u8);
            buffer &= (1 << buffered) - 1;
        }
    }
    if buffer != 0 {
        return Err(Error::InvalidLength {
            base,
            reason: "trailing bits are not zero",
        });
    }
    Ok(out)
}

fn digit_value(alphabet: &[u8], character: char) -> Option<u32> {
    let byte = u8::try_from(character).ok()?;
    alphabet
        .iter()
        .position(|&symbol| symbol == byte)
        .map(|index| index as u32)
}

fn encode_radix(bytes: &[u8], alphabet: &[u8]) -> String {
    let radix = alphabet.len() as u32;
    let zeros = bytes.iter().take_while(|&&byte| byte == 0).count();
    // Digits in the target base, least significant first.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 2);
    for &byte in &bytes[zeros..] {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            carry += u32::from(*digit) << 8;
            *digit = (carry % radix) as u8;
            carry /= radix;
        }
        while carry > 0 {
            digits.push((carry % radix) as u8);
            carry /= radix;
        }
    }
    let zero = char::from(alphabet[0]);
    std::iter::repeat_n(zero, zeros)
        .chain(
            digits
                .iter()
                .rev()
                .map(|&digit| char::from(alphabet[digit as usize])),
        )
        .collect()
}

fn decode_radix(text: &str, alphabet: &[u8], base: &'static str) -> Result<Vec<u8>, Error> {
    let radix = alphabet.len() as u32;
    let zero = char::from(alphabet[0]);
    let zeros = text.chars().take_while(|&c| c == zero).count();
    // Bytes, least significant first.
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for (position, character) in text.char_indices().skip(zeros) {
        let mut carry = digit_value(alphabet, character).ok_or(Error::InvalidCharacter {
            base,
            character,
            position,
        })?;
        for byte in bytes.iter_mut() {
            carry += u32::from(*byte) * radix;
            *byte = carry as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push(carry as u8);
            carry >>= 8;
        }
    }
    bytes.extend(std::iter::repeat_n(0, zeros));
    bytes.reverse();
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Vectors from the multibase test suite (multiformats/multibase tests/basic.csv).
    #[test]
    fn encodes_multibase_test_vectors() {
        let input = b"yes mani !";
        let cases = [
            (Base::Base16Lower, "f796573206d616e692021"),
            (Base::Base16Upper, "F796573206D616E692021"),
            (Base::Base32Lower, "bpfsxgidnmfxgsibb"),
            (Base::Base32Upper, "BPFSXGIDNMFXGSIBB"),
            (Base::Base36Lower, "k2lcpzo5yikidynfl"),
            (Base::Base36Upper, "K2LCPZO5YIKIDYNFL"),
            (Base::Base58Btc, "z7paNL19xttacUY"),
            (Base::Base64, "meWVzIG1hbmkgIQ"),
            (Base::Base64Pad, "MeWVzIG1hbmkgIQ=="),
            (Base::Base64Url, "ueWVzIG1hbmkgIQ"),
            (Base::Base64UrlPad, "UeWVzIG1hbmkgIQ=="),
        ];
        for (base, text) in cases {
            assert_eq!(encode(base, input), text, "{}", base.name());
            assert_eq!(decode(text), Ok((base, input.to_vec())), "{}", base.name());
        }
    }

    #[test]
    fn keeps_leading_zero_bytes() {
        // multibase tests/leading_zero.csv and two_leading_zeros.csv
        assert_eq!(
            encode(Base::Base58Btc, b"\x00yes mani !"),
            "z17paNL19xttacUY"
        );
        assert_eq!(
            encode(Base::Base36Lower, b"\x00yes mani !"),
            "k02lcpzo5yikidynfl"
        );
        assert_eq!(
            encode(Base::Base58Btc, b"\x00\x00yes mani !"),
            "z117paNL19xttacUY"
        );
        assert_eq!(decode("z11"), Ok((Base::Base58Btc, vec![0, 0])));
        assert_eq!(decode("z"), Ok((Base::Base58Btc, vec![])));
    }

    #[test]
    fn rejects_bad_text_with_a_reason() {
        assert_eq!(decode(""), Err(Error::MultibaseEmpty));
        assert_eq!(decode("?abc"), Err(Error::UnknownMultibase('?')));
        assert_eq!(
            decode("z0OIl"),
            Err(Error::InvalidCharacter {
                base: "base58btc",
                character: '0',
                position: 0
            })
        );
        assert!(matches!(decode("baf"), Err(Error::InvalidLength { .. })));
        assert!(matches!(decode("ba"), Err(Error::InvalidLength { .. })));
        assert!(matches!(decode("MeW=="), Err(Error::InvalidLength { .. })));
    }

    proptest! {
        #[test]
        fn round_trips_every_base(bytes: Vec<u8>, index in 0usize..Base::ALL.len()) {
            let base = Base::ALL[index];
            let text = encode(base, &bytes);
            prop_assert_eq!(decode(&text), Ok((base, bytes)));
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(text: String) {
            if let Ok((base, bytes)) = decode(&text) {
                // Whatever decodes must be what that base encodes back (canonical text only).
                let canonical = encode(base, &bytes);
                prop_assert_eq!(canonical, text);
            }
        }
    }
}
