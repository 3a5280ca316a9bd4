//! Entry points for the fuzz targets in `fuzz/`, not a stable API: a [`WsStream`] over any
//! in-memory connection, so the frame reader can be fed arbitrary bytes without a handshake.

use crate::{Config, Role, WsStream};

/// Wraps `io` as the `role` end of a connection whose upgrade handshake is complete;
/// `received` holds the bytes read past the handshake.
pub fn stream<T>(io: T, role: Role, received: &[u8], config: &Config) -> WsStream<T> {
    WsStream::new(io, role, received, config)
}
