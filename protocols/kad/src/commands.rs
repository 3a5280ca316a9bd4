//! The queries a DHT node runs: what each starts with, what it does with answers, and how
//! it ends.

use std::collections::HashSet;
use std::time::Instant;

use hyphae_identity::PeerId;
use tracing::debug;

use crate::dht::Purpose;
use crate::event::{Event, Outcome, PeerAddrs, Progress, QueryId};
use crate::key::random_peer_bytes_with_cpl;
use crate::message::{ConnectionType, Message, PeerInfo, Record};
use crate::netsize::{expected_mean_closest_fraction, surely_closest_fraction};
use crate::queries::{Kind, Phase};
use crate::store::{ProviderRecord, StoredRecord};
use crate::{Dht, Error, Key};

/// How sure optimistic provide must be that a peer is among the k closest (go-libp2p: 90 %).
const OPTIMISTIC_CONFIDENCE: f64 = 0.9;
/// The share of the k storing requests an optimistic provide waits for before it reports;
/// the others finish in the background (go-libp2p: 75 %).
const OPTIMISTIC_RETURN_SHARE: f64 = 0.75;
/// Records we republish ourselves; `put_value` beyond it fails.
const MAX_PUBLISHED: usize = 1024;
/// Keys we provide ourselves; `provide` beyond it fails.
const MAX_PROVIDED: usize = 1024;
/// Records one `get_value` keeps (answers in flight when the quorum is reached may add a few
/// beyond the quorum; never more than this).
const MAX_RECORDS_PER_QUERY: usize = 2 * crate::K;

impl Dht {
    /// Looks ourselves up and refreshes every bucket not refreshed for a while; returns the
    /// self lookup. Runs by itself every refresh interval, sooner while the table is nearly
    /// empty.
    pub fn bootstrap(&mut self, now: Instant) -> Result<QueryId, Error> {
        let interval = if self.table.len() < self.config.low_peers {
            self.config.low_peers_interval
        } else {
            self.config.refresh_interval
        };
        self.next_refresh = now + interval;
        let own = self.start(Kind::Bootstrap, self.local.to_bytes(), now)?;
        for cpl in self.table.refresh_due(now, self.config.refresh_interval) {
            let key = random_peer_bytes_with_cpl(&self.local_key, cpl, &mut self.rng);
            if self.start(Kind::Bootstrap, key, now).is_err() {
                break;
            }
        }
        Ok(own)
    }

    /// Finds the k closest peers to `key`.
    pub fn get_closest_peers(&mut self, key: Vec<u8>, now: Instant) -> Result<QueryId, Error> {
        self.start(Kind::ClosestPeers, key, now)
    }

    /// Finds the addresses of `peer`.
    pub fn find_peer(&mut self, peer: PeerId, now: Instant) -> Result<QueryId, Error> {
        let kind = Kind::FindPeer {
            target: peer,
            found: None,
        };
        self.start(kind, peer.to_bytes(), now)
    }

    /// Finds records stored under `key`; ends once the configured quorum of valid records
    /// has arrived (each is reported as it does).
    pub fn get_value(&mut self, key: Vec<u8>, now: Instant) -> Result<QueryId, Error> {
        let quorum = self.config.get_quorum.of(self.config.k);
        let kind = Kind::GetValue {
            quorum,
            found: Vec::new(),
        };
        self.start(kind, key, now)
    }

    /// Validates, stores locally and stores at the k closest peers a record; republished
    /// until [`remove_record`](Dht::remove_record).
    pub fn put_value(
        &mut self,
        key: Vec<u8>,
        value: Vec<u8>,
        now: Instant,
    ) -> Result<QueryId, Error> {
        self.validators.validate(&key, &value)?;
        if self.published.len() >= MAX_PUBLISHED && !self.published.contains_key(&key) {
            return Err(Error::TooManyPublished(MAX_PUBLISHED));
        }
        let wall = self.wall(now);
        self.store.put(StoredRecord {
            key: key.clone(),
            value: value.clone(),
            publisher: Some(self.local),
            received: wall,
            expires: wall + self.config.record_ttl,
        })?;
        self.published.insert(key.clone(), (value.clone(), now));
        let record = Record {
            key: key.clone(),
            value,
            time_received: None,
        };
        let quorum = self.config.put_quorum.of(self.config.k);
        self.start(Kind::PutValue { record, quorum }, key, now)
    }

    /// Stops republishing a record we put and removes it from the local store.
    pub fn remove_record(&mut self, key: &[u8]) {
        self.published.remove(key);
        if let Err(error) = self.store.remove(key) {
            debug!(%error, "kad store: removing a record failed");
        }
    }

    /// Announces that we provide `key` to the k closest peers; reannounced every reprovide
    /// interval until [`stop_providing`](Dht::stop_providing).
    pub fn provide(&mut self, key: Vec<u8>, now: Instant) -> Result<QueryId, Error> {
        if self.provided.len() >= MAX_PROVIDED && !self.provided.contains_key(&key) {
            return Err(Error::TooManyProvided(MAX_PROVIDED));
        }
        let wall = self.wall(now);
        self.store.add_provider(ProviderRecord {
            key: key.clone(),
            provider: self.local,
            addrs: self.local_addrs.clone(),
            expires: wall + self.config.provider_ttl,
            addrs_expire: wall + self.config.provider_addr_ttl,
        })?;
        self.store.add_local_provided(key.clone())?;
        self.provided.insert(key.clone(), now);
        self.start(Kind::Provide, key, now)
    }

    /// Stops announcing `key`.
    pub fn stop_providing(&mut self, key: &[u8]) {
        self.provided.remove(key);
        let removed = self
            .store
            .remove_local_provided(key)
            .and_then(|()| self.store.remove_provider(key, &self.local));
        if let Err(error) = removed {
            debug!(%error, "kad store: forgetting a provided key failed");
        }
    }

    /// Finds up to `limit` providers of `key`, each reported as it is found.
    pub fn find_providers(
        &mut self,
        key: Vec<u8>,
        limit: usize,
        now: Instant,
    ) -> Result<QueryId, Error> {
        let kind = Kind::FindProviders {
            limit: limit.max(1),
            seen: HashSet::new(),
        };
        self.start(kind, key, now)
    }

    /// What a query knows before asking anyone: the local store and table.
    pub(crate) fn begin(&mut self, id: QueryId, now: Instant) {
        let wall = self.wall(now);
        let Dht {
            queries,
            store,
            table,
            events,
            validators,
            ..
        } = self;
        let Some(query) = queries.get_mut(&id) else {
            return;
        };
        match &mut query.kind {
            Kind::GetValue { quorum, found } => {
                // A stored record may have become invalid since (an IPNS record expires).
                if let Some(stored) = store
                    .get(&query.key, wall)
                    .filter(|stored| validators.validate(&stored.key, &stored.value).is_ok())
                {
                    let record = Record {
                        key: stored.key,
                        value: stored.value,
                        time_received: None,
                    };
                    found.push((None, record.clone()));
                    events.push_back(Event::Progress {
                        query: id,
                        progress: Progress::Record { peer: None, record },
                    });
                    if found.len() >= *quorum {
                        query.lookup.finish();
                    }
                }
            }
            Kind::FindProviders { limit, seen } => {
                for provider in store.providers(&query.key, wall) {
                    if seen.len() >= *limit || !seen.insert(provider.provider) {
                        continue;
                    }
                    events.push_back(Event::Progress {
                        query: id,
                        progress: Progress::Provider(PeerAddrs {
                            peer: provider.provider,
                            addrs: provider.addrs,
                        }),
                    });
                }
                if seen.len() >= *limit {
                    query.lookup.finish();
                }
            }
            Kind::FindPeer { target, found } => {
                if let Some(entry) = table.get(target).filter(|entry| !entry.addrs.is_empty()) {
                    *found = Some(entry.addrs.clone());
                    events.push_back(Event::Progress {
                        query: id,
                        progress: Progress::FoundPeer(PeerAddrs {
                            peer: *target,
                            addrs: entry.addrs.clone(),
                        }),
                    });
                    query.lookup.finish();
                }
            }
            _ => {}
        }
    }

    /// Takes what a peer answered during the lookup of query `id`.
    pub(crate) fn on_lookup_response(
        &mut self,
        id: QueryId,
        peer: PeerId,
        response: Message,
        now: Instant,
    ) {
        let local = self.local;
        let max_addrs = self.config.max_addrs_per_peer;
        let Dht {
            queries,
            validators,
            events,
            ..
        } = self;
        let Some(query) = queries.get_mut(&id) else {
            return;
        };
        let mut closer = Vec::with_capacity(response.closer_peers.len());
        for info in response
            .closer_peers
            .into_iter()
            .map(PeerInfo::with_plain_addrs)
        {
            if info.id == local {
                continue;
            }
            if let Kind::FindPeer { target, found } = &mut query.kind
                && info.id == *target
                && found.is_none()
                && !info.addrs.is_empty()
            {
                *found = Some(info.addrs.clone());
                events.push_back(Event::Progress {
                    query: id,
                    progress: Progress::FoundPeer(PeerAddrs {
                        peer: info.id,
                        addrs: info.addrs.clone(),
                    }),
                });
                query.lookup.finish();
            }
            closer.push(info.id);
            query.learn_addrs(info.id, info.addrs, max_addrs);
        }
        match &mut query.kind {
            Kind::GetValue { quorum, found } => {
                if let Some(record) = response.record
                    && record.key == query.key
                    && validators.validate(&record.key, &record.value).is_ok()
                    && found.len() < MAX_RECORDS_PER_QUERY
                {
                    found.push((Some(peer), record.clone()));
                    events.push_back(Event::Progress {
                        query: id,
                        progress: Progress::Record {
                            peer: Some(peer),
                            record,
                        },
                    });
                    if found.len() >= *quorum {
                        query.lookup.finish();
                    }
                }
            }
            Kind::FindProviders { limit, seen } => {
                for provider in response
                    .provider_peers
                    .into_iter()
                    .map(PeerInfo::with_plain_addrs)
                {
                    if seen.len() >= *limit {
                        break;
                    }
                    if seen.insert(provider.id) {
                        events.push_back(Event::Progress {
                            query: id,
                            progress: Progress::Provider(PeerAddrs {
                                peer: provider.id,
                                addrs: provider.addrs,
                            }),
                        });
                    }
                }
                if seen.len() >= *limit {
                    query.lookup.finish();
                }
            }
            Kind::FindPeer { target, found } if peer == *target && found.is_none() => {
                // The peer itself answered: we reached it, so its addresses are known.
                let addrs = query.addrs.get(&peer).cloned().unwrap_or_default();
                *found = Some(addrs.clone());
                events.push_back(Event::Progress {
                    query: id,
                    progress: Progress::FoundPeer(PeerAddrs { peer, addrs }),
                });
                query.lookup.finish();
            }
            _ => {}
        }
        query.lookup.on_response(&peer, closer, now);
    }

    /// Moves query `id` on once its lookup or its storing phase is over.
    pub(crate) fn advance(&mut self, id: QueryId, now: Instant) {
        let Some(query) = self.queries.get(&id) else {
            return;
        };
        match query.phase {
            Phase::Lookup if !query.lookup.is_finished() => return,
            Phase::Storing if query.stores.pending > 0 && !self.has_enough_stores(id) => return,
            Phase::Storing => return self.finish(id, now),
            Phase::Lookup => {}
        }
        let Some((message, expects_response)) = self.store_message(id) else {
            return self.finish(id, now);
        };
        let Some(query) = self.queries.get_mut(&id) else {
            return;
        };
        query.phase = Phase::Storing;
        // An optimistic provide has asked some already: the nearest others make up the k.
        let remaining: Vec<PeerId> = query
            .lookup
            .closest()
            .into_iter()
            .filter(|peer| !query.stores.asked.contains(peer))
            .take(self.config.k.saturating_sub(query.stores.asked.len()))
            .collect();
        for peer in remaining {
            self.store_at(id, peer, message.clone(), expects_response, now);
        }
        if self
            .queries
            .get(&id)
            .is_some_and(|query| query.stores.pending == 0)
        {
            self.finish(id, now);
        }
    }

    /// Whether query `id` may report before all its storing requests ended: an optimistic
    /// provide once 75 % of k peers took the entry.
    fn has_enough_stores(&self, id: QueryId) -> bool {
        let Some(query) = self.queries.get(&id) else {
            return false;
        };
        let enough = (self.config.k as f64 * OPTIMISTIC_RETURN_SHARE).ceil() as usize;
        self.config.optimistic_provide
            && matches!(query.kind, Kind::Provide)
            && query.stores.succeeded >= enough
    }

    /// The request that stores what query `id` puts or provides; `None` for other queries.
    fn store_message(&self, id: QueryId) -> Option<(Message, bool)> {
        let query = self.queries.get(&id)?;
        match &query.kind {
            _ if query.is_cancelled => None,
            Kind::PutValue { record, .. } => Some((Message::put_value(record.clone()), true)),
            Kind::Provide => {
                let provider = PeerInfo {
                    id: self.local,
                    addrs: self.local_addrs.clone(),
                    connection: ConnectionType::Connected,
                };
                Some((Message::add_provider(query.key.clone(), provider), false))
            }
            _ => None,
        }
    }

    /// Sends query `id`'s storing request to `peer`.
    fn store_at(
        &mut self,
        id: QueryId,
        peer: PeerId,
        message: Message,
        expects_response: bool,
        now: Instant,
    ) {
        let Some(query) = self.queries.get_mut(&id) else {
            return;
        };
        query.stores.asked.push(peer);
        query.stores.pending += 1;
        let addrs = self.known_addrs(&peer, Some(id));
        self.send(
            peer,
            addrs,
            message,
            expects_response,
            Purpose::Store(id),
            now,
        );
    }

    /// Optimistic provide (the idea of go-libp2p-kad-dht's `lookup_optim.go`): after each
    /// answer of a `provide` walk, stores the provider entry at once at every peer known to
    /// the walk that is almost surely (90 %) among the k closest to the key given the
    /// estimated network size, and ends the walk when k peers have been asked or when the k
    /// nearest peers it knows are on average as near as the true k closest are expected to be.
    pub(crate) fn store_optimistically(&mut self, id: QueryId, now: Instant) {
        let (Some(size), true) = (self.network_size.get(), self.config.optimistic_provide) else {
            return;
        };
        let k = self.config.k;
        let Some(query) = self.queries.get(&id) else {
            return;
        };
        if !matches!(query.kind, Kind::Provide) || query.phase != Phase::Lookup {
            return;
        }
        let surely_closest = surely_closest_fraction(k, OPTIMISTIC_CONFIDENCE, size);
        let nearest: Vec<(PeerId, f64)> = query
            .lookup
            .nearest_alive(k)
            .into_iter()
            .map(|(peer, distance)| (peer, distance.as_fraction()))
            .collect();
        let to_ask: Vec<PeerId> = nearest
            .iter()
            .filter(|(peer, fraction)| {
                *fraction < surely_closest && !query.stores.asked.contains(peer)
            })
            .map(|(peer, _)| *peer)
            .take(k.saturating_sub(query.stores.asked.len()))
            .collect();
        let mean = nearest.iter().map(|(_, fraction)| fraction).sum::<f64>() / k as f64;
        let is_near_enough = nearest.len() == k && mean < expected_mean_closest_fraction(k, size);
        let Some((message, expects_response)) = self.store_message(id) else {
            return;
        };
        for peer in to_ask {
            self.store_at(id, peer, message.clone(), expects_response, now);
        }
        if let Some(query) = self.queries.get_mut(&id)
            && (query.stores.asked.len() >= k || is_near_enough)
        {
            debug!(
                ?id,
                asked = query.stores.asked.len(),
                "optimistic provide ends its walk"
            );
            query.lookup.finish();
        }
    }

    /// Ends query `id`: reports its outcome, and sends the best record to peers that had an
    /// outdated one.
    fn finish(&mut self, id: QueryId, now: Instant) {
        let Some(query) = self.queries.remove(&id) else {
            return;
        };
        let stats = query.lookup.stats();
        let cpl = query.target.common_prefix_len(&self.local_key);
        self.table.mark_refreshed(cpl, now);
        if !query.is_cancelled {
            let distances: Vec<f64> = query
                .lookup
                .closest()
                .iter()
                .map(|peer| Key::for_peer(peer).distance(&query.target).as_fraction())
                .collect();
            self.network_size.observe(&distances);
        }
        let closest = || {
            query
                .lookup
                .closest()
                .into_iter()
                .map(|peer| PeerAddrs {
                    addrs: query.addrs.get(&peer).cloned().unwrap_or_default(),
                    peer,
                })
                .collect()
        };
        let (succeeded, asked) = (query.stores.succeeded, query.stores.asked.len());
        let outcome = match &query.kind {
            Kind::ClosestPeers | Kind::Bootstrap => Outcome::ClosestPeers(closest()),
            Kind::FindPeer { target, found } => {
                Outcome::FoundPeer(found.clone().map(|addrs| PeerAddrs {
                    peer: *target,
                    addrs,
                }))
            }
            Kind::GetValue { found, .. } => {
                let best = self.best_record(&query.key, found);
                if let Some(best) = &best {
                    self.correct_outdated(best, found, now);
                }
                Outcome::Value(best)
            }
            Kind::PutValue { quorum, .. } => Outcome::Stored {
                succeeded,
                asked,
                quorum_reached: succeeded >= *quorum,
            },
            Kind::Provide => Outcome::Provided { succeeded, asked },
            Kind::FindProviders { seen, .. } => Outcome::Providers(seen.len()),
        };
        self.events.push_back(Event::Finished {
            query: id,
            outcome,
            stats,
        });
    }

    /// The record the namespace's validator selects among those found.
    fn best_record(&self, key: &[u8], found: &[(Option<PeerId>, Record)]) -> Option<Record> {
        let values: Vec<&[u8]> = found
            .iter()
            .map(|(_, record)| record.value.as_slice())
            .collect();
        if values.is_empty() {
            return None;
        }
        let best = self.validators.select(key, &values).ok()?;
        found.get(best).map(|(_, record)| record.clone())
    }

    /// Sends `best` to the peers that answered with another value (go-libp2p does the same,
    /// so that stale copies heal).
    fn correct_outdated(
        &mut self,
        best: &Record,
        found: &[(Option<PeerId>, Record)],
        now: Instant,
    ) {
        for (peer, record) in found {
            let Some(peer) = peer else { continue };
            if record.value != best.value {
                let addrs = self.known_addrs(peer, None);
                let message = Message::put_value(best.clone());
                self.send(*peer, addrs, message, true, Purpose::Correction, now);
            }
        }
    }
}
