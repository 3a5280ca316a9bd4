//! Which handler serves which inbound protocol.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use crate::Stream;

/// A boxed handler future.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// A protocol handler: called once per inbound stream, on its own task.
pub(crate) type Handler = Arc<dyn Fn(Stream) -> HandlerFuture + Send + Sync>;

/// The protocol table. Reads (every inbound stream) vastly outnumber writes (`handle`), and
/// the protocol list is kept as a shared snapshot so negotiation never clones it.
#[derive(Default)]
pub(crate) struct Router {
    table: RwLock<Table>,
}

#[derive(Default, Clone)]
struct Table {
    handlers: BTreeMap<String, Handler>,
    protocols: Arc<[String]>,
}

impl Router {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Table> {
        self.table
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Installs `handler` for `protocol`, replacing any previous one.
    pub(crate) fn insert(&self, protocol: String, handler: Handler) {
        let mut table = self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        table.handlers.insert(protocol, handler);
        table.protocols = table.handlers.keys().cloned().collect();
    }

    /// Removes the handler of `protocol`; returns whether there was one.
    pub(crate) fn remove(&self, protocol: &str) -> bool {
        let mut table = self
            .table
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let removed = table.handlers.remove(protocol).is_some();
        table.protocols = table.handlers.keys().cloned().collect();
        removed
    }

    /// The protocols served, as a cheap shared snapshot.
    pub(crate) fn protocols(&self) -> Arc<[String]> {
        Arc::clone(&self.read().protocols)
    }

    /// The handler of `protocol`.
    pub(crate) fn handler(&self, protocol: &str) -> Option<Handler> {
        self.read().handlers.get(protocol).cloned()
    }
}
