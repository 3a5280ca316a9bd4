//! Nodes leaving and coming back ([`crate::churn`]): sessions, crashes and graceful leaves,
//! and rejoining with an empty table through a few known servers.

use hyphae_kad::{LookupStats, QueryId};

use super::{Event, Finished, Incarnation, Simulation, new_core, wall_start};

impl Simulation {
    /// Gives every node its first session: from now on nodes leave and come back as the
    /// churn settings say. Does nothing if churn is off.
    pub fn start_churn(&mut self) {
        if !self.churn.is_enabled() {
            return;
        }
        for node in 0..self.nodes.len() {
            let session = self.churn.session(&mut self.rng);
            let event = Event::Leave(self.incarnation(node));
            self.scheduler.schedule_in(session, event);
        }
    }

    /// Node `target` leaves: its connections end (its peers hear of it now if it leaves
    /// gracefully, after the keep-alive gives up if it crashed), its watched queries end
    /// without an outcome, and it comes back after a downtime.
    pub(super) fn leave(&mut self, target: Incarnation) {
        if !self.is_current(target) {
            return;
        }
        let node = target.node as usize;
        let crashed = self.churn.is_crash(&mut self.rng);
        let at = self.scheduler.now();
        self.trace
            .add(&[at.0, 9, u64::from(target.node), u64::from(crashed)]);
        let state = &mut self.nodes[node];
        state.is_online = false;
        state.crashed = crashed;
        state.timer = None;
        let gone = state.peer;
        let peers = self.links.disconnect_all(node);
        if crashed {
            let peers: Vec<Incarnation> = peers.into_iter().map(|p| self.incarnation(p)).collect();
            let event = Event::CrashNoticed {
                gone: target.node,
                peers,
            };
            self.scheduler
                .schedule_in(self.churn.crash_detection, event);
        } else {
            for peer in peers {
                self.nodes[peer].dht.set_connected(gone, false);
                self.dirty.push(peer as u32);
            }
        }
        let mut abandoned: Vec<QueryId> = self
            .watched
            .iter()
            .filter(|(watcher, _)| *watcher == target.node)
            .map(|(_, query)| *query)
            .collect();
        abandoned.sort();
        for query in abandoned {
            self.watched.remove(&(target.node, query));
            self.finished.push(Finished {
                node,
                query,
                outcome: None,
                stats: LookupStats::default(),
                at,
            });
        }
        let downtime = self.churn.downtime(&mut self.rng);
        let event = Event::Rejoin { node: target.node };
        self.scheduler.schedule_in(downtime, event);
    }

    /// Node `node` comes back as a new incarnation: a fresh core with an empty store, given
    /// a few honest online servers to bootstrap from, and a new session.
    pub(super) fn rejoin(&mut self, node: usize) {
        let at = self.scheduler.now();
        self.trace.add(&[at.0, 10, node as u64]);
        let now = self.scheduler.now_instant();
        let wall = wall_start() + at.since_start();
        let seed = self.rng.next_u64();
        let is_reachable = self.links.placement(node).is_reachable;
        let state = &mut self.nodes[node];
        state.dht = new_core(
            &self.kad,
            state.peer,
            &state.addr,
            is_reachable,
            now,
            wall,
            seed,
        );
        state.epoch += 1;
        state.is_online = true;
        state.crashed = false;
        state.timer = None;
        for peer in self.bootstrap_peers(node) {
            let (id, addr) = (self.nodes[peer].peer, self.nodes[peer].addr.clone());
            self.nodes[node].dht.add_peer(id, vec![addr], now);
        }
        // Bootstrapping needs a peer; with none online the node waits for its timer.
        let _ = self.nodes[node].dht.bootstrap(now);
        self.dirty.push(node as u32);
        let session = self.churn.session(&mut self.rng);
        let event = Event::Leave(self.incarnation(node));
        self.scheduler.schedule_in(session, event);
    }

    /// The peers of crashed node `gone` give up their connections to it.
    pub(super) fn crash_noticed(&mut self, gone: u32, peers: &[Incarnation]) {
        let gone_peer = self.nodes[gone as usize].peer;
        for &peer in peers {
            if self.is_current(peer) && !self.links.is_connected(peer.node as usize, gone as usize)
            {
                self.nodes[peer.node as usize]
                    .dht
                    .set_connected(gone_peer, false);
                self.dirty.push(peer.node);
            }
        }
    }

    /// Up to `churn.bootstrap_peers` honest online servers other than `node`, at random.
    fn bootstrap_peers(&mut self, node: usize) -> Vec<usize> {
        let wanted = self.churn.bootstrap_peers;
        let mut chosen = Vec::with_capacity(wanted);
        // Random probes rather than a scan: nearly all servers are online and honest.
        for _ in 0..wanted * 20 {
            if chosen.len() == wanted || self.servers.is_empty() {
                break;
            }
            let pick = self.servers[self.rng.below(self.servers.len() as u64) as usize].1 as usize;
            if pick != node && self.nodes[pick].is_honest_and_online() && !chosen.contains(&pick) {
                chosen.push(pick);
            }
        }
        chosen
    }
}
