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
    /// A protobuf message ends inside a field.
    #[error("protobuf message ends inside a field")]
    ProtobufTruncated,
    /// A protobuf field number is 0 or past the largest protobuf allows.
    #[error("invalid protobuf field number {0}")]
    ProtobufFieldNumber(u64),
    /// A protobuf field uses the deprecated group wire types or one protobuf does not define.
    #[error("unsupported protobuf wire type {0}")]
    ProtobufWireType(u8),
    /// A known protobuf field has a wire type its schema does not give it.
    #[error("protobuf field {field} has wire type {wire_type}, not the one its schema gives it")]
    ProtobufUnexpectedWireType {
        /// The field number.
        field: u32,
        /// The wire type found.
        wire_type: u8,
    },
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
