//! How a request-response service behaves, and how much a peer can make it spend.

use std::time::Duration;

use crate::{
    DEFAULT_MAX_INBOUND, DEFAULT_MAX_INBOUND_PER_PEER, DEFAULT_MAX_OUTBOUND,
    DEFAULT_MAX_OUTBOUND_PER_PEER, DEFAULT_MAX_REQUEST_SIZE, DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_TIMEOUT,
};

/// How a [`RequestResponse`](crate::RequestResponse) service behaves. `Default` gives
/// rust-libp2p's values where it has them.
///
/// The worst-case memory a peer can make the service hold is about
/// `max_inbound * max_request_size` (requests being read or waiting for their response)
/// plus `max_outbound * max_response_size` for our own requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How long one exchange may take, each side counting on its own: for a requester,
    /// from [`send_request`](crate::Handle::send_request) (opening the stream and dialling
    /// included) to the whole response; for a responder, from the stream's arrival to the
    /// response written. An inbound request not answered by then is reset, and its
    /// [`Responder`](crate::Responder) fails with [`Error::Timeout`](crate::Error::Timeout).
    /// Default 10 s, as rust-libp2p's `request_response::Config`.
    pub timeout: Duration,
    /// The largest request, in bytes, read or written. Default 1 MiB, as rust-libp2p's
    /// CBOR and JSON codecs.
    pub max_request_size: usize,
    /// The largest response, in bytes, read or written. Default 10 MiB, as rust-libp2p's
    /// CBOR and JSON codecs.
    pub max_response_size: usize,
    /// Outbound requests waiting for their response to one peer; `send_request` beyond it
    /// fails at once with [`Error::TooManyInflight`](crate::Error::TooManyInflight).
    /// Default 100, rust-libp2p's limit of streams per connection.
    pub max_outbound_per_peer: usize,
    /// Outbound requests waiting for their response in total; beyond it `send_request`
    /// fails at once as above. Default 1024.
    pub max_outbound: usize,
    /// Inbound requests in progress (being read, queued for the application, waiting for or
    /// sending their response) from one peer; a stream beyond it is reset at once.
    /// Default 100, rust-libp2p's limit of streams per connection.
    pub max_inbound_per_peer: usize,
    /// Inbound requests in progress in total; a stream beyond it is reset at once. This
    /// also bounds the queue of requests waiting for
    /// [`next_request`](crate::Handle::next_request). Default 256.
    pub max_inbound: usize,
    /// Whether to answer requests: `false` for a node that only sends them, which then
    /// neither accepts nor advertises the protocols. Default `true`.
    pub accepts_inbound: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            timeout: DEFAULT_TIMEOUT,
            max_request_size: DEFAULT_MAX_REQUEST_SIZE,
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
            max_outbound_per_peer: DEFAULT_MAX_OUTBOUND_PER_PEER,
            max_outbound: DEFAULT_MAX_OUTBOUND,
            max_inbound_per_peer: DEFAULT_MAX_INBOUND_PER_PEER,
            max_inbound: DEFAULT_MAX_INBOUND,
            accepts_inbound: true,
        }
    }
}
