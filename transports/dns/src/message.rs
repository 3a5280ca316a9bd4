//! DNS messages for TXT lookups, sans-IO: encode a query, decode its response.
//!
//! Spec: RFC 1035 §4 (message format), RFC 1035 §3.3.14 (TXT RDATA). Only what a TXT
//! lookup through a recursive resolver needs: one question, answers read from the answer
//! section, the authority and additional sections ignored. Other record types in the answer
//! (the CNAMEs a resolver followed on the way) are skipped. TXT records are accepted
//! whatever their owner name, since a resolver that followed a CNAME answers with records
//! owned by the target name. No EDNS(0): answers over 512 bytes come back truncated and are
//! fetched again over TCP.

use crate::{Error, name};

/// QTYPE / TYPE of a TXT record (RFC 1035 §3.2.2).
pub(crate) const TYPE_TXT: u16 = 16;
/// QCLASS / CLASS of the Internet (RFC 1035 §3.2.4).
pub(crate) const CLASS_IN: u16 = 1;
/// Length of the fixed header (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// Header flag: this message is a response (RFC 1035 §4.1.1).
const FLAG_QR: u16 = 0x8000;
/// Header field mask: the kind of query; 0 is a standard query (RFC 1035 §4.1.1).
const OPCODE_MASK: u16 = 0x7800;
/// Header flag: the message was truncated to fit the transport (RFC 1035 §4.1.1).
const FLAG_TC: u16 = 0x0200;
/// Header flag: recursion desired (RFC 1035 §4.1.1).
const FLAG_RD: u16 = 0x0100;
/// Header field mask: the response code (RFC 1035 §4.1.1).
const RCODE_MASK: u16 = 0x000f;
/// RCODE: no error.
const RCODE_NO_ERROR: u8 = 0;
/// RCODE: the name does not exist.
const RCODE_NXDOMAIN: u8 = 3;
/// Bytes of TYPE, CLASS, TTL and RDLENGTH after a record's name (RFC 1035 §4.1.3).
const RECORD_FIXED_LEN: usize = 10;

/// A TXT query for one name.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    id: u16,
    /// The name in lower-cased wire form.
    name: Vec<u8>,
}

/// What a datagram or TCP message said in answer to a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// The TXT records, each one's character-strings concatenated (RFC 7208 §3.3
    /// practice). Empty when the name does not exist (NXDOMAIN) or has no TXT record.
    Records(Vec<String>),
    /// The answer did not fit (TC bit): ask again over TCP.
    Truncated,
    /// Not an answer to this query (another id or question, or not a response): ignore it.
    Unrelated,
}

impl Query {
    /// A query for the TXT records of `name`, with message id `id` (pick it at random:
    /// it is what stops off-path spoofing).
    pub(crate) fn txt(name: &str, id: u16) -> Result<Query, Error> {
        Ok(Query {
            id,
            name: name::encode(name)?,
        })
    }

    /// The query in wire form: header with RD set, one question (RFC 1035 §4.1.1-2).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(HEADER_LEN + self.name.len() + 4);
        message.extend(self.id.to_be_bytes());
        message.extend(FLAG_RD.to_be_bytes());
        // QDCOUNT = 1, ANCOUNT = NSCOUNT = ARCOUNT = 0.
        message.extend([0, 1, 0, 0, 0, 0, 0, 0]);
        message.extend(&self.name);
        message.extend(TYPE_TXT.to_be_bytes());
        message.extend(CLASS_IN.to_be_bytes());
        message
    }

    /// Decodes `message` as the response to this query.
    ///
    /// NXDOMAIN is an empty [`Reply::Records`]; any other error RCODE is
    /// [`Error::ServerFailure`].
    pub(crate) fn decode_response(&self, message: &[u8]) -> Result<Reply, Error> {
        let malformed = |reason| Error::Malformed { reason };
        let Some(header) = message.get(..HEADER_LEN) else {
            return Err(malformed("shorter than a DNS header"));
        };
        let field = |index: usize| u16::from_be_bytes([header[index], header[index + 1]]);
        let (id, flags, questions, answers) = (field(0), field(2), field(4), field(6));
        if id != self.id || flags & FLAG_QR == 0 {
            return Ok(Reply::Unrelated);
        }
        if flags & OPCODE_MASK != 0 {
            return Err(malformed("response to another kind of query"));
        }
        // Masked to four bits.
        let rcode = (flags & RCODE_MASK) as u8;
        let mut position = HEADER_LEN;
        match questions {
            1 => {
                let (name, end) = name::read(message, position)?;
                let question = message
                    .get(end..end + 4)
                    .ok_or(malformed("question runs past the end"))?;
                if name != self.name || question != [0, TYPE_TXT as u8, 0, CLASS_IN as u8] {
                    return Ok(Reply::Unrelated);
                }
                position = end + 4;
            }
            // Some servers drop the question from error responses (FORMERR, REFUSED).
            0 if rcode != RCODE_NO_ERROR && flags & FLAG_TC == 0 => {
                return Err(Error::ServerFailure { rcode });
            }
            _ => return Err(malformed("response does not carry the one question asked")),
        }
        if flags & FLAG_TC != 0 {
            return Ok(Reply::Truncated);
        }
        match rcode {
            RCODE_NO_ERROR => {}
            RCODE_NXDOMAIN => return Ok(Reply::Records(Vec::new())),
            rcode => return Err(Error::ServerFailure { rcode }),
        }
        let mut records = Vec::new();
        for _ in 0..answers {
            let (_owner, end) = name::read(message, position)?;
            let fixed = message
                .get(end..end + RECORD_FIXED_LEN)
                .ok_or(malformed("record runs past the end"))?;
            let kind = u16::from_be_bytes([fixed[0], fixed[1]]);
            let class = u16::from_be_bytes([fixed[2], fixed[3]]);
            let length = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
            let data_start = end + RECORD_FIXED_LEN;
            let data = message
                .get(data_start..data_start + length)
                .ok_or(malformed("record data runs past the end"))?;
            if kind == TYPE_TXT && class == CLASS_IN {
                records.push(decode_txt(data)?);
            }
            position = data_start + length;
        }
        Ok(Reply::Records(records))
    }
}

/// Joins the `<length><bytes>` character-strings of a TXT record's RDATA
/// (RFC 1035 §3.3.14). Bytes that are not UTF-8 become U+FFFD: TXT data is opaque, and
/// the `dnsaddr=` entries this crate looks for are ASCII.
fn decode_txt(mut data: &[u8]) -> Result<String, Error> {
    let mut joined = Vec::with_capacity(data.len());
    while let Some((&length, rest)) = data.split_first() {
        let length = usize::from(length);
        let Some(string) = rest.get(..length) else {
            return Err(Error::Malformed {
                reason: "TXT string runs past its record",
            });
        };
        joined.extend_from_slice(string);
        data = &rest[length..];
    }
    Ok(String::from_utf8_lossy(&joined).into_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const ID: u16 = 0xbeef;

    fn query() -> Query {
        Query::txt("_dnsaddr.example.com", ID).unwrap()
    }

    /// A response header: id, flags, counts.
    fn header(id: u16, flags: u16, questions: u16, answers: u16) -> Vec<u8> {
        let mut message = Vec::new();
        for field in [id, flags, questions, answers, 0, 0] {
            message.extend(field.to_be_bytes());
        }
        message
    }

    /// The question of [`query`], uncompressed, at offset 12.
    fn question() -> Vec<u8> {
        let mut question = b"\x08_dnsaddr\x07example\x03com\x00".to_vec();
        question.extend([0, 16, 0, 1]);
        question
    }

    /// A resource record owned by a pointer to the question name at offset 12.
    fn record(kind: u16, data: &[u8]) -> Vec<u8> {
        let mut record = vec![0xc0, 12];
        record.extend(kind.to_be_bytes());
        record.extend(CLASS_IN.to_be_bytes());
        record.extend(300u32.to_be_bytes());
        record.extend((data.len() as u16).to_be_bytes());
        record.extend(data);
        record
    }

    fn txt_data(strings: &[&str]) -> Vec<u8> {
        let mut data = Vec::new();
        for string in strings {
            data.push(string.len() as u8);
            data.extend(string.as_bytes());
        }
        data
    }

    fn response(flags: u16, records: &[Vec<u8>]) -> Vec<u8> {
        let mut message = header(ID, flags, 1, records.len() as u16);
        message.extend(question());
        for record in records {
            message.extend(record);
        }
        message
    }

    #[test]
    fn encodes_a_txt_query() {
        let mut expected = vec![0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        expected.extend(question());
        assert_eq!(query().encode(), expected);
    }

    #[test]
    fn decodes_txt_answers_joining_strings_and_skipping_other_types() {
        let cname = record(5, b"\x03foo\x00");
        let one = record(TYPE_TXT, &txt_data(&["dnsaddr=/ip4/1.2.3.4/tcp/1"]));
        let split = record(TYPE_TXT, &txt_data(&["dnsaddr=/ip4/", "5.6.7.8/tcp/2"]));
        let message = response(0x8180, &[cname, one, split]);
        assert_eq!(
            query().decode_response(&message).unwrap(),
            Reply::Records(vec![
                "dnsaddr=/ip4/1.2.3.4/tcp/1".to_owned(),
                "dnsaddr=/ip4/5.6.7.8/tcp/2".to_owned(),
            ])
        );
    }

    #[test]
    fn nxdomain_is_empty_and_servfail_is_an_error() {
        assert_eq!(
            query().decode_response(&response(0x8183, &[])).unwrap(),
            Reply::Records(Vec::new())
        );
        assert!(matches!(
            query().decode_response(&response(0x8182, &[])),
            Err(Error::ServerFailure { rcode: 2 })
        ));
        // REFUSED without the question.
        assert!(matches!(
            query().decode_response(&header(ID, 0x8185, 0, 0)),
            Err(Error::ServerFailure { rcode: 5 })
        ));
    }

    #[test]
    fn truncated_answers_ask_for_tcp() {
        assert_eq!(
            query().decode_response(&response(0x8380, &[])).unwrap(),
            Reply::Truncated
        );
    }

    #[test]
    fn ignores_other_ids_questions_and_queries() {
        let mut other_id = response(0x8180, &[]);
        other_id[0] ^= 1;
        assert_eq!(
            query().decode_response(&other_id).unwrap(),
            Reply::Unrelated
        );
        // Not a response (QR clear).
        assert_eq!(
            query().decode_response(&response(0x0100, &[])).unwrap(),
            Reply::Unrelated
        );
        let mut other_name = response(0x8180, &[]);
        other_name[13] = b'X';
        assert_eq!(
            query().decode_response(&other_name).unwrap(),
            Reply::Unrelated
        );
        // Names compare without regard to case.
        let mut upper = response(0x8180, &[]);
        upper[22] = b'E';
        assert_eq!(
            query().decode_response(&upper).unwrap(),
            Reply::Records(Vec::new())
        );
        let mut other_type = response(0x8180, &[]);
        let type_at = 12 + question().len() - 3;
        other_type[type_at] = 1;
        assert_eq!(
            query().decode_response(&other_type).unwrap(),
            Reply::Unrelated
        );
    }

    #[test]
    fn rejects_records_past_the_end() {
        let mut message = response(0x8180, &[record(TYPE_TXT, &txt_data(&["abc"]))]);
        message.pop();
        assert!(matches!(
            query().decode_response(&message),
            Err(Error::Malformed { .. })
        ));
        // A TXT string longer than its record.
        let message = response(0x8180, &[record(TYPE_TXT, b"\x05abc")]);
        assert!(query().decode_response(&message).is_err());
        // More answers announced than present.
        let mut message = response(0x8180, &[]);
        message[7] = 1;
        assert!(query().decode_response(&message).is_err());
        assert!(query().decode_response(&message[..11]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = query().decode_response(&bytes);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_header_never_panic(
            flags in any::<u16>(),
            answers in any::<u16>(),
            tail in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let mut message = header(ID, flags | 0x8000, 1, answers);
            message.extend(question());
            message.extend(tail);
            let _ = query().decode_response(&message);
        }

        #[test]
        fn txt_records_round_trip(
            records in proptest::collection::vec(
                proptest::collection::vec("[ -~]{0,255}", 1..4), 0..6),
        ) {
            let encoded: Vec<Vec<u8>> = records
                .iter()
                .map(|strings| {
                    let strings: Vec<&str> = strings.iter().map(String::as_str).collect();
                    record(TYPE_TXT, &txt_data(&strings))
                })
                .collect();
            let expected: Vec<String> = records.iter().map(|strings| strings.concat()).collect();
            prop_assert_eq!(
                query().decode_response(&response(0x8180, &encoded)).unwrap(),
                Reply::Records(expected)
            );
        }
    }
}
