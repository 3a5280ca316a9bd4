//! Byte and text encodings that every hyphae layer shares.
//!
//! - [`varint`]: the multiformats unsigned varint (multiformats/unsigned-varint), used for
//!   multiaddr codes, multihash headers and length prefixes;
//! - [`multibase`]: self-describing base encodings (multiformats/multibase), used for CID-form
//!   peer ids and `/certhash` multiaddr components;
//! - [`multihash`]: splitting a multihash into its code and digest (multiformats/multihash);
//! - [`protobuf`]: reading and writing protobuf fields one at a time, so that protocol decoders
//!   can bound what a peer makes them allocate.
//!
//! Everything here is pure and allocation-bounded by its input: decoders never trust a length
//! they have not checked against the bytes they were given.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
pub mod multibase;
pub mod multihash;
pub mod protobuf;
pub mod varint;

pub use error::Error;
