use std::io;
use std::time::Duration;

/// Why a ping failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No stream to the peer could be opened.
    #[error(transparent)]
    Node(#[from] hyphae_service::Error),
    /// The echo did not come back in time.
    #[error("no echo within {:.1} s", .0.as_secs_f64())]
    Timeout(Duration),
    /// The peer echoed other bytes than it was sent.
    #[error("the echo differs from the ping")]
    WrongEcho,
    /// The stream failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}
