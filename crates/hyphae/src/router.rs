//! Which handler or service takes which inbound protocol.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use hyphae_service::IncomingSender;

use crate::Stream;

/// A boxed handler future.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = ()> + Send>>;
/// A protocol handler: called once per inbound stream, on its own task.
pub(crate) type Handler = Arc<dyn Fn(Stream) -> HandlerFuture + Send + Sync>;

/// Where a negotiated inbound stream goes.
#[derive(Clone)]
pub(crate) enum Route {
    /// A task of its own running the handler (`Node::handle`).
    Handler(Handler),
    /// A service's bounded queue (`Context::accept`), tagged so that dropping an old
    /// `Incoming` cannot unregister a newer route of the same protocol.
    Queue {
        sender: IncomingSender,
        registration: u64,
        /// The service whose queue it is, for its resource scope.
        service: Option<Arc<str>>,
    },
}

impl Route {
    /// The service that takes the streams, if a service does.
    pub(crate) fn service(&self) -> Option<&str> {
        match self {
            Route::Handler(_) => None,
            Route::Queue { service, .. } => service.as_deref(),
        }
    }
}

/// The protocol table. Reads (every inbound stream) vastly outnumber writes, and the
/// protocol list is kept as a shared snapshot so negotiation never clones it.
#[derive(Default)]
pub(crate) struct Router {
    table: RwLock<Table>,
}

#[derive(Default)]
struct Table {
    routes: BTreeMap<String, Route>,
    protocols: Arc<[String]>,
    next_registration: u64,
}

impl Table {
    fn refresh(&mut self) {
        self.protocols = self.routes.keys().cloned().collect();
    }
}

impl Router {
    fn read(&self) -> RwLockReadGuard<'_, Table> {
        self.table.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Table> {
        self.table.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Installs `handler` for `protocol`, replacing any previous route.
    pub(crate) fn insert_handler(&self, protocol: String, handler: Handler) {
        let mut table = self.write();
        table.routes.insert(protocol, Route::Handler(handler));
        table.refresh();
    }

    /// A fresh registration number for [`insert_queue`](Router::insert_queue).
    pub(crate) fn new_registration(&self) -> u64 {
        let mut table = self.write();
        table.next_registration += 1;
        table.next_registration
    }

    /// Routes `protocol` to a service's queue under `registration`, replacing any previous
    /// route.
    pub(crate) fn insert_queue(
        &self,
        protocol: String,
        sender: IncomingSender,
        (registration, service): (u64, Option<Arc<str>>),
    ) {
        let mut table = self.write();
        table.routes.insert(
            protocol,
            Route::Queue {
                sender,
                registration,
                service,
            },
        );
        table.refresh();
    }

    /// Removes the route of `protocol`; returns whether there was one.
    pub(crate) fn remove(&self, protocol: &str) -> bool {
        let mut table = self.write();
        let removed = table.routes.remove(protocol).is_some();
        table.refresh();
        removed
    }

    /// Removes `protocol`'s queue if it is still the one `registration` installed.
    pub(crate) fn remove_queue(&self, protocol: &str, registration: u64) -> bool {
        let mut table = self.write();
        let is_current = matches!(
            table.routes.get(protocol),
            Some(Route::Queue { registration: current, .. }) if *current == registration
        );
        if is_current {
            table.routes.remove(protocol);
            table.refresh();
        }
        is_current
    }

    /// The protocols served, as a cheap shared snapshot.
    pub(crate) fn protocols(&self) -> Arc<[String]> {
        Arc::clone(&self.read().protocols)
    }

    /// The route of `protocol`.
    pub(crate) fn route(&self, protocol: &str) -> Option<Route> {
        self.read().routes.get(protocol).cloned()
    }
}
