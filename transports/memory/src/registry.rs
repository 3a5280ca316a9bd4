//! The process-wide table of `/memory` port numbers in use.
//!
//! A port is held either by a [`Listener`](crate::Listener), which registers the sending end
//! of its accept queue, or by the dialling end of a connection, which holds its ephemeral
//! port so that no listener can take a number a live connection reports as its peer's
//! address. Each holder owns a [`Reservation`]; dropping it frees the number.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::mpsc;

use crate::{Error, MemoryStream};

/// The first port number the transport picks by itself, for `/memory/0` listeners and for
/// diallers. Numbers below it are only ever taken when asked for by name, so a test that
/// binds a fixed port below 2^32 never collides with one the transport chose.
pub const FIRST_EPHEMERAL_PORT: u64 = 1 << 32;

/// Where connections to a listener's port are delivered.
pub(crate) type AcceptQueue = mpsc::Sender<MemoryStream>;

#[derive(Debug)]
enum Holder {
    Listener(AcceptQueue),
    Dialer,
}

#[derive(Debug)]
struct Table {
    ports: BTreeMap<u64, Holder>,
    /// Where the search for the next free ephemeral port starts. Counting up (rather than
    /// choosing at random) keeps runs repeatable and delays reuse of a number as long as
    /// possible.
    next_ephemeral: u64,
}

static TABLE: Mutex<Table> = Mutex::new(Table {
    ports: BTreeMap::new(),
    next_ephemeral: FIRST_EPHEMERAL_PORT,
});

/// Every critical section below leaves the table consistent before anything that could
/// panic, so a poisoned lock still guards a valid table.
fn table() -> MutexGuard<'static, Table> {
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Table {
    /// A free port at or above [`FIRST_EPHEMERAL_PORT`]. The loop ends: the table cannot hold
    /// anywhere near the 2^64 - 2^32 numbers of that range.
    fn free_ephemeral(&mut self) -> u64 {
        loop {
            let port = self.next_ephemeral;
            self.next_ephemeral = port.checked_add(1).unwrap_or(FIRST_EPHEMERAL_PORT);
            if !self.ports.contains_key(&port) {
                return port;
            }
        }
    }
}

/// A port number held until this is dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    port: u64,
}

impl Reservation {
    pub(crate) fn port(&self) -> u64 {
        self.port
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        // Only this reservation holds `port`: it was inserted when the reservation was made
        // and nothing else removes it.
        table().ports.remove(&self.port);
    }
}

/// Registers `queue` as the listener on `port` (0: a free ephemeral port).
pub(crate) fn listen(port: u64, queue: AcceptQueue) -> Result<Reservation, Error> {
    let mut table = table();
    let port = match port {
        0 => table.free_ephemeral(),
        port if table.ports.contains_key(&port) => return Err(Error::AddressInUse(port)),
        port => port,
    };
    table.ports.insert(port, Holder::Listener(queue));
    Ok(Reservation { port })
}

/// Finds the listener on `port` and reserves an ephemeral port for the dialling end.
pub(crate) fn connect(port: u64) -> Result<(Reservation, AcceptQueue), Error> {
    let mut table = table();
    let queue = match table.ports.get(&port) {
        Some(Holder::Listener(queue)) => queue.clone(),
        Some(Holder::Dialer) | None => return Err(Error::ConnectionRefused(port)),
    };
    let local = table.free_ephemeral();
    table.ports.insert(local, Holder::Dialer);
    Ok((Reservation { port: local }, queue))
}
