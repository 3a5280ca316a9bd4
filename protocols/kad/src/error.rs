//! The crate's error type.

use crate::message::DecodeError;
use crate::store::StoreError;
use crate::validator::RecordError;

/// Why a DHT operation or a peer's request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// As many queries as allowed are running.
    #[error("{0} DHT queries are already running")]
    TooManyQueries(usize),
    /// As many records as allowed are published by this node.
    #[error("this node already publishes {0} records")]
    TooManyPublished(usize),
    /// As many keys as allowed are provided by this node.
    #[error("this node already provides {0} keys")]
    TooManyProvided(usize),
    /// We are in client mode and answer no requests.
    #[error("the DHT runs in client mode and does not answer requests")]
    NotServing,
    /// A PUT_VALUE request carried no record.
    #[error("PUT_VALUE without a record")]
    MissingRecord,
    /// A PUT_VALUE's record key differs from the message key.
    #[error("PUT_VALUE record key differs from the message key")]
    KeyMismatch,
    /// A PUT_VALUE would replace a better record with a worse one.
    #[error("the stored record is newer than the one offered")]
    OutdatedRecord,
    /// The record is invalid for its namespace.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The store refused the entry.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The DHT service is not running (the node shut down).
    #[error("the DHT service has stopped")]
    ServiceStopped,
    /// A lookup ended without finding what it looked for.
    #[error("not found in the DHT")]
    NotFound,
    /// A `put_value` was stored at fewer peers than its quorum.
    #[error("record stored at {succeeded} peers, fewer than the quorum of {quorum}")]
    QuorumFailed {
        /// Peers that stored it.
        succeeded: usize,
        /// Peers that had to.
        quorum: usize,
    },
    /// A message could not be decoded.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}
