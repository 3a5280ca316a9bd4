//! multistream-select 1.0: how two peers agree on the protocol a connection or stream speaks.
//!
//! Spec: `connections/README.md` ("Protocol Negotiation") in libp2p/specs and the README of the
//! multiformats/multistream-select repository. Protocol id `/multistream/1.0.0`.
//!
//! Every message is a uvarint-length-prefixed UTF-8 line ending in `\n`. Both sides send the
//! header; the dialer then proposes protocols one at a time and the listener echoes the one it
//! accepts or answers `na`. A dialer with a single candidate may write application data right
//! after its proposal without waiting for the echo ("lazy" or optimistic selection, which the
//! hole-punching interop tests require); it must still consume the listener's header and echo
//! before reading application data, which [`Dialer::handle_input`] does.
//!
//! Both roles here are sans-IO and speak the [sans-IO verbs](crate#the-sans-io-verbs): feed
//! received bytes to `handle_input`, which returns the protocol once agreed on, and write what
//! `poll_transmit` returns. They keep no time (callers bound the negotiation), so they have no
//! timeout. Bytes after the negotiation stay in the caller's buffer for the chosen protocol.

use bytes::{Buf, BytesMut};

use crate::{Error, frame};

/// The multistream-select protocol id, sent as the header by both sides.
pub const PROTOCOL_ID: &str = "/multistream/1.0.0";
/// The listener's answer to a protocol it does not support.
const NOT_AVAILABLE: &str = "na";
/// A request for the listener's protocol list.
const LIST: &str = "ls";
/// Largest message accepted, newline included. rust-libp2p allows 16383 bytes (a two-byte
/// varint); protocol names are far shorter, but `ls` answers can be long.
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// Longest protocol id we send or accept (go-multistream refuses messages over 1024 bytes).
pub const MAX_PROTOCOL_LEN: usize = 1024 - 1;
/// How many unsupported proposals a listener answers before giving up on the dialer.
pub const MAX_REJECTED_PROPOSALS: usize = 64;

/// A message of the negotiation, as read off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Message {
    Header,
    NotAvailable,
    List,
    Protocol(String),
}

impl Message {
    fn decode(payload: &[u8]) -> Result<Message, Error> {
        let line = payload
            .strip_suffix(b"\n")
            .ok_or(Error::InvalidNegotiationMessage(
                "message does not end with a newline",
            ))?;
        let text = std::str::from_utf8(line)
            .map_err(|_| Error::InvalidNegotiationMessage("message is not UTF-8"))?;
        Ok(match text {
            PROTOCOL_ID => Message::Header,
            NOT_AVAILABLE => Message::NotAvailable,
            LIST => Message::List,
            protocol => Message::Protocol(protocol.to_owned()),
        })
    }

    fn describe(&self) -> String {
        match self {
            Message::Header => PROTOCOL_ID.to_owned(),
            Message::NotAvailable => NOT_AVAILABLE.to_owned(),
            Message::List => LIST.to_owned(),
            Message::Protocol(protocol) => protocol.clone(),
        }
    }
}

/// Appends one negotiation line (`text` plus newline, length-prefixed) to `out`.
fn encode_line(text: &str, out: &mut Vec<u8>) {
    let mut line = Vec::with_capacity(text.len() + 1);
    line.extend_from_slice(text.as_bytes());
    line.push(b'\n');
    frame::encode(&line, out);
}

/// Removes one complete message from the front of `buffer`, if there is one.
fn next_message(buffer: &mut BytesMut) -> Result<Option<Message>, Error> {
    let Some((payload, consumed)) = frame::decode(buffer, MAX_MESSAGE_LEN)? else {
        return Ok(None);
    };
    let message = Message::decode(payload)?;
    buffer.advance(consumed);
    Ok(Some(message))
}

/// Checks that `protocol` can be sent as one negotiation line.
pub fn validate_protocol(protocol: &str) -> Result<(), Error> {
    let reason = if protocol.is_empty() {
        "it is empty"
    } else if protocol.len() > MAX_PROTOCOL_LEN {
        "it is longer than 1023 bytes"
    } else if protocol.contains('\n') {
        "it contains a newline"
    } else if [PROTOCOL_ID, NOT_AVAILABLE, LIST].contains(&protocol) {
        "it is a multistream-select keyword"
    } else {
        return Ok(());
    };
    Err(Error::InvalidProtocolId {
        protocol: protocol.chars().take(64).collect(),
        reason,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DialerState {
    AwaitingHeader,
    AwaitingAnswer,
    Selected,
}

/// The side that proposes protocols: the connection's dialer, or a stream's opener.
#[derive(Debug)]
pub struct Dialer {
    candidates: Vec<String>,
    current: usize,
    state: DialerState,
    output: Vec<u8>,
}

impl Dialer {
    /// Starts a negotiation proposing `candidates` in order of preference; the header and the
    /// first proposal are queued for sending at once.
    pub fn new(candidates: Vec<String>) -> Result<Dialer, Error> {
        if candidates.is_empty() {
            return Err(Error::NoProtocolsToPropose);
        }
        for protocol in &candidates {
            validate_protocol(protocol)?;
        }
        let mut output = Vec::new();
        encode_line(PROTOCOL_ID, &mut output);
        encode_line(&candidates[0], &mut output);
        Ok(Dialer {
            candidates,
            current: 0,
            state: DialerState::AwaitingHeader,
            output,
        })
    }

    /// Whether application data may be written right after the queued proposal, before the
    /// listener confirms it: true when there is only one candidate, so the outcome is either
    /// that protocol or failure.
    pub fn is_optimistic(&self) -> bool {
        self.candidates.len() == 1
    }

    /// The protocol currently proposed (the selected one once negotiation succeeded).
    pub fn proposed(&self) -> &str {
        &self.candidates[self.current]
    }

    /// Takes the bytes waiting to be sent (empty when there are none).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Consumes negotiation messages from `buffer`, queueing the next proposal after an `na`.
    ///
    /// Returns the outcome: `Some(protocol)` once the listener confirmed one (and on every
    /// call after that), `None` while the negotiation goes on. Bytes after the confirmation
    /// are left in `buffer` for the protocol.
    pub fn handle_input(&mut self, buffer: &mut BytesMut) -> Result<Option<&str>, Error> {
        while self.state != DialerState::Selected {
            let Some(message) = next_message(buffer)? else {
                return Ok(None);
            };
            match (self.state, message) {
                (DialerState::AwaitingHeader, Message::Header) => {
                    self.state = DialerState::AwaitingAnswer;
                }
                (DialerState::AwaitingAnswer, Message::Protocol(echo))
                    if echo == self.candidates[self.current] =>
                {
                    self.state = DialerState::Selected;
                }
                (DialerState::AwaitingAnswer, Message::NotAvailable) => {
                    self.current += 1;
                    let Some(next) = self.candidates.get(self.current) else {
                        self.current -= 1;
                        return Err(Error::NegotiationFailed {
                            proposed: self.candidates.clone(),
                        });
                    };
                    encode_line(next, &mut self.output);
                }
                (state, message) => {
                    return Err(Error::UnexpectedNegotiationMessage {
                        expected: match state {
                            DialerState::AwaitingHeader => PROTOCOL_ID.to_owned(),
                            _ => format!("{} or na", self.candidates[self.current]),
                        },
                        received: message.describe(),
                    });
                }
            }
        }
        Ok(Some(&self.candidates[self.current]))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListenerState {
    AwaitingHeader,
    AwaitingProposal,
    Selected,
}

/// The side that accepts a proposal: the connection's listener, or a stream's acceptor.
#[derive(Debug)]
pub struct Listener<P> {
    supported: P,
    state: ListenerState,
    rejected: usize,
    selected: Option<String>,
    output: Vec<u8>,
}

impl<P: AsRef<[String]>> Listener<P> {
    /// Starts answering proposals with the `supported` protocols; our header is queued for
    /// sending at once, as the spec allows both sides to send it without waiting.
    pub fn new(supported: P) -> Listener<P> {
        let mut output = Vec::new();
        encode_line(PROTOCOL_ID, &mut output);
        Listener {
            supported,
            state: ListenerState::AwaitingHeader,
            rejected: 0,
            selected: None,
            output,
        }
    }

    /// Takes the bytes waiting to be sent (empty when there are none).
    #[must_use]
    pub fn poll_transmit(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Consumes negotiation messages from `buffer`, queueing answers.
    ///
    /// Returns the outcome: `Some(protocol)` once one was accepted (and on every call after
    /// that), `None` while the negotiation goes on. Bytes after the accepted proposal are left
    /// in `buffer` for the protocol.
    pub fn handle_input(&mut self, buffer: &mut BytesMut) -> Result<Option<&str>, Error> {
        while self.state != ListenerState::Selected {
            let Some(message) = next_message(buffer)? else {
                return Ok(None);
            };
            match (self.state, message) {
                (ListenerState::AwaitingHeader, Message::Header) => {
                    self.state = ListenerState::AwaitingProposal;
                }
                (ListenerState::AwaitingProposal, Message::Protocol(protocol)) => {
                    if self.supported.as_ref().contains(&protocol) {
                        encode_line(&protocol, &mut self.output);
                        self.selected = Some(protocol);
                        self.state = ListenerState::Selected;
                    } else {
                        self.reject()?;
                    }
                }
                (ListenerState::AwaitingProposal, Message::List) => self.answer_list(),
                (state, message) => {
                    return Err(Error::UnexpectedNegotiationMessage {
                        expected: match state {
                            ListenerState::AwaitingHeader => PROTOCOL_ID.to_owned(),
                            _ => "a protocol proposal or ls".to_owned(),
                        },
                        received: message.describe(),
                    });
                }
            }
        }
        Ok(self.selected.as_deref())
    }

    fn reject(&mut self) -> Result<(), Error> {
        self.rejected += 1;
        if self.rejected > MAX_REJECTED_PROPOSALS {
            return Err(Error::TooManyProposals {
                limit: MAX_REJECTED_PROPOSALS,
            });
        }
        encode_line(NOT_AVAILABLE, &mut self.output);
        Ok(())
    }

    /// Answers `ls`: one message holding each protocol as its own length-prefixed line, then a
    /// newline, the layout go-multistream and rust-libp2p use.
    fn answer_list(&mut self) {
        let mut list = Vec::new();
        for protocol in self.supported.as_ref() {
            encode_line(protocol, &mut list);
        }
        list.push(b'\n');
        if list.len() <= MAX_MESSAGE_LEN {
            frame::encode(&list, &mut self.output);
        } else {
            // Too long for a peer to accept; an empty list is the honest fallback.
            frame::encode(b"\n", &mut self.output);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn strings(protocols: &[&str]) -> Vec<String> {
        protocols.iter().map(|&p| p.to_owned()).collect()
    }

    /// Runs a dialer and listener against each other until both finish or one fails.
    fn negotiate(
        dialer: &mut Dialer,
        listener: &mut Listener<Vec<String>>,
    ) -> Result<(String, String), Error> {
        let mut to_listener = BytesMut::new();
        let mut to_dialer = BytesMut::new();
        let (mut dialer_done, mut listener_done) = (None, None);
        for _ in 0..100 {
            to_listener.extend_from_slice(&dialer.poll_transmit());
            to_dialer.extend_from_slice(&listener.poll_transmit());
            if listener_done.is_none() {
                listener_done = listener.handle_input(&mut to_listener)?.map(str::to_owned);
            }
            if dialer_done.is_none() {
                dialer_done = dialer.handle_input(&mut to_dialer)?.map(str::to_owned);
            }
            if let (Some(d), Some(l)) = (&dialer_done, &listener_done) {
                return Ok((d.clone(), l.clone()));
            }
        }
        panic!("negotiation did not finish");
    }

    #[test]
    fn encodes_na_as_in_the_spec() {
        let mut out = Vec::new();
        encode_line("na", &mut out);
        assert_eq!(out, [0x03, 0x6e, 0x61, 0x0a]);
    }

    #[test]
    fn dialer_sends_header_and_first_proposal_at_once() {
        let mut dialer = Dialer::new(strings(&["/yamux/1.0.0"])).unwrap();
        let mut expected = vec![19];
        expected.extend_from_slice(b"/multistream/1.0.0\n");
        expected.push(13);
        expected.extend_from_slice(b"/yamux/1.0.0\n");
        assert_eq!(dialer.poll_transmit(), expected);
        assert!(dialer.poll_transmit().is_empty());
        assert!(dialer.is_optimistic());
    }

    #[test]
    fn agrees_on_the_first_supported_candidate() {
        let mut dialer = Dialer::new(strings(&["/a/2", "/b/1", "/a/1"])).unwrap();
        let mut listener = Listener::new(strings(&["/a/1", "/b/1"]));
        let (d, l) = negotiate(&mut dialer, &mut listener).unwrap();
        assert_eq!((d.as_str(), l.as_str()), ("/b/1", "/b/1"));
        assert!(!dialer.is_optimistic());
    }

    #[test]
    fn fails_when_nothing_is_supported() {
        let mut dialer = Dialer::new(strings(&["/x/1", "/y/1"])).unwrap();
        let mut listener = Listener::new(strings(&["/a/1"]));
        match negotiate(&mut dialer, &mut listener) {
            Err(Error::NegotiationFailed { proposed }) => {
                assert_eq!(proposed, strings(&["/x/1", "/y/1"]))
            }
            other => panic!("expected failure, got {other:?}"),
        }
    }

    #[test]
    fn optimistic_data_after_the_proposal_stays_for_the_protocol() {
        let mut dialer = Dialer::new(strings(&["/echo/1"])).unwrap();
        let mut to_listener = BytesMut::from(&dialer.poll_transmit()[..]);
        to_listener.extend_from_slice(b"early data");
        let mut listener = Listener::new(strings(&["/echo/1"]));
        assert_eq!(
            listener.handle_input(&mut to_listener).unwrap(),
            Some("/echo/1")
        );
        assert_eq!(&to_listener[..], b"early data");

        let mut to_dialer = BytesMut::from(&listener.poll_transmit()[..]);
        to_dialer.extend_from_slice(b"reply");
        assert_eq!(
            dialer.handle_input(&mut to_dialer).unwrap(),
            Some("/echo/1")
        );
        assert_eq!(&to_dialer[..], b"reply");
    }

    #[test]
    fn waits_for_split_messages() {
        let mut dialer = Dialer::new(strings(&["/echo/1"])).unwrap();
        let bytes = dialer.poll_transmit();
        let mut listener = Listener::new(strings(&["/echo/1"]));
        let mut buffer = BytesMut::new();
        for &byte in &bytes[..bytes.len() - 1] {
            buffer.extend_from_slice(&[byte]);
            assert_eq!(listener.handle_input(&mut buffer).unwrap(), None);
        }
        buffer.extend_from_slice(&bytes[bytes.len() - 1..]);
        assert_eq!(listener.handle_input(&mut buffer).unwrap(), Some("/echo/1"));
    }

    #[test]
    fn listener_answers_ls_with_its_protocols() {
        let mut listener = Listener::new(strings(&["/a/1", "/b/22"]));
        let mut input = Vec::new();
        encode_line(PROTOCOL_ID, &mut input);
        encode_line("ls", &mut input);
        let _ = listener.poll_transmit();
        assert_eq!(
            listener
                .handle_input(&mut BytesMut::from(&input[..]))
                .unwrap(),
            None
        );
        let mut expected_list = Vec::new();
        encode_line("/a/1", &mut expected_list);
        encode_line("/b/22", &mut expected_list);
        expected_list.push(b'\n');
        let mut expected = Vec::new();
        frame::encode(&expected_list, &mut expected);
        assert_eq!(listener.poll_transmit(), expected);
    }

    #[test]
    fn rejects_a_peer_that_does_not_speak_multistream() {
        let mut listener = Listener::new(strings(&["/a/1"]));
        let mut input = Vec::new();
        encode_line("/a/1", &mut input);
        assert!(matches!(
            listener.handle_input(&mut BytesMut::from(&input[..])),
            Err(Error::UnexpectedNegotiationMessage { .. })
        ));
        // An HTTP request: 'G' reads as a 71-byte length, and what follows is no header.
        let request =
            b"GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nUser-Agent: curl/8.0\r\n\r\n";
        assert!(matches!(
            Listener::new(strings(&["/a/1"])).handle_input(&mut BytesMut::from(&request[..])),
            Err(Error::InvalidNegotiationMessage(_) | Error::UnexpectedNegotiationMessage { .. })
        ));
    }

    #[test]
    fn dialer_rejects_an_echo_of_another_protocol() {
        let mut dialer = Dialer::new(strings(&["/a/1"])).unwrap();
        let mut input = Vec::new();
        encode_line(PROTOCOL_ID, &mut input);
        encode_line("/b/1", &mut input);
        match dialer.handle_input(&mut BytesMut::from(&input[..])) {
            Err(Error::UnexpectedNegotiationMessage { received, .. }) => {
                assert_eq!(received, "/b/1")
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn stops_answering_endless_proposals() {
        let mut listener = Listener::new(strings(&["/a/1"]));
        let mut input = Vec::new();
        encode_line(PROTOCOL_ID, &mut input);
        for i in 0..=MAX_REJECTED_PROPOSALS {
            encode_line(&format!("/nope/{i}"), &mut input);
        }
        assert!(matches!(
            listener.handle_input(&mut BytesMut::from(&input[..])),
            Err(Error::TooManyProposals { .. })
        ));
    }

    #[test]
    fn rejects_oversized_and_malformed_messages() {
        let mut listener = Listener::new(strings(&["/a/1"]));
        let mut huge = BytesMut::from(&[0xff, 0xff, 0x03][..]);
        assert!(matches!(
            listener.handle_input(&mut huge),
            Err(Error::FrameTooLarge { .. })
        ));
        let mut no_newline = Vec::new();
        frame::encode(b"/multistream/1.0.0", &mut no_newline);
        assert!(matches!(
            Listener::new(strings(&["/a/1"])).handle_input(&mut BytesMut::from(&no_newline[..])),
            Err(Error::InvalidNegotiationMessage(_))
        ));
    }

    #[test]
    fn refuses_unsendable_protocol_ids() {
        assert!(matches!(
            Dialer::new(vec![]),
            Err(Error::NoProtocolsToPropose)
        ));
        for bad in ["", "a\nb", "na", "ls", PROTOCOL_ID, &"x".repeat(1024)] {
            assert!(
                matches!(
                    Dialer::new(vec![bad.to_owned()]),
                    Err(Error::InvalidProtocolId { .. })
                ),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_input_never_panics(bytes: Vec<u8>) {
            let mut listener = Listener::new(strings(&["/a/1"]));
            let _ = listener.handle_input(&mut BytesMut::from(&bytes[..]));
            let mut dialer = Dialer::new(strings(&["/a/1", "/b/1"])).unwrap();
            let _ = dialer.handle_input(&mut BytesMut::from(&bytes[..]));
        }

        #[test]
        fn negotiates_whatever_overlap_exists(
            offered in proptest::collection::vec("/[a-z]{1,3}/[0-9]", 1..6),
            supported in proptest::collection::vec("/[a-z]{1,3}/[0-9]", 0..6),
        ) {
            let mut dialer = Dialer::new(offered.clone()).unwrap();
            let mut listener = Listener::new(supported.clone());
            let expected = offered.iter().find(|p| supported.contains(p));
            match (negotiate(&mut dialer, &mut listener), expected) {
                (Ok((d, l)), Some(expected)) => {
                    prop_assert_eq!(&d, expected);
                    prop_assert_eq!(&l, expected);
                }
                (Err(Error::NegotiationFailed { .. }), None) => {}
                (outcome, expected) => prop_assert!(false, "{outcome:?} vs {expected:?}"),
            }
        }
    }
}
