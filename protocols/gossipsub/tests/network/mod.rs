//! An in-memory network of routers on virtual time: every RPC goes through the real codec
//! (encoded to a frame and decoded back), links are chosen by a seeded generator, and a run
//! is recorded as a trace so that replays can be compared.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use hyphae_core::rng::Rng;
use hyphae_gossipsub::{
    Config, Direction, Event, Limits, MessageId, Protocol, Publisher, Router, decode_frame,
    encode_frame,
};
use hyphae_identity::Keypair;

/// Routers keyed 0..n, the links between them, and what each delivered.
pub struct Network {
    pub routers: Vec<Router<u32>>,
    pub now: Instant,
    pub links: BTreeSet<(u32, u32)>,
    /// Message ids each node delivered to its application, in order.
    pub delivered: Vec<Vec<MessageId>>,
    /// Every RPC sent: (from, to, its encoding).
    pub trace: Vec<(u32, u32, Vec<u8>)>,
    limits: Limits,
}

impl Network {
    /// `n` routers, each dialling `dials` random others, all speaking meshsub 1.2.
    pub fn random(n: usize, dials: usize, seed: u64, config: &Config) -> Network {
        Network::random_mixed(n, dials, seed, config, &[Protocol::MeshsubV1_2])
    }

    /// Like [`Network::random`], each link's protocol drawn from `protocols`.
    pub fn random_mixed(
        n: usize,
        dials: usize,
        seed: u64,
        config: &Config,
        protocols: &[Protocol],
    ) -> Network {
        let mut network = Network::empty(n, seed, config);
        let mut rng = Rng::from_seed(seed);
        for from in 0..n {
            let mut dialled = 0;
            while dialled < dials {
                let to = rng.below(n as u64) as usize;
                let (a, b) = (from as u32, to as u32);
                if a == b || network.links.contains(&(a.min(b), a.max(b))) {
                    continue;
                }
                let protocol = protocols[rng.below(protocols.len() as u64) as usize];
                network.connect(a, b, protocol);
                dialled += 1;
            }
        }
        network
    }

    /// `n` routers with no links, publishing anonymously (StrictNoSign).
    pub fn empty(n: usize, seed: u64, config: &Config) -> Network {
        Network::with_publishers(n, seed, config, |_| Publisher::anonymous())
    }

    /// `n` routers with no links, each signing with its own Ed25519 key (StrictSign).
    pub fn empty_signed(n: usize, seed: u64, config: &Config) -> Network {
        Network::with_publishers(n, seed, config, |node| {
            let secret = [u8::try_from(node + 1).expect("few nodes"); 32];
            Publisher::signing(Keypair::ed25519_from_secret(&secret), 1)
        })
    }

    fn with_publishers(
        n: usize,
        seed: u64,
        config: &Config,
        publisher: impl Fn(usize) -> Publisher,
    ) -> Network {
        let routers = (0..n)
            .map(|i| {
                Router::new(config.clone(), publisher(i), seed ^ (i as u64 + 1))
                    .expect("valid config")
            })
            .collect();
        Network {
            routers,
            now: Instant::now(),
            links: BTreeSet::new(),
            delivered: vec![Vec::new(); n],
            trace: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// Links `dialer` to `listener` with `protocol` on both sides.
    pub fn connect(&mut self, dialer: u32, listener: u32, protocol: Protocol) {
        self.links
            .insert((dialer.min(listener), dialer.max(listener)));
        self.routers[dialer as usize].add_peer(listener, protocol, Direction::Outbound);
        self.routers[listener as usize].add_peer(dialer, protocol, Direction::Inbound);
    }

    /// Every router joins `topic`.
    pub fn join_all(&mut self, topic: &str) {
        let now = self.now;
        for router in &mut self.routers {
            router.join(topic, now);
        }
        self.settle();
    }

    /// Delivers RPCs, through the codec, until no router has anything to send.
    pub fn settle(&mut self) {
        loop {
            let mut batch = Vec::new();
            for (from, router) in self.routers.iter_mut().enumerate() {
                while let Some((to, rpc)) = router.poll_outbound() {
                    batch.push((from as u32, to, rpc));
                }
            }
            if batch.is_empty() {
                break;
            }
            for (from, to, rpc) in batch {
                let frame = encode_frame(&rpc, &self.limits).expect("encodable");
                let (decoded, _) = decode_frame(&frame, &self.limits)
                    .expect("decodable")
                    .expect("whole frame");
                assert_eq!(
                    decoded.rpc, rpc,
                    "the codec round-trips what the router sends"
                );
                self.trace.push((from, to, frame));
                let now = self.now;
                self.routers[to as usize].handle_rpc(&from, decoded.rpc, now);
            }
            self.collect_events();
        }
    }

    fn collect_events(&mut self) {
        for (node, router) in self.routers.iter_mut().enumerate() {
            while let Some(event) = router.poll_event() {
                if let Event::Message { id, .. } = event {
                    self.delivered[node].push(id);
                }
            }
        }
    }

    /// Advances time by one heartbeat interval, runs every heartbeat and settles.
    pub fn heartbeat(&mut self) {
        self.now += Duration::from_secs(1);
        let now = self.now;
        for router in &mut self.routers {
            router.heartbeat(now);
        }
        self.settle();
    }

    /// `node` publishes `data` to `topic` and the network settles.
    pub fn publish(&mut self, node: u32, topic: &str, data: Vec<u8>) -> MessageId {
        let now = self.now;
        let id = self.routers[node as usize]
            .publish(topic, data, now)
            .expect("published");
        self.settle();
        id
    }
}
