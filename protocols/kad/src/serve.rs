//! Answering other peers' requests (server mode).

use std::time::Instant;

use hyphae_identity::PeerId;

use crate::message::{ConnectionType, Message, MessageType, PeerInfo, Record};
use crate::store::{ProviderRecord, StoredRecord};
use crate::time::format_rfc3339;
use crate::{Dht, Error, Key, Mode};

impl Dht {
    /// Answers a request from `from`. `Ok(None)`: the request has no answer (ADD_PROVIDER);
    /// an error: the driver resets the stream, which is how the protocol says no.
    pub fn handle_request(
        &mut self,
        from: PeerId,
        request: Message,
        now: Instant,
    ) -> Result<Option<Message>, Error> {
        if self.mode == Mode::Client {
            return Err(Error::NotServing);
        }
        let wall = self.wall(now);
        match request.kind {
            MessageType::FindNode => {
                let closer_peers = self.closer_peers(&request.key, &from);
                Ok(Some(Message {
                    closer_peers,
                    ..Message::find_node(request.key)
                }))
            }
            MessageType::GetValue => {
                let record = match self.store.get(&request.key, wall) {
                    // A record that no longer validates (an expired IPNS record) is dropped.
                    Some(stored)
                        if self.validators.validate(&stored.key, &stored.value).is_ok() =>
                    {
                        Some(Record {
                            key: stored.key,
                            value: stored.value,
                            time_received: Some(format_rfc3339(stored.received)),
                        })
                    }
                    Some(stored) => {
                        let _ = self.store.remove(&stored.key);
                        None
                    }
                    None => None,
                };
                let closer_peers = self.closer_peers(&request.key, &from);
                Ok(Some(Message {
                    record,
                    closer_peers,
                    ..Message::get_value(request.key)
                }))
            }
            MessageType::PutValue => {
                self.store_record(&request, wall)?;
                Ok(Some(request))
            }
            MessageType::GetProviders => {
                let provider_peers = self
                    .store
                    .providers(&request.key, wall)
                    .into_iter()
                    .take(self.config.k)
                    .map(|provider| PeerInfo {
                        connection: self.connection_type(&provider.provider),
                        id: provider.provider,
                        addrs: truncated(provider.addrs, self.config.max_addrs_per_peer),
                    })
                    .collect();
                let closer_peers = self.closer_peers(&request.key, &from);
                Ok(Some(Message {
                    provider_peers,
                    closer_peers,
                    ..Message::get_providers(request.key)
                }))
            }
            MessageType::AddProvider => {
                // Only the sender may announce itself (spec: "ADD_PROVIDER").
                let providers = request.provider_peers.into_iter();
                for provider in providers
                    .filter(|p| p.id == from)
                    .map(PeerInfo::with_plain_addrs)
                {
                    self.store.add_provider(ProviderRecord {
                        key: request.key.clone(),
                        provider: from,
                        addrs: truncated(provider.addrs, self.config.max_addrs_per_peer),
                        expires: wall + self.config.provider_ttl,
                        addrs_expire: wall + self.config.provider_addr_ttl,
                    })?;
                }
                Ok(None)
            }
            // Deprecated, answered for old peers, never sent.
            MessageType::Ping => Ok(Some(request)),
        }
    }

    /// Validates and stores the record of a PUT_VALUE, unless we hold a better one.
    fn store_record(
        &mut self,
        request: &Message,
        wall: std::time::SystemTime,
    ) -> Result<(), Error> {
        let record = request.record.as_ref().ok_or(Error::MissingRecord)?;
        if record.key != request.key {
            return Err(Error::KeyMismatch);
        }
        self.validators.validate(&record.key, &record.value)?;
        if let Some(existing) = self.store.get(&record.key, wall)
            && existing.value != record.value
            && self
                .validators
                .select(&record.key, &[&record.value, &existing.value])?
                == 1
        {
            return Err(Error::OutdatedRecord);
        }
        self.store.put(StoredRecord {
            key: record.key.clone(),
            value: record.value.clone(),
            publisher: None,
            received: wall,
            expires: wall + self.config.record_ttl,
        })?;
        Ok(())
    }

    /// The k peers of our table closest to `key`, leaving out the requester.
    fn closer_peers(&self, key: &[u8], requester: &PeerId) -> Vec<PeerInfo> {
        self.table
            .closest(&Key::for_bytes(key), self.config.k + 1)
            .into_iter()
            .filter(|entry| entry.peer != *requester)
            .take(self.config.k)
            .map(|entry| PeerInfo {
                id: entry.peer,
                addrs: truncated(entry.addrs.clone(), self.config.max_addrs_per_peer),
                connection: self.connection_type(&entry.peer),
            })
            .collect()
    }

    fn connection_type(&self, peer: &PeerId) -> ConnectionType {
        if self.connected.contains(peer) {
            ConnectionType::Connected
        } else {
            ConnectionType::NotConnected
        }
    }
}

fn truncated<T>(mut items: Vec<T>, max: usize) -> Vec<T> {
    items.truncate(max);
    items
}
