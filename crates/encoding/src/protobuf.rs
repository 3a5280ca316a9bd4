//! The protobuf wire format at the level of single fields: reading a message's fields one by
//! one, and writing fields.
//!
//! libp2p's protocols exchange protobuf messages that a peer controls. A derived decoder
//! builds every entry of a message before the caller can count them, so a few wire bytes per
//! empty entry become tens of bytes of memory each. Reading field by field lets a protocol's
//! decoder skip what is past its limits without allocating it, and skip unknown fields as
//! protobuf requires. The writers let an encoder write straight from its own types, with
//! no intermediate copy.
//!
//! Wire format: <https://protobuf.dev/programming-guides/encoding/>.

use crate::{Error, varint};

/// The wire type of varint fields (`int32`, `uint64`, `bool`, enums).
pub const WIRE_TYPE_VARINT: u8 = 0;
/// The wire type of 64-bit fixed-width fields (`fixed64`, `double`).
pub const WIRE_TYPE_FIXED64: u8 = 1;
/// The wire type of length-delimited fields (`bytes`, `string`, messages, packed repeats).
pub const WIRE_TYPE_LEN: u8 = 2;
/// The wire type of 32-bit fixed-width fields (`fixed32`, `float`).
pub const WIRE_TYPE_FIXED32: u8 = 5;

/// The largest field number protobuf allows (2^29 - 1).
pub const MAX_FIELD_NUMBER: u32 = (1 << 29) - 1;

/// A field's value as the wire carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// A varint (wire type 0), as read: non-minimal encodings are accepted, as protobuf does.
    Varint(u64),
    /// A length-delimited value (wire type 2): bytes, a string or an embedded message.
    Bytes(&'a [u8]),
    /// A 64-bit fixed-width value (wire type 1).
    Fixed64(u64),
    /// A 32-bit fixed-width value (wire type 5).
    Fixed32(u32),
}

impl Value<'_> {
    /// The wire type this value was read with.
    pub fn wire_type(&self) -> u8 {
        match self {
            Value::Varint(_) => WIRE_TYPE_VARINT,
            Value::Fixed64(_) => WIRE_TYPE_FIXED64,
            Value::Bytes(_) => WIRE_TYPE_LEN,
            Value::Fixed32(_) => WIRE_TYPE_FIXED32,
        }
    }

    /// The error for a known `field` that arrived with this value's wire type instead of the
    /// one its schema gives it.
    pub fn wrong_type(&self, field: u32) -> Error {
        Error::ProtobufUnexpectedWireType {
            field,
            wire_type: self.wire_type(),
        }
    }
}

/// The fields of a protobuf message in wire order, as `(field number, value)`; stops after
/// the first error. Nothing is allocated: values borrow from the input.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The fields of the message encoded in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Fields<'a> {
        Fields { rest: bytes }
    }

    fn next_field(&mut self) -> Result<(u32, Value<'a>), Error> {
        let tag = read_varint(&mut self.rest)?;
        let field = tag >> 3;
        if field == 0 || field > u64::from(MAX_FIELD_NUMBER) {
            return Err(Error::ProtobufFieldNumber(field));
        }
        let value = match (tag & 7) as u8 {
            WIRE_TYPE_VARINT => Value::Varint(read_varint(&mut self.rest)?),
            WIRE_TYPE_LEN => {
                let len = read_varint(&mut self.rest)?;
                let len = usize::try_from(len).map_err(|_| Error::ProtobufTruncated)?;
                Value::Bytes(self.take(len)?)
            }
            WIRE_TYPE_FIXED64 => Value::Fixed64(u64::from_le_bytes(self.array()?)),
            WIRE_TYPE_FIXED32 => Value::Fixed32(u32::from_le_bytes(self.array()?)),
            wire_type => return Err(Error::ProtobufWireType(wire_type)),
        };
        Ok((field as u32, value))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], Error> {
        let (bytes, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or(Error::ProtobufTruncated)?;
        self.rest = rest;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let (array, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(Error::ProtobufTruncated)?;
        self.rest = rest;
        Ok(*array)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), Error>;

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

/// Reads a protobuf varint, which unlike a multiformats length prefix may be non-minimal.
fn read_varint(bytes: &mut &[u8]) -> Result<u64, Error> {
    let mut value = 0u64;
    for index in 0..varint::MAX_LEN {
        let (&byte, rest) = bytes.split_first().ok_or(Error::ProtobufTruncated)?;
        *bytes = rest;
        if index == varint::MAX_LEN - 1 && byte > 1 {
            return Err(Error::VarintOverflow);
        }
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Error::VarintOverflow)
}

/// Appends the tag (field number and wire type) that starts a field.
pub fn write_tag(field: u32, wire_type: u8, out: &mut Vec<u8>) {
    varint::encode_to_vec(u64::from(field) << 3 | u64::from(wire_type), out);
}

/// Appends a varint field (`uint64`, `bool`, non-negative enums and `int32`s).
pub fn write_varint_field(field: u32, value: u64, out: &mut Vec<u8>) {
    write_tag(field, WIRE_TYPE_VARINT, out);
    varint::encode_to_vec(value, out);
}

/// Appends a length-delimited field holding `bytes` (`bytes` or `string`).
pub fn write_bytes_field(field: u32, bytes: &[u8], out: &mut Vec<u8>) {
    write_len_prefix(field, bytes.len(), out);
    out.extend_from_slice(bytes);
}

/// Appends the tag and length of a length-delimited field whose `len` bytes of content the
/// caller writes next (an embedded message).
pub fn write_len_prefix(field: u32, len: usize, out: &mut Vec<u8>) {
    write_tag(field, WIRE_TYPE_LEN, out);
    varint::encode_to_vec(len as u64, out);
}

/// How many bytes a varint field takes.
pub fn varint_field_len(field: u32, value: u64) -> usize {
    tag_len(field) + varint::encoded_len(value)
}

/// How many bytes a length-delimited field with `len` bytes of content takes.
pub fn len_field_len(field: u32, len: usize) -> usize {
    tag_len(field) + varint::encoded_len(len as u64) + len
}

fn tag_len(field: u32) -> usize {
    varint::encoded_len(u64::from(field) << 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(bytes: &[u8]) -> Vec<Result<(u32, Value<'_>), Error>> {
        Fields::new(bytes).collect()
    }

    #[test]
    fn reads_every_wire_type() {
        let bytes = [
            0x08, 0x96, 0x01, // 1: varint 150
            0x12, 0x02, b'h', b'i', // 2: bytes "hi"
            0x19, 1, 0, 0, 0, 0, 0, 0, 0, // 3: fixed64 1
            0x25, 2, 0, 0, 0, // 4: fixed32 2
        ];
        assert_eq!(
            fields(&bytes),
            vec![
                Ok((1, Value::Varint(150))),
                Ok((2, Value::Bytes(b"hi"))),
                Ok((3, Value::Fixed64(1))),
                Ok((4, Value::Fixed32(2))),
            ]
        );
    }

    #[test]
    fn accepts_non_minimal_varints() {
        assert_eq!(fields(&[0x08, 0x81, 0x00]), vec![Ok((1, Value::Varint(1)))]);
    }

    #[test]
    fn malformed_input_is_an_error_and_ends_the_fields() {
        assert_eq!(
            fields(&[0x12, 0x05, b'k', 0x08, 0x01]),
            vec![Err(Error::ProtobufTruncated)]
        );
        assert_eq!(fields(&[0x08]), vec![Err(Error::ProtobufTruncated)]);
        assert_eq!(
            fields(&[0x00, 0x00]),
            vec![Err(Error::ProtobufFieldNumber(0))]
        );
        assert_eq!(fields(&[0x0b]), vec![Err(Error::ProtobufWireType(3))]);
        let overflow = [
            0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02,
        ];
        assert_eq!(fields(&overflow), vec![Err(Error::VarintOverflow)]);
    }

    #[test]
    fn writes_what_it_reads() {
        let mut out = Vec::new();
        write_varint_field(1, 150, &mut out);
        write_bytes_field(6_492_434, b"x", &mut out);
        assert_eq!(
            out.len(),
            varint_field_len(1, 150) + len_field_len(6_492_434, 1)
        );
        assert_eq!(
            fields(&out),
            vec![
                Ok((1, Value::Varint(150))),
                Ok((6_492_434, Value::Bytes(b"x")))
            ]
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            // An error ends the fields, so `flatten` sees every field read.
            for (number, _) in Fields::new(&bytes).flatten() {
                prop_assert!((1..=MAX_FIELD_NUMBER).contains(&number));
            }
        }

        #[test]
        fn fields_round_trip(field in 1..=MAX_FIELD_NUMBER, value: u64, bytes: Vec<u8>) {
            let mut out = Vec::new();
            write_varint_field(field, value, &mut out);
            write_bytes_field(field, &bytes, &mut out);
            prop_assert_eq!(out.len(), varint_field_len(field, value) + len_field_len(field, bytes.len()));
            prop_assert_eq!(
                fields(&out),
                vec![Ok((field, Value::Varint(value))), Ok((field, Value::Bytes(&bytes)))]
            );
        }
    }
}
