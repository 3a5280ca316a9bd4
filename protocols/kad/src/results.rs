//! What a query sends back to its caller: results as they arrive, then how it ended.

use tokio::sync::mpsc;

use crate::Error;
use crate::event::{Outcome, PeerAddrs, Progress};
use crate::message::Record;
use crate::query::LookupStats;

/// One message from the driver to a query's caller.
#[derive(Debug)]
pub(crate) enum Update {
    Progress(Progress),
    Finished(Outcome, LookupStats),
    Failed(Error),
}

/// A running query's results. Dropping it cancels the query.
///
/// The channel is unbounded because the query bounds what it reports: providers up to the
/// asked limit, records up to twice k, one peer for `find_peer`.
#[derive(Debug)]
pub struct QueryResults {
    updates: mpsc::UnboundedReceiver<Update>,
    ended: Option<Result<(Outcome, LookupStats), Error>>,
}

impl QueryResults {
    pub(crate) fn new(updates: mpsc::UnboundedReceiver<Update>) -> QueryResults {
        QueryResults {
            updates,
            ended: None,
        }
    }

    /// The next result, or `None` once the query has ended.
    pub async fn next(&mut self) -> Option<Progress> {
        if self.ended.is_some() {
            return None;
        }
        match self.updates.recv().await {
            Some(Update::Progress(progress)) => Some(progress),
            Some(Update::Finished(outcome, stats)) => {
                self.ended = Some(Ok((outcome, stats)));
                None
            }
            Some(Update::Failed(error)) => {
                self.ended = Some(Err(error));
                None
            }
            None => {
                self.ended = Some(Err(Error::ServiceStopped));
                None
            }
        }
    }

    /// Waits for the query to end (skipping results not yet read) and returns how it ended
    /// with the lookup's statistics.
    pub async fn finish(mut self) -> Result<(Outcome, LookupStats), Error> {
        while self.next().await.is_some() {}
        self.ended.take().unwrap_or(Err(Error::ServiceStopped))
    }
}

/// The providers of a key, as they are found; from `Handle::find_providers`.
#[derive(Debug)]
pub struct Providers {
    pub(crate) results: QueryResults,
}

impl Providers {
    /// The next provider, or `None` once the lookup has ended.
    pub async fn next(&mut self) -> Option<PeerAddrs> {
        loop {
            match self.results.next().await? {
                Progress::Provider(provider) => return Some(provider),
                _ => continue,
            }
        }
    }

    /// Waits for the lookup to end; its statistics.
    pub async fn finish(self) -> Result<LookupStats, Error> {
        self.results.finish().await.map(|(_, stats)| stats)
    }
}

/// The records stored under a key, as they arrive; from `Handle::get_value`.
#[derive(Debug)]
pub struct Records {
    pub(crate) results: QueryResults,
}

impl Records {
    /// The next valid record, or `None` once the lookup has ended.
    pub async fn next(&mut self) -> Option<Record> {
        loop {
            match self.results.next().await? {
                Progress::Record { record, .. } => return Some(record),
                _ => continue,
            }
        }
    }

    /// Waits for the lookup to end: the best record found (the namespace's validator
    /// chooses), or [`Error::NotFound`].
    pub async fn best(self) -> Result<Record, Error> {
        match self.results.finish().await?.0 {
            Outcome::Value(Some(record)) => Ok(record),
            _ => Err(Error::NotFound),
        }
    }
}
