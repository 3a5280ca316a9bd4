//! How [`super::DiskStore`] lays out one entry: a version byte, then fixed fields, so that a
//! later format can recognise an older one, and a damaged entry is refused, never trusted.
//!
//! A record: `[version][received][expires][publisher length: u8][publisher][value…]`; a
//! provider entry: `[version][expires][addrs_expire][count: u32]([length: u32][address])*`.
//! The record key, and the provider entry's key and provider id, are the database key.
//! Times are big-endian i128 nanoseconds from the Unix epoch.

use std::time::{Duration, SystemTime};

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;

use super::{ProviderRecord, StoredRecord};

/// The first byte of every encoded entry.
pub(super) const ENCODING_VERSION: u8 = 1;

/// Why a stored entry could not be decoded.
#[derive(Debug, thiserror::Error)]
pub(super) enum DecodeError {
    /// Written by another version of the encoding.
    #[error("unknown encoding version {0}")]
    UnknownVersion(u8),
    /// Shorter than its fields say.
    #[error("the entry ends early")]
    Truncated,
    /// Longer than its fields say.
    #[error("{0} bytes after the end of the entry")]
    TrailingBytes(usize),
    /// A time that `SystemTime` cannot represent.
    #[error("a time out of range")]
    TimeOutOfRange,
    /// A publisher or provider id that is not a peer id.
    #[error("peer id: {0}")]
    PeerId(#[from] hyphae_identity::Error),
    /// A provider address that is not a multiaddr.
    #[error("provider address: {0}")]
    Address(#[from] hyphae_multiaddr::Error),
}

/// `[version][received][expires][publisher length: u8][publisher][value…]`.
pub(super) fn encode_record(record: &StoredRecord) -> Vec<u8> {
    let publisher = record.publisher.as_ref().map_or(&[][..], PeerId::as_bytes);
    let mut bytes = Vec::with_capacity(1 + 16 + 16 + 1 + publisher.len() + record.value.len());
    bytes.push(ENCODING_VERSION);
    encode_time(record.received, &mut bytes);
    encode_time(record.expires, &mut bytes);
    // A peer id is at most 44 bytes.
    bytes.push(u8::try_from(publisher.len()).unwrap_or(u8::MAX));
    bytes.extend_from_slice(publisher);
    bytes.extend_from_slice(&record.value);
    bytes
}

pub(super) fn decode_record(key: &[u8], bytes: &[u8]) -> Result<StoredRecord, DecodeError> {
    let mut reader = Reader::new(bytes)?;
    let received = reader.time()?;
    let expires = reader.time()?;
    let publisher = match reader.u8()? {
        0 => None,
        len => Some(PeerId::from_bytes(reader.take(usize::from(len))?)?),
    };
    Ok(StoredRecord {
        key: key.to_vec(),
        value: reader.rest().to_vec(),
        publisher,
        received,
        expires,
    })
}

/// `[version][expires][addrs_expire][address count: u32]([length: u32][address])*`.
pub(super) fn encode_provider(record: &ProviderRecord) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + 16 + 16 + 4 + record.stored_bytes());
    bytes.push(ENCODING_VERSION);
    encode_time(record.expires, &mut bytes);
    encode_time(record.addrs_expire, &mut bytes);
    encode_len(record.addrs.len(), &mut bytes);
    for addr in &record.addrs {
        encode_len(addr.as_bytes().len(), &mut bytes);
        bytes.extend_from_slice(addr.as_bytes());
    }
    bytes
}

pub(super) fn decode_provider(
    key: &[u8],
    provider: &[u8],
    bytes: &[u8],
) -> Result<ProviderRecord, DecodeError> {
    let provider = PeerId::from_bytes(provider)?;
    let mut reader = Reader::new(bytes)?;
    let expires = reader.time()?;
    let addrs_expire = reader.time()?;
    let count = reader.len()?;
    // Grown as addresses are read, never sized from the stored count.
    let mut addrs = Vec::new();
    for _ in 0..count {
        let len = reader.len()?;
        addrs.push(Multiaddr::try_from(reader.take(len)?)?);
    }
    reader.finish()?;
    Ok(ProviderRecord {
        key: key.to_vec(),
        provider,
        addrs,
        expires,
        addrs_expire,
    })
}

/// A length as a big-endian u32 (addresses and their count are far below 4 GiB).
fn encode_len(len: usize, bytes: &mut Vec<u8>) {
    bytes.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

/// A time as big-endian i128 nanoseconds from the Unix epoch (negative before it), which
/// holds any `SystemTime` exactly.
fn encode_time(time: SystemTime, bytes: &mut Vec<u8>) {
    let nanos = match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).unwrap_or(i128::MAX),
        Err(before) => i128::try_from(before.duration().as_nanos()).map_or(i128::MIN, |n| -n),
    };
    bytes.extend_from_slice(&nanos.to_be_bytes());
}

/// Reads the fields of one entry, checking every length against what is left.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts after the version byte, which must be [`ENCODING_VERSION`].
    fn new(bytes: &'a [u8]) -> Result<Reader<'a>, DecodeError> {
        let mut reader = Reader { rest: bytes };
        match reader.u8()? {
            ENCODING_VERSION => Ok(reader),
            other => Err(DecodeError::UnknownVersion(other)),
        }
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < len {
            return Err(DecodeError::Truncated);
        }
        let (taken, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(u32::from_be_bytes(self.array()?)).map_err(|_| DecodeError::Truncated)
    }

    fn time(&mut self) -> Result<SystemTime, DecodeError> {
        let nanos = i128::from_be_bytes(self.array()?);
        let magnitude = nanos.unsigned_abs();
        let seconds =
            u64::try_from(magnitude / 1_000_000_000).map_err(|_| DecodeError::TimeOutOfRange)?;
        // The remainder is below 10^9.
        let subsecond = u32::try_from(magnitude % 1_000_000_000).unwrap_or(0);
        let offset = Duration::new(seconds, subsecond);
        let time = if nanos >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(offset)
        } else {
            SystemTime::UNIX_EPOCH.checked_sub(offset)
        };
        time.ok_or(DecodeError::TimeOutOfRange)
    }

    /// Everything not read yet.
    fn rest(self) -> &'a [u8] {
        self.rest
    }

    /// Fails if anything is left.
    fn finish(self) -> Result<(), DecodeError> {
        match self.rest.len() {
            0 => Ok(()),
            left => Err(DecodeError::TrailingBytes(left)),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn start() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    fn record(key: &[u8]) -> StoredRecord {
        StoredRecord {
            key: key.to_vec(),
            value: b"value".to_vec(),
            publisher: None,
            received: start(),
            expires: start() + Duration::from_secs(60),
        }
    }

    #[test]
    fn times_before_the_epoch_and_to_the_nanosecond_survive_encoding() {
        for time in [
            SystemTime::UNIX_EPOCH,
            SystemTime::UNIX_EPOCH - Duration::new(5, 250),
            SystemTime::UNIX_EPOCH - Duration::from_secs(5),
            start() + Duration::from_nanos(1),
        ] {
            let stored = StoredRecord {
                received: time,
                expires: time,
                ..record(b"k")
            };
            let decoded = decode_record(b"k", &encode_record(&stored)).unwrap();
            assert_eq!(decoded, stored);
        }
    }

    #[test]
    fn a_provider_entry_with_bytes_after_its_end_is_refused() {
        let provider = PeerId::from_bytes(&[[0x12, 32].as_slice(), &[7; 32]].concat()).unwrap();
        let entry = ProviderRecord {
            key: b"cid".to_vec(),
            provider,
            addrs: vec![Multiaddr::from(std::net::Ipv4Addr::LOCALHOST)],
            expires: start(),
            addrs_expire: start(),
        };
        let mut bytes = encode_provider(&entry);
        let decoded = decode_provider(b"cid", provider.as_bytes(), &bytes).unwrap();
        assert_eq!(decoded, entry);
        bytes.push(0);
        assert!(matches!(
            decode_provider(b"cid", provider.as_bytes(), &bytes),
            Err(DecodeError::TrailingBytes(1))
        ));
    }

    proptest! {
        #[test]
        fn decoding_any_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_record(b"k", &bytes);
            let _ = decode_provider(b"k", &bytes, &bytes);
            let mut versioned = bytes.clone();
            versioned.insert(0, ENCODING_VERSION);
            let _ = decode_record(b"k", &versioned);
            let _ = decode_provider(b"k", &bytes, &versioned);
        }
    }
}
