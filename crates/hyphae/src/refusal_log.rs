//! A log line when a limit refuses a connection, for the operator, without letting a flood
//! of refusals flood the log: the first refusal of each kind is logged at once, later ones
//! as one line with their count at most every [`INTERVAL`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use tracing::warn;

use crate::Limit;

/// Least time between two lines about one kind of refusal.
pub(crate) const INTERVAL: Duration = Duration::from_secs(10);

/// What was logged of each kind of refusal.
#[derive(Debug, Default)]
pub(crate) struct RefusalLog {
    kinds: Mutex<HashMap<std::mem::Discriminant<Limit>, Kind>>,
}

#[derive(Debug)]
struct Kind {
    logged_at: Instant,
    unlogged: u64,
}

impl RefusalLog {
    /// Records a refusal by `limit` at `now`; logs it unless a line about its kind was
    /// written within [`INTERVAL`]. Returns whether it logged.
    pub(crate) fn refused(&self, limit: &Limit, now: Instant) -> bool {
        let mut kinds = self.kinds.lock().unwrap_or_else(PoisonError::into_inner);
        let kind = std::mem::discriminant(limit);
        match kinds.get_mut(&kind) {
            Some(seen) if now.saturating_duration_since(seen.logged_at) < INTERVAL => {
                seen.unlogged += 1;
                false
            }
            Some(seen) => {
                let since = seen.unlogged;
                *seen = Kind {
                    logged_at: now,
                    unlogged: 0,
                };
                warn!(%limit, also_refused_since_last_line = since, "refusing connections");
                true
            }
            None => {
                kinds.insert(
                    kind,
                    Kind {
                        logged_at: now,
                        unlogged: 0,
                    },
                );
                warn!(%limit, "refusing a connection");
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_kind_and_interval() {
        let log = RefusalLog::default();
        let start = Instant::now();
        assert!(log.refused(&Limit::Connections(4), start));
        assert!(!log.refused(&Limit::Connections(4), start));
        assert!(log.refused(&Limit::InboundPerIp(8), start), "another kind");
        assert!(!log.refused(&Limit::Connections(4), start + INTERVAL / 2));
        assert!(log.refused(&Limit::Connections(4), start + INTERVAL));
    }
}
