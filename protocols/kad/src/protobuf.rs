//! A minimal reader of protobuf fields, so that the kad message decoder can skip what is
//! past its limits without allocating it (a derived decoder builds every entry of a 4 MiB
//! message first).

use hyphae_encoding::varint;

use crate::message::DecodeError;

/// A field's value as the wire carries it.
pub(crate) enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    /// A 32- or 64-bit fixed-width value, which no field of ours uses.
    Fixed(u8),
}

impl Value<'_> {
    pub(crate) fn wrong_type(&self, field: u32) -> DecodeError {
        let wire_type = match self {
            Value::Varint(_) => 0,
            Value::Bytes(_) => 2,
            Value::Fixed(wire_type) => *wire_type,
        };
        DecodeError::WireType { field, wire_type }
    }
}

/// The fields of a protobuf message in wire order; stops after the first error.
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Fields<'a> {
        Fields { rest: bytes }
    }

    fn next_field(&mut self) -> Result<(u32, Value<'a>), DecodeError> {
        let tag = read_varint(&mut self.rest)?;
        let field = tag >> 3;
        if field == 0 || field >= 1 << 29 {
            return Err(DecodeError::FieldNumber(field));
        }
        let value = match (tag & 7) as u8 {
            0 => Value::Varint(read_varint(&mut self.rest)?),
            2 => {
                let len = read_varint(&mut self.rest)?;
                let len = usize::try_from(len).map_err(|_| DecodeError::Truncated)?;
                let (bytes, rest) = self
                    .rest
                    .split_at_checked(len)
                    .ok_or(DecodeError::Truncated)?;
                self.rest = rest;
                Value::Bytes(bytes)
            }
            wire_type @ (1 | 5) => {
                let len = if wire_type == 1 { 8 } else { 4 };
                self.rest = self.rest.get(len..).ok_or(DecodeError::Truncated)?;
                Value::Fixed(wire_type)
            }
            wire_type => return Err(DecodeError::UnsupportedWireType(wire_type)),
        };
        Ok((field as u32, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = self.next_field();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

/// Reads a protobuf varint, which unlike the length prefix may be non-minimal.
fn read_varint(bytes: &mut &[u8]) -> Result<u64, DecodeError> {
    let mut value = 0u64;
    for index in 0..varint::MAX_LEN {
        let (&byte, rest) = bytes.split_first().ok_or(DecodeError::Truncated)?;
        *bytes = rest;
        if index == varint::MAX_LEN - 1 && byte > 1 {
            return Err(DecodeError::VarintOverflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(DecodeError::VarintOverflow)
}
