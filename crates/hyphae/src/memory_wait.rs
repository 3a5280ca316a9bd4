//! Waiting briefly for memory while a connection is being set up.
//!
//! A burst of new connections fills the memory budget for a moment: each is busy with its
//! handshakes and first streams until it goes quiet and gives its buffers back
//! ([`hyphae_yamux::IDLE_RELEASE`] later). A connection whose reservation finds the budget
//! full is better served by a handshake that goes on a little later than by a reset, and a
//! dialer that has finished its side of the handshakes would not even see that reset as a
//! failed dial. So the reservations of a connection being set up are tried again for up to
//! [`MEMORY_WAIT`] before they count as refused.

use std::time::Duration;

use hyphae_core::resources::{MIN_MEMORY_RETRY, Resource};

use crate::{Error, Limit};

/// Longest one reservation of a connection being set up waits for memory: a few of the
/// periods after which quiet connections give their buffers back, well within a dialer's
/// timeout.
pub(crate) const MEMORY_WAIT: Duration = Duration::from_secs(2);

/// Runs `attempt` until it succeeds, fails for a reason other than memory, or memory has
/// been lacking for [`MEMORY_WAIT`] (then its last refusal is returned). It waits
/// [`MIN_MEMORY_RETRY`] first, then twice as long each time, up to a quarter of
/// [`MEMORY_WAIT`].
pub(crate) async fn retry_while_short_of_memory<T>(
    mut attempt: impl FnMut() -> Result<T, Error>,
) -> Result<T, Error> {
    let give_up = tokio::time::Instant::now() + MEMORY_WAIT;
    let mut delay = MIN_MEMORY_RETRY;
    loop {
        match attempt() {
            Err(Error::LimitReached(Limit::Resource {
                resource: Resource::Memory,
                ..
            })) if tokio::time::Instant::now() + delay <= give_up => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MEMORY_WAIT / 4);
            }
            result => return result,
        }
    }
}
