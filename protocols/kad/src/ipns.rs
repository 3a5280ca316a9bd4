//! IPNS records and the validator of the `/ipns/` namespace (ipfs/specs
//! `src/ipns/ipns-record.md`).
//!
//! An IPNS record maps a name (a peer id) to a value, usually an `/ipfs/<cid>` path. It is
//! an `IpnsEntry` protobuf whose `data` field holds a DAG-CBOR map of `Value`, `Validity`,
//! `ValidityType`, `Sequence` and `TTL`, signed (`signatureV2`) by the name's key over
//! `"ipns-signature:" ++ data`. Older records also carry V1 copies of those fields in the
//! protobuf; they must then equal the signed ones. A record is valid until its `Validity`,
//! an RFC 3339 end of life, which is why [`Ipns`] reads a [`Clock`].
//!
//! The CBOR reader here reads exactly what an IPNS record needs, skips any other entries
//! (the spec lets publishers add their own), and is bounded in nesting depth; the record
//! itself is at most [`MAX_IPNS_RECORD_LEN`] bytes.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime};

use hyphae_identity::{Keypair, PeerId, PublicKey};
use prost::Message as _;

use crate::time::{Clock, format_rfc3339, parse_rfc3339};
use crate::validator::{RecordError, Validator, peer_in_key};

/// Largest IPNS record accepted, in bytes (spec: "Record Size Limit", 10 KiB).
pub const MAX_IPNS_RECORD_LEN: usize = 10 * 1024;
/// What the V2 signature covers, before the CBOR data.
const SIGNATURE_PREFIX: &[u8] = b"ipns-signature:";
/// Deepest nesting of CBOR arrays, maps and tags read inside `data`. The five fields sit at
/// depth 1; deeper levels only hold publishers' own entries, which are skipped.
const MAX_CBOR_DEPTH: usize = 16;
/// `ValidityType` 0: `Validity` is an end of life (the only type the spec defines).
const VALIDITY_END_OF_LIFE: u64 = 0;

/// The record key of the IPNS name `peer`: `/ipns/` and the binary peer id.
pub fn ipns_key(peer: &PeerId) -> Vec<u8> {
    [b"/ipns/", peer.as_bytes()].concat()
}

/// The signed content of an IPNS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpnsRecord {
    /// What the name points at, e.g. `/ipfs/bafy…`.
    pub value: Vec<u8>,
    /// The version: a record with a higher sequence replaces one with a lower.
    pub sequence: u64,
    /// When the record stops being valid.
    pub validity: SystemTime,
    /// How long a resolver may cache the record before looking again.
    pub ttl: Duration,
}

impl IpnsRecord {
    /// Reads a record without verifying its signature or expiry: for inspecting a record
    /// that [`Ipns::verify`] or [`Validator::validate`] has accepted.
    pub fn decode(bytes: &[u8]) -> Result<IpnsRecord, RecordError> {
        Parsed::decode(bytes)?.record()
    }

    /// Encodes and signs the record with `keypair`, the key of the name it is published
    /// under, as a V2-only record (no legacy V1 fields). The public key is included when
    /// the name does not inline it (RSA and ECDSA keys).
    pub fn sign(&self, keypair: &Keypair) -> Result<Vec<u8>, RecordError> {
        let validity = format_rfc3339(self.validity).into_bytes();
        let ttl = u64::try_from(self.ttl.as_nanos()).unwrap_or(u64::MAX);
        // DAG-CBOR orders map keys by length, then bytewise.
        let mut data = Vec::new();
        cbor_head(&mut data, MAJOR_MAP, 5);
        cbor_text(&mut data, "TTL");
        cbor_head(&mut data, MAJOR_UNSIGNED, ttl);
        cbor_text(&mut data, "Value");
        cbor_bytes(&mut data, &self.value);
        cbor_text(&mut data, "Sequence");
        cbor_head(&mut data, MAJOR_UNSIGNED, self.sequence);
        cbor_text(&mut data, "Validity");
        cbor_bytes(&mut data, &validity);
        cbor_text(&mut data, "ValidityType");
        cbor_head(&mut data, MAJOR_UNSIGNED, VALIDITY_END_OF_LIFE);

        let signature = keypair
            .sign(&[SIGNATURE_PREFIX, &data].concat())
            .map_err(RecordError::Signing)?;
        let public_key = keypair.public();
        let is_inlined = keypair.peer_id().public_key().is_some();
        let entry = IpnsEntry {
            public_key: (!is_inlined).then(|| public_key.encode_protobuf()),
            signature_v2: Some(signature),
            data: Some(data),
            ..IpnsEntry::default()
        };
        Ok(entry.encode_to_vec())
    }
}

/// The validator of the `ipns` namespace.
///
/// A record is valid when it is at most [`MAX_IPNS_RECORD_LEN`] bytes, its V2 signature
/// verifies with the name's key (from the record's `pubKey`, which must match the name, or
/// inlined in the name), its V1 fields if any equal the signed ones, and its end of life is
/// not before the clock's now. `select` prefers a V2 signature, then the highest sequence,
/// then the latest end of life, then the greater bytes, as boxo does; it fails if any value
/// is not a readable record.
#[derive(Debug, Clone, Default)]
pub struct Ipns {
    clock: Clock,
}

impl Ipns {
    /// A validator that checks expiry against `clock`.
    pub fn new(clock: Clock) -> Ipns {
        Ipns { clock }
    }

    /// Verifies `record` as published under the name `name` (spec: "Record Verification")
    /// and returns its content.
    pub fn verify(&self, name: &PeerId, record: &[u8]) -> Result<IpnsRecord, RecordError> {
        let parsed = Parsed::decode(record)?;
        let signature = parsed
            .entry
            .signature_v2
            .as_deref()
            .filter(|signature| !signature.is_empty())
            .ok_or(RecordError::MissingSignature)?;
        let public_key = match parsed.entry.public_key.as_deref() {
            Some(encoded) if !encoded.is_empty() => {
                let key =
                    PublicKey::decode_protobuf(encoded).map_err(RecordError::InvalidPublicKey)?;
                if !name.is_public_key(&key) {
                    return Err(RecordError::PeerIdMismatch);
                }
                key
            }
            _ => name.public_key().ok_or(RecordError::NoPublicKey)?,
        };
        if !public_key.verify(&[SIGNATURE_PREFIX, &parsed.data].concat(), signature) {
            return Err(RecordError::InvalidSignature);
        }
        parsed.check_v1_fields()?;
        let content = parsed.record()?;
        if self.clock.now() > content.validity {
            return Err(RecordError::Expired);
        }
        Ok(content)
    }
}

impl Validator for Ipns {
    fn validate(&self, key: &[u8], value: &[u8]) -> Result<(), RecordError> {
        let name = peer_in_key(key, "/ipns/", "ipns")?;
        self.verify(&name, value).map(drop)
    }

    fn select(&self, _key: &[u8], values: &[&[u8]]) -> Result<usize, RecordError> {
        let mut best: Option<(usize, (bool, u64, SystemTime))> = None;
        for (index, value) in values.iter().enumerate() {
            let parsed = Parsed::decode(value)?;
            let content = parsed.record()?;
            let has_v2_signature = parsed.entry.signature_v2.is_some();
            let rank = (has_v2_signature, content.sequence, content.validity);
            let is_better = match &best {
                None => true,
                Some((best_index, best_rank)) => match rank.cmp(best_rank) {
                    Ordering::Equal => value > &values[*best_index],
                    ordering => ordering == Ordering::Greater,
                },
            };
            if is_better {
                best = Some((index, rank));
            }
        }
        best.map(|(index, _)| index).ok_or(RecordError::NoValues)
    }
}

/// The `IpnsEntry` protobuf (spec: "Record Serialization Format").
#[derive(Clone, PartialEq, prost::Message)]
struct IpnsEntry {
    #[prost(bytes = "vec", optional, tag = "1")]
    value: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    signature_v1: Option<Vec<u8>>,
    #[prost(int32, optional, tag = "3")]
    validity_type: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "4")]
    validity: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "5")]
    sequence: Option<u64>,
    #[prost(uint64, optional, tag = "6")]
    ttl: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "7")]
    public_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "8")]
    signature_v2: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "9")]
    data: Option<Vec<u8>>,
}

/// A record read but not verified: the protobuf, and the fields of its CBOR data.
struct Parsed {
    entry: IpnsEntry,
    data: Vec<u8>,
    fields: DataFields,
}

/// The five entries of the CBOR data, as they were signed.
#[derive(Default)]
struct DataFields {
    value: Vec<u8>,
    validity: Vec<u8>,
    validity_type: u64,
    sequence: u64,
    ttl: u64,
}

impl Parsed {
    fn decode(bytes: &[u8]) -> Result<Parsed, RecordError> {
        if bytes.len() > MAX_IPNS_RECORD_LEN {
            return Err(RecordError::TooLarge {
                len: bytes.len(),
                max: MAX_IPNS_RECORD_LEN,
            });
        }
        let mut entry = IpnsEntry::decode(bytes).map_err(RecordError::Protobuf)?;
        let data = entry
            .data
            .take()
            .filter(|data| !data.is_empty())
            .ok_or(RecordError::MissingData)?;
        let fields = read_data(&data)?;
        Ok(Parsed {
            entry,
            data,
            fields,
        })
    }

    fn record(&self) -> Result<IpnsRecord, RecordError> {
        let fields = &self.fields;
        if fields.validity_type != VALIDITY_END_OF_LIFE {
            return Err(RecordError::UnsupportedValidityType(fields.validity_type));
        }
        let validity = std::str::from_utf8(&fields.validity)
            .ok()
            .and_then(parse_rfc3339)
            .ok_or(RecordError::InvalidValidity)?;
        Ok(IpnsRecord {
            value: fields.value.clone(),
            sequence: fields.sequence,
            validity,
            ttl: Duration::from_nanos(fields.ttl),
        })
    }

    /// When a record carries V1 fields, they must equal the signed ones (spec step 7);
    /// absent V1 fields read as their protobuf defaults, as in boxo.
    fn check_v1_fields(&self) -> Result<(), RecordError> {
        let entry = &self.entry;
        let has_signature_v1 = entry.signature_v1.as_ref().is_some_and(|s| !s.is_empty());
        let has_value = entry.value.as_ref().is_some_and(|value| !value.is_empty());
        if !has_signature_v1 && !has_value {
            return Ok(());
        }
        let fields = &self.fields;
        let checks = [
            (
                "Value",
                entry.value.as_deref().unwrap_or_default() == fields.value,
            ),
            (
                "Validity",
                entry.validity.as_deref().unwrap_or_default() == fields.validity,
            ),
            (
                "ValidityType",
                u64::try_from(entry.validity_type.unwrap_or_default()).ok()
                    == Some(fields.validity_type),
            ),
            (
                "Sequence",
                entry.sequence.unwrap_or_default() == fields.sequence,
            ),
            ("TTL", entry.ttl.unwrap_or_default() == fields.ttl),
        ];
        match checks.iter().find(|(_, equal)| !equal) {
            Some((field, _)) => Err(RecordError::V1Mismatch(field)),
            None => Ok(()),
        }
    }
}

/// Why the `data` of an IPNS record is not the DAG-CBOR it must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborError {
    /// The data ends inside an item.
    #[error("ends inside an item")]
    Truncated,
    /// An item uses a reserved encoding or an indefinite length, which DAG-CBOR forbids.
    #[error("reserved or indefinite-length encoding {0:#04x}")]
    UnsupportedEncoding(u8),
    /// Arrays, maps or tags are nested more than 16 deep.
    #[error("nested too deep")]
    TooDeep,
    /// The data is not a map.
    #[error("not a map")]
    NotAMap,
    /// Bytes follow the map.
    #[error("bytes after the map")]
    TrailingBytes,
    /// One of the five IPNS entries appears twice.
    #[error("duplicate {0} entry")]
    DuplicateKey(&'static str),
}

const MAJOR_UNSIGNED: u8 = 0;
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;

/// Reads the five IPNS entries from the CBOR map in `data`, skipping any others.
fn read_data(data: &[u8]) -> Result<DataFields, RecordError> {
    let mut reader = CborReader { rest: data };
    let (major, entries) = reader.head().map_err(RecordError::Cbor)?;
    if major != MAJOR_MAP {
        return Err(RecordError::Cbor(CborError::NotAMap));
    }
    let mut fields = DataFields::default();
    let mut seen = [false; 5];
    const NAMES: [&str; 5] = ["Value", "Validity", "ValidityType", "Sequence", "TTL"];
    for _ in 0..entries {
        let (major, argument) = reader.head().map_err(RecordError::Cbor)?;
        let name = if major == MAJOR_TEXT {
            let text = reader.take(argument).map_err(RecordError::Cbor)?;
            NAMES.iter().position(|name| name.as_bytes() == text)
        } else {
            reader
                .skip_content(major, argument, 1)
                .map_err(RecordError::Cbor)?;
            None
        };
        let Some(position) = name else {
            reader.skip(1).map_err(RecordError::Cbor)?;
            continue;
        };
        let name = NAMES[position];
        if std::mem::replace(&mut seen[position], true) {
            return Err(RecordError::Cbor(CborError::DuplicateKey(name)));
        }
        let (major, argument) = reader.head().map_err(RecordError::Cbor)?;
        let expected = if position < 2 {
            MAJOR_BYTES
        } else {
            MAJOR_UNSIGNED
        };
        if major != expected {
            return Err(RecordError::FieldType(name));
        }
        match position {
            0 => fields.value = reader.take(argument).map_err(RecordError::Cbor)?.to_vec(),
            1 => fields.validity = reader.take(argument).map_err(RecordError::Cbor)?.to_vec(),
            2 => fields.validity_type = argument,
            3 => fields.sequence = argument,
            _ => fields.ttl = argument,
        }
    }
    if !reader.rest.is_empty() {
        return Err(RecordError::Cbor(CborError::TrailingBytes));
    }
    match seen.iter().position(|seen| !seen) {
        Some(missing) => Err(RecordError::MissingField(NAMES[missing])),
        None => Ok(fields),
    }
}

/// A cursor over CBOR items (RFC 8949), reading only definite lengths.
struct CborReader<'a> {
    rest: &'a [u8],
}

impl<'a> CborReader<'a> {
    /// Reads an item's head: its major type and its argument (a value, length or count).
    fn head(&mut self) -> Result<(u8, u64), CborError> {
        let (&initial, rest) = self.rest.split_first().ok_or(CborError::Truncated)?;
        self.rest = rest;
        let major = initial >> 5;
        let argument = match initial & 0x1f {
            short @ 0..=23 => u64::from(short),
            24 => self.take_uint(1)?,
            25 => self.take_uint(2)?,
            26 => self.take_uint(4)?,
            27 => self.take_uint(8)?,
            _ => return Err(CborError::UnsupportedEncoding(initial)),
        };
        Ok((major, argument))
    }

    fn take_uint(&mut self, len: usize) -> Result<u64, CborError> {
        let bytes = self.take(len as u64)?;
        Ok(bytes
            .iter()
            .fold(0, |value, &byte| value << 8 | u64::from(byte)))
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], CborError> {
        let len = usize::try_from(len).map_err(|_| CborError::Truncated)?;
        let (taken, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or(CborError::Truncated)?;
        self.rest = rest;
        Ok(taken)
    }

    /// Skips one whole item at nesting `depth`.
    fn skip(&mut self, depth: usize) -> Result<(), CborError> {
        let (major, argument) = self.head()?;
        self.skip_content(major, argument, depth)
    }

    /// Skips what follows an item's head. Each nested item takes at least one byte, so a
    /// huge count ends at the end of the data, not after `count` iterations.
    fn skip_content(&mut self, major: u8, argument: u64, depth: usize) -> Result<(), CborError> {
        let items = match major {
            MAJOR_BYTES | MAJOR_TEXT => return self.take(argument).map(drop),
            MAJOR_ARRAY | MAJOR_TAG => {
                if major == MAJOR_TAG {
                    1
                } else {
                    argument
                }
            }
            MAJOR_MAP => argument.saturating_mul(2),
            // Integers and simple values are all head.
            _ => return Ok(()),
        };
        if depth >= MAX_CBOR_DEPTH {
            return Err(CborError::TooDeep);
        }
        for _ in 0..items {
            self.skip(depth + 1)?;
        }
        Ok(())
    }
}

/// Appends a CBOR head with the shortest encoding of `argument`, as DAG-CBOR requires.
fn cbor_head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let major = major << 5;
    match argument {
        0..=23 => out.push(major | argument as u8),
        24..=0xff => out.extend_from_slice(&[major | 24, argument as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend_from_slice(&(argument as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend_from_slice(&(argument as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend_from_slice(&argument.to_be_bytes());
        }
    }
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, MAJOR_TEXT, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, MAJOR_BYTES, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn heads_use_the_shortest_encoding() {
        let cases: [(u64, &[u8]); 6] = [
            (0, &[0x00]),
            (23, &[0x17]),
            (24, &[0x18, 24]),
            (256, &[0x19, 1, 0]),
            (65_536, &[0x1a, 0, 1, 0, 0]),
            (1 << 32, &[0x1b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ];
        for (argument, encoded) in cases {
            let mut out = Vec::new();
            cbor_head(&mut out, MAJOR_UNSIGNED, argument);
            assert_eq!(out, encoded);
            assert_eq!(CborReader { rest: encoded }.head(), Ok((0, argument)));
        }
    }

    #[test]
    fn other_entries_are_skipped_but_nesting_is_bounded() {
        let mut data = Vec::new();
        cbor_head(&mut data, MAJOR_MAP, 6);
        cbor_text(&mut data, "_extra");
        // An array holding a map holding a tagged float.
        data.extend_from_slice(&[0x81, 0xa1, 0x01, 0xc1, 0xfb, 0, 0, 0, 0, 0, 0, 0, 0]);
        for (name, major, argument) in [
            ("TTL", MAJOR_UNSIGNED, 1),
            ("Sequence", MAJOR_UNSIGNED, 7),
            ("ValidityType", MAJOR_UNSIGNED, 0),
        ] {
            cbor_text(&mut data, name);
            cbor_head(&mut data, major, argument);
        }
        cbor_text(&mut data, "Value");
        cbor_bytes(&mut data, b"/ipfs/x");
        cbor_text(&mut data, "Validity");
        cbor_bytes(&mut data, b"2030-01-01T00:00:00Z");
        let fields = read_data(&data).unwrap();
        assert_eq!((fields.sequence, fields.ttl), (7, 1));
        assert_eq!(fields.value, b"/ipfs/x");

        let mut deep = vec![0xa1, 0x61, b'x'];
        deep.extend(std::iter::repeat_n(0x81, 64));
        deep.push(0x00);
        assert!(matches!(
            read_data(&deep),
            Err(RecordError::Cbor(CborError::TooDeep))
        ));
    }

    #[test]
    fn a_huge_count_ends_at_the_end_of_the_data() {
        let data = [
            0xa1, 0x61, b'x', 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert!(matches!(
            read_data(&data),
            Err(RecordError::Cbor(CborError::Truncated))
        ));
    }

    proptest! {
        #[test]
        fn reading_arbitrary_data_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = read_data(&data);
        }

        #[test]
        fn reading_a_map_with_arbitrary_content_never_panics(
            count in 0u8..24,
            content in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            let mut data = vec![0xa0 | count];
            data.extend(content);
            let _ = read_data(&data);
        }
    }
}
