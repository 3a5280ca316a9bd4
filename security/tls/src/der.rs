//! The little DER (ITU-T X.690) this crate needs: a strict reader for the fields of an X.509
//! certificate we check, and a writer for the certificate we send.
//!
//! The reader borrows from its input and never allocates; every length is checked against
//! the bytes actually present before use, so arbitrary input yields [`DerError`], never a
//! panic.

use std::fmt;

/// DER tags (X.690 section 8; universal class unless noted).
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[0] EXPLICIT` (constructed, context-specific 0): the certificate version.
    pub(crate) const CONTEXT_0: u8 = 0xa0;
    /// `[1] IMPLICIT` (primitive): the deprecated `issuerUniqueID`.
    pub(crate) const CONTEXT_1_PRIMITIVE: u8 = 0x81;
    /// `[2] IMPLICIT` (primitive): the deprecated `subjectUniqueID`.
    pub(crate) const CONTEXT_2_PRIMITIVE: u8 = 0x82;
    /// `[3] EXPLICIT` (constructed): the certificate extensions.
    pub(crate) const CONTEXT_3: u8 = 0xa3;
}

/// Why bytes are not the DER we expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerError(pub(crate) &'static str);

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for DerError {}

/// One element: its tag, its contents and the whole encoding (tag, length and contents).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Element<'a> {
    pub(crate) tag: u8,
    pub(crate) contents: &'a [u8],
    pub(crate) encoded: &'a [u8],
}

/// Reads consecutive DER elements from a byte slice.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Reader<'a> {
        Reader { input }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.input.is_empty()
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// Reads the next element, whatever its tag.
    pub(crate) fn element(&mut self) -> Result<Element<'a>, DerError> {
        let input = self.input;
        let (&tag, rest) = input.split_first().ok_or(DerError("truncated element"))?;
        if tag & 0x1f == 0x1f {
            return Err(DerError("multi-byte tags are not used in certificates"));
        }
        let (&first, mut rest) = rest.split_first().ok_or(DerError("truncated length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err(DerError("indefinite length is not DER"));
            }
            if count > 4 {
                return Err(DerError("length does not fit in 32 bits"));
            }
            if rest.len() < count {
                return Err(DerError("truncated length"));
            }
            let (bytes, after) = rest.split_at(count);
            rest = after;
            if bytes[0] == 0 {
                return Err(DerError("length has a leading zero byte"));
            }
            let len = bytes
                .iter()
                .fold(0usize, |len, &byte| (len << 8) | usize::from(byte));
            if len < 0x80 {
                return Err(DerError("long-form length for a short element"));
            }
            len
        };
        if rest.len() < len {
            return Err(DerError("element longer than its input"));
        }
        let header = input.len() - rest.len();
        let (contents, after) = rest.split_at(len);
        self.input = after;
        Ok(Element {
            tag,
            contents,
            encoded: &input[..header + len],
        })
    }

    /// Reads the next element, which must have `tag`.
    pub(crate) fn expect(&mut self, tag: u8) -> Result<Element<'a>, DerError> {
        let element = self.element()?;
        if element.tag != tag {
            return Err(DerError("unexpected tag"));
        }
        Ok(element)
    }

    /// Reads the contents of the next element, which must have `tag`.
    pub(crate) fn contents(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        Ok(self.expect(tag)?.contents)
    }

    /// Reads an element with `tag` if it comes next.
    pub(crate) fn optional(&mut self, tag: u8) -> Result<Option<Element<'a>>, DerError> {
        if self.peek_tag() == Some(tag) {
            self.expect(tag).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads the next element, a SEQUENCE, and returns a reader over its contents.
    pub(crate) fn sequence(&mut self) -> Result<Reader<'a>, DerError> {
        Ok(Reader::new(self.contents(tag::SEQUENCE)?))
    }

    /// Fails unless everything was read.
    pub(crate) fn finish(&self) -> Result<(), DerError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DerError("trailing data"))
        }
    }

    /// Reads a BIT STRING that holds whole bytes (no unused bits), as X.509 keys and
    /// signatures do, and returns those bytes.
    pub(crate) fn bit_string_bytes(&mut self) -> Result<&'a [u8], DerError> {
        match self.contents(tag::BIT_STRING)?.split_first() {
            Some((0, bytes)) => Ok(bytes),
            Some(_) => Err(DerError("bit string with unused bits")),
            None => Err(DerError("empty bit string")),
        }
    }

    /// Reads a DER BOOLEAN.
    pub(crate) fn boolean(&mut self) -> Result<bool, DerError> {
        match self.contents(tag::BOOLEAN)? {
            [0x00] => Ok(false),
            [0xff] => Ok(true),
            _ => Err(DerError("invalid boolean")),
        }
    }
}

/// Encodes one element with `tag` around `contents`.
pub(crate) fn encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&byte| byte == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// Encodes a SEQUENCE of already encoded elements.
pub(crate) fn sequence(elements: &[&[u8]]) -> Vec<u8> {
    encode(tag::SEQUENCE, &elements.concat())
}

/// Encodes a BIT STRING holding whole bytes.
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut contents = Vec::with_capacity(bytes.len() + 1);
    contents.push(0);
    contents.extend_from_slice(bytes);
    encode(tag::BIT_STRING, &contents)
}

/// Seconds since the Unix epoch of an X.509 `Time` (RFC 5280 section 4.1.2.5): UTCTime
/// `YYMMDDHHMMSSZ` (years 1950 to 2049) or GeneralizedTime `YYYYMMDDHHMMSSZ`, both in UTC
/// with whole seconds, as DER requires.
pub(crate) fn parse_time(element: &Element<'_>) -> Result<i64, DerError> {
    let text = element.contents;
    let (year, rest) = match element.tag {
        tag::UTC_TIME if text.len() == 13 => {
            let year = digits(&text[..2])?;
            (
                if year >= 50 { 1900 + year } else { 2000 + year },
                &text[2..],
            )
        }
        tag::GENERALIZED_TIME if text.len() == 15 => (digits(&text[..4])?, &text[4..]),
        tag::UTC_TIME | tag::GENERALIZED_TIME => return Err(DerError("invalid time length")),
        _ => return Err(DerError("expected a UTCTime or GeneralizedTime")),
    };
    if rest[10] != b'Z' {
        return Err(DerError("time is not in UTC"));
    }
    let month = digits(&rest[0..2])?;
    let day = digits(&rest[2..4])?;
    let hour = digits(&rest[4..6])?;
    let minute = digits(&rest[6..8])?;
    let second = digits(&rest[8..10])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(DerError("time out of range"));
    }
    let days = days_from_civil(year, month, day);
    Ok(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// The value of ASCII decimal digits.
fn digits(text: &[u8]) -> Result<i64, DerError> {
    text.iter().try_fold(0i64, |value, &byte| {
        if byte.is_ascii_digit() {
            Ok(value * 10 + i64::from(byte - b'0'))
        } else {
            Err(DerError("non-digit in time"))
        }
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(tag: u8, text: &str) -> Result<i64, DerError> {
        let encoded = encode(tag, text.as_bytes());
        let element = Reader::new(&encoded).element()?;
        parse_time(&element)
    }

    #[test]
    fn parses_utc_and_generalized_times() {
        assert_eq!(time(tag::UTC_TIME, "700101000000Z"), Ok(0));
        assert_eq!(time(tag::UTC_TIME, "750101000000Z"), Ok(157_766_400));
        assert_eq!(time(tag::UTC_TIME, "491231235959Z"), Ok(2_524_607_999));
        assert_eq!(
            time(tag::GENERALIZED_TIME, "20000229120000Z"),
            Ok(951_825_600)
        );
        assert_eq!(
            time(tag::GENERALIZED_TIME, "40960101000000Z"),
            Ok(67_090_118_400)
        );
    }

    #[test]
    fn rejects_malformed_times() {
        assert!(time(tag::UTC_TIME, "700101000000").is_err());
        assert!(time(tag::UTC_TIME, "701301000000Z").is_err());
        assert!(time(tag::UTC_TIME, "700230000000Z").is_err());
        assert!(time(tag::UTC_TIME, "7001010000+0Z").is_err());
        assert!(time(tag::GENERALIZED_TIME, "19700101000000+").is_err());
        assert!(time(tag::OCTET_STRING, "700101000000Z").is_err());
    }

    #[test]
    fn round_trips_lengths() {
        for len in [0, 1, 127, 128, 255, 256, 65_535, 65_536] {
            let contents = vec![7u8; len];
            let encoded = encode(tag::OCTET_STRING, &contents);
            let mut reader = Reader::new(&encoded);
            let element = reader.element().unwrap();
            assert_eq!(element.contents.len(), len);
            assert_eq!(element.encoded, &encoded[..]);
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn rejects_non_minimal_and_truncated_lengths() {
        assert!(
            Reader::new(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5])
                .element()
                .is_err()
        );
        assert!(Reader::new(&[0x04, 0x82, 0x00, 0x80]).element().is_err());
        assert!(Reader::new(&[0x04, 0x80]).element().is_err());
        assert!(Reader::new(&[0x04, 0x03, 1, 2]).element().is_err());
        assert!(Reader::new(&[0x04, 0x85, 1, 1, 1, 1, 1]).element().is_err());
        assert!(Reader::new(&[0x1f, 0x01, 0x00]).element().is_err());
    }
}
