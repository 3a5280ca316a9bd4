//! What the simulated messages carry: a short header that names the message and says
//! whether it is valid, then padding up to the scenario's size.
//!
//! The header stands in for what a real application would check (an Ethereum block's
//! signature and state transition): the honest validator reads the flag. Message ids are
//! the header's 20 bytes (Ethereum's ids are 20 bytes too), rather than a SHA-256 of the
//! whole 128 KiB, which would cost wall time on every copy and change nothing simulated.

use bytes::Bytes;
use hyphae_gossipsub::{Message, MessageId, MessageIdFn, Validation};

/// Bytes of the header, and of every message id.
pub const HEADER_LEN: usize = 20;

/// The header's flag for a message honest nodes accept.
const VALID: u8 = 1;
/// The header's flag for a message honest nodes reject.
const INVALID: u8 = 0;

/// What the header of a simulated message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Which message: valid ones count from 0 in publication order, invalid ones too, apart.
    pub number: u64,
    /// Whether honest validators accept it.
    pub is_valid: bool,
}

impl Header {
    /// The payload of `size` bytes (at least the header) carrying this header.
    pub fn payload(self, size: usize) -> Bytes {
        let mut data = vec![0u8; size.max(HEADER_LEN)];
        data[..8].copy_from_slice(&self.number.to_be_bytes());
        data[8] = if self.is_valid { VALID } else { INVALID };
        Bytes::from(data)
    }

    /// The header of a simulated payload; `None` for data no simulated node published.
    pub fn read(data: &[u8]) -> Option<Header> {
        let number = u64::from_be_bytes(data.get(..8)?.try_into().ok()?);
        let is_valid = match *data.get(8)? {
            VALID => true,
            INVALID => false,
            _ => return None,
        };
        Some(Header { number, is_valid })
    }

    /// The header of `message`, if it is a simulated one.
    pub fn of(message: &Message) -> Option<Header> {
        Header::read(message.data.as_deref()?)
    }
}

/// Message ids: the payload's header (see the module docs).
pub fn message_id_fn() -> MessageIdFn {
    MessageIdFn::new(|message: &Message| MessageId::new(message_id(message).to_vec()))
}

/// The id of `message` under [`message_id_fn`], borrowed.
pub fn message_id(message: &Message) -> &[u8] {
    let data = message.data.as_deref().unwrap_or_default();
    &data[..data.len().min(HEADER_LEN)]
}

/// An honest node's validator: accepts what the header calls valid, rejects the rest.
pub fn honest_verdict(message: &Message) -> Validation {
    match Header::of(message) {
        Some(header) if header.is_valid => Validation::Accept,
        _ => Validation::Reject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_reads_back_from_its_payload() {
        let header = Header {
            number: 42,
            is_valid: false,
        };
        let payload = header.payload(1000);
        assert_eq!(payload.len(), 1000);
        assert_eq!(Header::read(&payload), Some(header));
        assert_eq!(Header::read(&payload[..5]), None);
    }
}
