//! Receive windows sized from the node's memory budget.
//!
//! QUIC announces a connection's receive windows in its handshake, so unlike Yamux, whose
//! windows start at 256 KiB and grow as they are reserved, a QUIC connection's windows must
//! be reserved before the handshake: the endpoint asks the resource manager for the whole
//! window it is configured with, at low priority (only while every scope stays at most half
//! full), then for halves of it, and at the last for [`MIN_WINDOW`] at full priority. A
//! connection gets the window it could reserve; one that cannot reserve even the minimum is
//! refused. Under normal load every connection gets the full window and full speed; when
//! memory runs short, new connections get smaller windows instead of the node more memory.

use std::sync::{Arc, Mutex, PoisonError};

use hyphae_core::resources::{ConnectionScope, Opener, ResourceManager};

/// The smallest receive window a connection is given: a Yamux stream's initial window.
pub const MIN_WINDOW: u32 = 256 * 1024;

/// Priority of a window above the minimum: nice to have.
const WINDOW_PRIORITY: u8 = 127;

/// A new connection's scope in the resource manager, holding its receive window, until the
/// node takes it ([`Connection::take_reservation`](crate::Connection::take_reservation)).
#[derive(Debug, Clone, Default)]
pub(crate) struct Reservation(Arc<Mutex<Option<(ConnectionScope, u32)>>>);

impl Reservation {
    pub(crate) fn take(&self) -> Option<(ConnectionScope, u32)> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Reserves the receive window of a new connection: `wanted`, or the largest half of it
/// that fits, or [`MIN_WINDOW`]; `None` if not even that fits, or the transient scope is
/// full.
pub(crate) fn reserve(
    manager: &ResourceManager,
    opener: Opener,
    wanted: u32,
) -> Option<(Reservation, u32)> {
    let scope = manager.open_connection(opener, false).ok()?;
    let mut window = wanted.max(MIN_WINDOW);
    let granted = loop {
        if window == MIN_WINDOW {
            scope.scope().reserve_memory(MIN_WINDOW as usize).ok()?;
            break MIN_WINDOW;
        }
        let reserved = scope
            .scope()
            .reserve_memory_with_priority(window as usize, WINDOW_PRIORITY);
        if reserved.is_ok() {
            break window;
        }
        window = (window / 2).max(MIN_WINDOW);
    };
    let reservation = Reservation(Arc::new(Mutex::new(Some((scope, granted)))));
    Some((reservation, granted))
}

#[cfg(test)]
mod tests {
    use hyphae_core::resources::{ResourceLimits, ScopeLimits};

    use super::*;

    fn manager(memory: u64) -> ResourceManager {
        let mut limits = ResourceLimits::scaled(1 << 30, 1024);
        limits.system = ScopeLimits::UNLIMITED.with_memory(memory);
        ResourceManager::new(limits)
    }

    #[test]
    fn windows_shrink_as_memory_runs_short_and_refuse_below_the_minimum() {
        let resources = manager(64 << 20);
        let (first, window) = reserve(&resources, Opener::Remote, 24 << 20).unwrap();
        assert_eq!(window, 24 << 20, "room for the whole window");
        // Past half of the budget, only smaller windows.
        let (second, window) = reserve(&resources, Opener::Remote, 24 << 20).unwrap();
        assert_eq!(window, 6 << 20);
        assert_eq!(resources.system().usage().memory, 30 << 20);
        let mut held = vec![first, second];
        while let Some((reservation, window)) = reserve(&resources, Opener::Remote, 24 << 20) {
            assert!(window >= MIN_WINDOW);
            held.push(reservation);
        }
        assert!(resources.system().usage().memory <= 64 << 20);
        assert!(resources.system().usage().memory > (64 << 20) - u64::from(MIN_WINDOW));
        drop(held);
        assert_eq!(resources.system().usage().memory, 0);
    }
}
