//! Request-response protocols: a peer opens a stream, sends one request, and the other
//! answers with one response on the same stream. What most applications build first.
//!
//! # The protocol
//!
//! There is no libp2p spec for request-response: it is a pattern, not a protocol, and each
//! application names its own protocol ids (`/my-app/get-block/1.0.0`). This crate follows
//! rust-libp2p's `libp2p-request-response`, the de-facto reference, exactly:
//!
//! 1. The requester opens a new stream for every request, negotiating one of the service's
//!    protocol ids with multistream-select.
//! 2. It writes the request and closes its side of the stream.
//! 3. The responder reads the request, writes the response and closes its side.
//!
//! How a message is framed is the [`Codec`]'s business. The built-in codecs:
//!
//! | codec | encoding | framing | compatible with |
//! |---|---|---|---|
//! | [`Cbor<Req, Resp>`] (feature `cbor`) | CBOR of serde types (`cbor4ii`) | the whole stream, to its end | rust-libp2p `request_response::cbor` |
//! | [`Json<Req, Resp>`] (feature `json`) | JSON of serde types (`serde_json`) | the whole stream, to its end | rust-libp2p `request_response::json` |
//! | [`LengthPrefixed`] | raw bytes (`Vec<u8>` or `Bytes`) | unsigned-varint length prefix | protocols framed like most of libp2p's |
//!
//! Interoperation with rust-libp2p's CBOR codec is tested in both directions
//! (`tests/interop_rust.rs`).
//!
//! Where this crate differs from rust-libp2p (0.57, `libp2p-request-response` 0.30), on
//! purpose and without changing the bytes of a successful exchange:
//! - A message over its limit is an [`Error::TooLarge`]: we read one byte past the limit to
//!   tell. rust-libp2p reads up to the limit and decodes what it got, so an oversized message
//!   fails there as a decode error.
//! - A responder dropped unanswered resets the stream; rust-libp2p closes it cleanly, which
//!   its requester then reads as an empty, undecodable response. Either way the requester
//!   fails at once.
//! - Outbound requests beyond the in-flight limits fail at once; rust-libp2p queues them.
//!
//! # Protocol ids and versions
//!
//! A service speaks one or several protocol ids, most preferred first
//! (`RequestResponse::new(["/app/2", "/app/1"], ..)`), all with the same codec:
//! - inbound, it accepts every one of them; [`InboundRequest::protocol`] says which the
//!   requester chose;
//! - outbound, it proposes them in order and the peer picks the first it supports. With
//!   a single protocol, negotiation is optimistic: the request travels with the proposal,
//!   costing no round trip. With several it costs one. A peer supporting none of them
//!   fails the request with [`Error::UnsupportedProtocols`].
//!
//! Versions whose messages differ are separate services with separate codec types.
//!
//! # Limits
//!
//! Everything a peer controls is bounded ([`Config`], defaults as rust-libp2p's): the size
//! of requests and responses (1 MiB and 10 MiB, enforced when reading and when writing),
//! the time an exchange may take (10 s, each side on its own), inbound requests in progress
//! per peer and in total (100 and 256; a stream beyond them is reset), and so the queue of
//! requests waiting for the application. Our own requests in flight are bounded too (100 per
//! peer, 1024 in all): beyond them [`Handle::send_request`] fails at once with
//! [`Error::TooManyInflight`] rather than queueing.
//!
//! # Example
//!
//! Two nodes in one process (`/memory` addresses), one answering greetings:
//!
//! ```
//! use hyphae::Node;
//! use hyphae_request_response::{Cbor, Config, RequestResponse};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct Greet {
//!     name: String,
//! }
//!
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Greeting {
//!     message: String,
//! }
//!
//! type Greeter = RequestResponse<Cbor<Greet, Greeting>>;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let greeter = || Greeter::new("/greet/1.0.0", Cbor::new(), Config::default());
//! let server = Node::builder()
//!     .listen("/memory/0".parse()?)
//!     .service(greeter())
//!     .start()
//!     .await?;
//! let client = Node::builder().service(greeter()).start().await?;
//!
//! // The server answers every request.
//! let requests = server.service::<Greeter>().expect("installed");
//! tokio::spawn(async move {
//!     while let Some(inbound) = requests.next_request().await {
//!         let message = format!("hello, {}", inbound.request.name);
//!         let _ = inbound.responder.respond(Greeting { message }).await;
//!     }
//! });
//!
//! let peer = client.dial(&server.listen_addrs()[0]).await?;
//! let greeter = client.service::<Greeter>().expect("installed");
//! let greeting = greeter.send_request(peer, Greet { name: "mycelium".into() }).await?;
//! assert_eq!(greeting.message, "hello, mycelium");
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

#[cfg(feature = "cbor")]
mod cbor;
mod codec;
mod config;
mod error;
pub mod framing;
#[cfg(feature = "json")]
mod json;
mod length_prefixed;
#[cfg(any(feature = "json", feature = "cbor"))]
mod serde_codec;
mod service;
mod slots;

use std::time::Duration;

#[cfg(feature = "cbor")]
pub use cbor::{Cbor, CborFormat};
pub use codec::Codec;
pub use config::Config;
pub use error::{BoxError, Error, InflightLimit, Message};
#[cfg(feature = "json")]
pub use json::{Json, JsonFormat};
pub use length_prefixed::LengthPrefixed;
#[cfg(any(feature = "json", feature = "cbor"))]
pub use serde_codec::{Format, SerdeCodec};
pub use service::{Handle, InboundRequest, RequestResponse, Responder};

/// How long an exchange may take by default (rust-libp2p's `request_response::Config`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request by default (rust-libp2p's CBOR and JSON codecs): 1 MiB.
pub const DEFAULT_MAX_REQUEST_SIZE: usize = 1024 * 1024;
/// The largest response by default (rust-libp2p's CBOR and JSON codecs): 10 MiB.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 10 * 1024 * 1024;
/// Outbound requests in flight to one peer by default (rust-libp2p's streams per
/// connection).
pub const DEFAULT_MAX_OUTBOUND_PER_PEER: usize = 100;
/// Outbound requests in flight in total by default.
pub const DEFAULT_MAX_OUTBOUND: usize = 1024;
/// Inbound requests in progress from one peer by default (rust-libp2p's streams per
/// connection, so a rust-libp2p peer within its own limit is never refused).
pub const DEFAULT_MAX_INBOUND_PER_PEER: usize = 100;
/// Inbound requests in progress in total by default.
pub const DEFAULT_MAX_INBOUND: usize = 256;
