//! Domain names in wire form (RFC 1035 §3.1, §4.1.4): labels with a length byte each,
//! ended by the root label, possibly compressed with pointers to earlier names.

use crate::Error;

/// Most bytes in one label (RFC 1035 §2.3.4).
pub(crate) const MAX_LABEL: usize = 63;
/// Most bytes in a whole name in wire form, length bytes and root label included
/// (RFC 1035 §2.3.4).
pub(crate) const MAX_NAME: usize = 255;
/// The two top bits of a length byte that mark a compression pointer (RFC 1035 §4.1.4).
const POINTER: u8 = 0xc0;
/// Most compression pointers followed in one name. Pointers must also go strictly
/// backwards, which alone ends every chain; this is a second, cheaper bound.
const MAX_POINTERS: usize = 64;

/// The wire form of `name` (text form, an optional trailing dot), lower-cased so names
/// compare as DNS compares them.
pub(crate) fn encode(name: &str) -> Result<Vec<u8>, Error> {
    let invalid = |reason| Error::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if !name.is_ascii() {
        return Err(invalid(
            "not ASCII (internationalised names must be punycode)",
        ));
    }
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    if trimmed.is_empty() {
        return Err(invalid("empty name"));
    }
    let mut wire = Vec::with_capacity(trimmed.len() + 2);
    for label in trimmed.split('.') {
        if label.is_empty() {
            return Err(invalid("empty label"));
        }
        if label.len() > MAX_LABEL {
            return Err(invalid("label longer than 63 bytes"));
        }
        // Checked above: a label length fits a byte.
        wire.push(label.len() as u8);
        wire.extend(label.bytes().map(|byte| byte.to_ascii_lowercase()));
    }
    wire.push(0);
    if wire.len() > MAX_NAME {
        return Err(invalid("name longer than 255 bytes"));
    }
    Ok(wire)
}

/// Reads the name that starts at `start` in `message`, following compression pointers.
///
/// Returns the name in uncompressed, lower-cased wire form and the offset just after the
/// name where it was written (after its first pointer, if it has one).
pub(crate) fn read(message: &[u8], start: usize) -> Result<(Vec<u8>, usize), Error> {
    let malformed = |reason| Error::Malformed { reason };
    let mut name = Vec::new();
    let mut position = start;
    // Every pointer must point below this: the start of the run of labels being read.
    // It only ever decreases, so pointers cannot loop.
    let mut floor = start;
    let mut end = None;
    let mut pointers = 0;
    loop {
        let &length = message
            .get(position)
            .ok_or(malformed("name runs past the end"))?;
        match length & POINTER {
            0 => {
                let length = usize::from(length);
                if name.len() + 1 + length + 1 > MAX_NAME {
                    return Err(malformed("name longer than 255 bytes"));
                }
                if length == 0 {
                    name.push(0);
                    return Ok((name, end.unwrap_or(position + 1)));
                }
                let label = message
                    .get(position + 1..position + 1 + length)
                    .ok_or(malformed("label runs past the end"))?;
                name.push(length as u8);
                name.extend(label.iter().map(u8::to_ascii_lowercase));
                position += 1 + length;
            }
            POINTER => {
                let &low = message
                    .get(position + 1)
                    .ok_or(malformed("pointer runs past the end"))?;
                let target = usize::from(length & !POINTER) << 8 | usize::from(low);
                if target >= floor {
                    return Err(malformed("compression pointer does not point backwards"));
                }
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(malformed("too many compression pointers"));
                }
                end.get_or_insert(position + 2);
                floor = target;
                position = target;
            }
            _ => return Err(malformed("reserved label type")),
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn reading_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
            start in 0usize..420,
        ) {
            if let Ok((name, end)) = read(&bytes, start) {
                prop_assert!(name.len() <= MAX_NAME);
                prop_assert!(end <= bytes.len());
            }
        }

        #[test]
        fn encoded_names_read_back(name in "[a-zA-Z0-9_-]{1,63}(\\.[a-zA-Z0-9_-]{1,63}){0,2}") {
            let wire = encode(&name).unwrap();
            prop_assert_eq!(read(&wire, 0).unwrap(), (wire.clone(), wire.len()));
        }
    }

    #[test]
    fn encodes_labels_lower_cased() {
        assert_eq!(
            encode("_dnsaddr.Example.COM.").unwrap(),
            b"\x08_dnsaddr\x07example\x03com\x00"
        );
        assert_eq!(encode("a").unwrap(), b"\x01a\x00");
    }

    #[test]
    fn rejects_invalid_names() {
        for name in ["", ".", "a..b", ".a", "é.com"] {
            assert!(
                matches!(encode(name), Err(Error::InvalidName { .. })),
                "{name}"
            );
        }
        assert!(encode(&"a".repeat(63)).is_ok());
        assert!(encode(&"a".repeat(64)).is_err());
        // 4 labels of 63 bytes: 4 * 64 + 1 = 257 bytes on the wire.
        let long = vec!["a".repeat(63); 4].join(".");
        assert!(encode(&long).is_err());
        // 3 labels of 63 and one of 61: exactly 255 bytes.
        let longest = format!("{}.{}", vec!["a".repeat(63); 3].join("."), "a".repeat(61));
        assert_eq!(encode(&longest).unwrap().len(), 255);
    }

    #[test]
    fn follows_backward_pointers() {
        // "example.com" at 0, then "www" + pointer to 0 at 13.
        let mut message = b"\x07example\x03com\x00".to_vec();
        message.extend(b"\x03WWW\xc0\x00");
        let (name, end) = read(&message, 13).unwrap();
        assert_eq!(name, b"\x03www\x07example\x03com\x00");
        assert_eq!(end, message.len());
        let (name, end) = read(&message, 0).unwrap();
        assert_eq!(name, b"\x07example\x03com\x00");
        assert_eq!(end, 13);
    }

    #[test]
    fn rejects_pointer_loops_and_forward_pointers() {
        // Points at itself.
        assert!(read(b"\xc0\x00", 0).is_err());
        // A label then a pointer back to that label: a loop.
        assert!(read(b"\x01a\xc0\x00", 0).is_err());
        assert!(read(b"\x00\x01a\xc0\x01", 1).is_err());
        // Points forwards.
        assert!(read(b"\xc0\x02\x00", 0).is_err());
        // Reserved label types.
        assert!(read(b"\x40\x00", 0).is_err());
        assert!(read(b"\x80\x00", 0).is_err());
        // Truncated.
        assert!(read(b"\x03ab", 0).is_err());
        assert!(read(b"\xc0", 0).is_err());
        assert!(read(b"", 0).is_err());
    }

    #[test]
    fn rejects_names_over_255_bytes_built_from_pointers() {
        // Each step adds a 63-byte label and points back to the previous step.
        let mut message = vec![0u8];
        let mut previous = 0usize;
        for _ in 0..5 {
            let here = message.len();
            message.push(63);
            message.extend([b'a'; 63]);
            message.extend([0xc0 | (previous >> 8) as u8, previous as u8]);
            previous = here;
        }
        assert!(read(&message, previous).is_err());
    }
}
