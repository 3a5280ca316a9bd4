//! Resource accounting: what each scope of a node holds (connections, streams, memory, file
//! descriptors) against its limits.
//!
//! Scopes form a tree, as in go-libp2p's resource manager: the system scope holds
//! everything; connections in their handshakes sit in the transient scope, then in their
//! peer's; streams sit in their connection's, their protocol's and their service's. A
//! reservation is charged to a scope and every scope above it, or refused with a typed
//! [`LimitExceeded`] and charged nowhere. The muxers reserve their receive windows, the
//! security handshakes their buffers and the services their queues where they spend them,
//! so a peer cannot make the node hold more than its limits allow.

mod limits;
mod manager;
mod scope;

pub use limits::{
    LONG_LIVED_STREAMS_PER_CONNECTION, ResourceLimits, ScopeLimits, file_descriptor_limit,
};
pub use manager::{ConnectionScope, Opener, ResourceManager, ResourceSnapshot};
pub use scope::{LimitExceeded, Resource, Scope, ScopeKind, ScopeName, Usage};

/// First wait of a buffer whose reservation was refused before it tries again; each further
/// wait is twice as long, up to [`MAX_MEMORY_RETRY`]. A layer that waits for memory this way
/// (the Yamux session, the Noise read buffer) leaves the peer's bytes unread meanwhile rather
/// than dropping the connection.
pub const MIN_MEMORY_RETRY: std::time::Duration = std::time::Duration::from_millis(25);

/// Longest wait between tries of a buffer waiting for memory: quiet connections give their
/// buffers back within a second, so waiting much longer than that only leaves a connection
/// paused after memory came back.
pub const MAX_MEMORY_RETRY: std::time::Duration = std::time::Duration::from_millis(800);
