//! A network of [`Dht`] cores in one process on virtual time: requests travel with a fixed
//! one-way latency, answers are computed by the receiving core, and peers can be made silent.
//! It checks the core's behaviour end to end without a node (the simulator's little sibling).

#![allow(dead_code, unreachable_pub)]

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use hyphae_identity::{Keypair, PeerId};
use hyphae_kad::AcceptAll;
use hyphae_kad::Message;
use hyphae_kad::{Config, Dht, Event, Failure, MemoryStore, Mode, QueryId, RequestId};
use hyphae_multiaddr::Multiaddr;

/// One-way delay of every message.
pub const LATENCY: Duration = Duration::from_millis(20);

enum Delivery {
    Request {
        from: usize,
        to: usize,
        request: RequestId,
        message: Message,
        expects_response: bool,
    },
    Response {
        to: usize,
        request: RequestId,
        message: Message,
    },
    Delivered {
        to: usize,
        request: RequestId,
    },
    Failure {
        to: usize,
        request: RequestId,
        failure: Failure,
    },
}

pub struct Network {
    pub nodes: Vec<Dht>,
    pub peers: Vec<PeerId>,
    index: HashMap<PeerId, usize>,
    pub now: Instant,
    start: Instant,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    deliveries: HashMap<u64, Delivery>,
    next: u64,
    /// Nodes that receive requests but never answer.
    pub silent: HashSet<usize>,
    /// Pairs that have "connected" (identify has run between them).
    connected: BTreeSet<(usize, usize)>,
    /// Events every node produced, in order.
    pub events: Vec<(usize, Event)>,
}

pub fn addr(index: usize) -> Multiaddr {
    format!("/memory/{}", index + 1).parse().unwrap()
}

impl Network {
    /// `count` nodes in `mode`, none knowing another.
    pub fn new(count: usize, mode: Mode, config: Config) -> Network {
        let now = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut nodes = Vec::new();
        let mut peers = Vec::new();
        for i in 0..count {
            // Keys from the index, like the gossipsub interop contract: runs are reproducible.
            let mut secret = [0u8; 32];
            secret[..8].copy_from_slice(&(i as u64).to_le_bytes());
            let peer = Keypair::ed25519_from_secret(&secret).peer_id();
            let mut dht = Dht::new(
                peer,
                config.clone(),
                mode,
                Box::new(MemoryStore::default()),
                now,
                wall,
                i as u64,
            );
            dht.validators_mut().insert("example", AcceptAll);
            dht.set_local_addrs(vec![addr(i)]);
            nodes.push(dht);
            peers.push(peer);
        }
        let index = peers.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        Network {
            nodes,
            peers,
            index,
            now,
            start: now,
            queue: BinaryHeap::new(),
            deliveries: HashMap::new(),
            next: 0,
            silent: HashSet::new(),
            connected: BTreeSet::new(),
            events: Vec::new(),
        }
    }

    /// Every node learns of node 0 and bootstraps, one after another.
    pub fn bootstrap_all(&mut self) {
        let first = self.peers[0];
        for i in 1..self.nodes.len() {
            let now = self.now;
            self.nodes[i].add_peer(first, vec![addr(0)], now);
            let query = self.nodes[i].bootstrap(now).unwrap();
            self.run_until_finished(i, query);
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn schedule(&mut self, at: Instant, delivery: Delivery) {
        let id = self.next;
        self.next += 1;
        self.deliveries.insert(id, delivery);
        self.queue.push(Reverse((at, id)));
    }

    /// Moves every queued request of every node onto the wire, and records events.
    fn flush(&mut self) {
        for from in 0..self.nodes.len() {
            while let Some(transmit) = self.nodes[from].poll_transmit() {
                let Some(&to) = self.index.get(&transmit.peer) else {
                    let at = self.now + LATENCY;
                    self.schedule(
                        at,
                        Delivery::Failure {
                            to: from,
                            request: transmit.request,
                            failure: Failure::Unreachable,
                        },
                    );
                    continue;
                };
                self.connect(from, to);
                let at = self.now + LATENCY;
                self.schedule(
                    at,
                    Delivery::Request {
                        from,
                        to,
                        request: transmit.request,
                        message: transmit.message,
                        expects_response: transmit.expects_response,
                    },
                );
            }
            while let Some(event) = self.nodes[from].poll_event() {
                self.events.push((from, event));
            }
        }
    }

    /// What a connection does between two nodes the first time: both identify.
    fn connect(&mut self, a: usize, b: usize) {
        if !self.connected.insert((a.min(b), a.max(b))) {
            return;
        }
        let now = self.now;
        let a_is_server = self.nodes[a].mode() == Mode::Server && !self.silent.contains(&a);
        let b_is_server = self.nodes[b].mode() == Mode::Server && !self.silent.contains(&b);
        let (pa, pb) = (self.peers[a], self.peers[b]);
        self.nodes[a].on_identified(pb, vec![addr(b)], b_is_server, now);
        self.nodes[b].on_identified(pa, vec![addr(a)], a_is_server, now);
    }

    fn deliver(&mut self, delivery: Delivery) {
        let now = self.now;
        match delivery {
            Delivery::Request {
                from,
                to,
                request,
                message,
                expects_response,
            } => {
                if self.silent.contains(&to) {
                    return; // The sender's core times the request out.
                }
                let answer = self.nodes[to].handle_request(self.peers[from], message, now);
                let at = now + LATENCY;
                let delivery = match answer {
                    Ok(Some(message)) if expects_response => Delivery::Response {
                        to: from,
                        request,
                        message,
                    },
                    Ok(_) => Delivery::Delivered { to: from, request },
                    Err(_) => Delivery::Failure {
                        to: from,
                        request,
                        failure: Failure::Invalid,
                    },
                };
                self.schedule(at, delivery);
            }
            Delivery::Response {
                to,
                request,
                message,
            } => self.nodes[to].handle_response(request, message, now),
            Delivery::Delivered { to, request } => self.nodes[to].handle_delivered(request, now),
            Delivery::Failure {
                to,
                request,
                failure,
            } => self.nodes[to].handle_failure(request, failure, now),
        }
    }

    /// Runs until `done` holds after a step, or no work is left; panics after `limit` of
    /// virtual time.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Network) -> bool) {
        let deadline = self.now + limit;
        loop {
            self.flush();
            if done(self) {
                return;
            }
            let next_delivery = self.queue.peek().map(|Reverse((at, _))| *at);
            let next_timer = self.nodes.iter().filter_map(Dht::poll_timeout).min();
            let Some(next) = [next_delivery, next_timer].into_iter().flatten().min() else {
                return;
            };
            assert!(next <= deadline, "nothing happened by the deadline");
            self.now = self.now.max(next);
            if next_delivery == Some(next) {
                let Reverse((_, id)) = self.queue.pop().unwrap();
                let delivery = self.deliveries.remove(&id).unwrap();
                self.deliver(delivery);
            } else {
                let now = self.now;
                for node in &mut self.nodes {
                    if node.poll_timeout().is_some_and(|at| at <= now) {
                        node.handle_timeout(now);
                    }
                }
            }
        }
    }

    /// Runs until node `node`'s `query` has finished; returns its outcome event.
    pub fn run_until_finished(&mut self, node: usize, query: QueryId) -> Event {
        let is_finished = |event: &(usize, Event)| {
            event.0 == node && matches!(&event.1, Event::Finished { query: q, .. } if *q == query)
        };
        self.run_until(Duration::from_secs(600), |net| {
            net.events.iter().any(is_finished)
        });
        self.events
            .iter()
            .rev()
            .find(|event| is_finished(event))
            .unwrap()
            .1
            .clone()
    }

    /// Progress events of `node`'s `query` so far.
    pub fn progress(&self, node: usize, query: QueryId) -> Vec<hyphae_kad::Progress> {
        self.events
            .iter()
            .filter_map(|(n, event)| match event {
                Event::Progress { query: q, progress } if *n == node && *q == query => {
                    Some(progress.clone())
                }
                _ => None,
            })
            .collect()
    }
}
