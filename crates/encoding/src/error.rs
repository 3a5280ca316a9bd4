/// Why bytes or text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ended in the middle of a varint; more bytes may complete it.
    #[error("varint is incomplete: the input ended before its last byte")]
    VarintIncomplete,
    /// The varint does not fit in 64 bits.
    #[error("varint overflows 64 bits")]
    VarintOverflow,
    /// The varint has trailing zero groups; the spec requires the shortest encoding.
    #[error("varint is not minimally encoded")]
    VarintNotMinimal,
    /// The text is empty, so it has no multibase prefix.
    #[error("multibase text is empty")]
    MultibaseEmpty,
    /// The first character names no multibase encoding we support.
    #[error("unsupported multibase prefix {0:?}")]
    UnknownMultibase(char),
    /// A character is outside the alphabet of the base.
    #[error("invalid {base} character {character:?} at position {position}")]
    InvalidCharacter {
        /// Name of the base being decoded.
        base: &'static str,
        /// The offending character.
        character: char,
        /// Its position in the text (after any multibase prefix).
        position: usize,
    },
    /// The text has a length, padding or trailing bits that no encoder produces.
    #[error("invalid {base} text: {reason}")]
    InvalidLength {
        /// Name of the base being decoded.
        base: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The multihash is shorter or longer than its header says.
    #[error("multihash digest has {actual} bytes but its header says {declared}")]
    MultihashLength {
        /// Digest length from the header.
        declared: u64,
        /// Bytes actually present.
        actual: usize,
    },
}
