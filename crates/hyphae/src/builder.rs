use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyphae_identity::Keypair;
use hyphae_multiaddr::Multiaddr;
use tokio::sync::{Semaphore, broadcast};

use crate::node::Inner;
use crate::router::Handler;
use crate::upgrade::Upgrader;
use crate::{Error, Limits, Node, identify, ping};

/// The agent version sent in identify unless the builder sets another.
pub const DEFAULT_AGENT_VERSION: &str = concat!("hyphae/", env!("CARGO_PKG_VERSION"));
/// The protocol family sent in identify unless the builder sets another (the IPFS family,
/// what go, rust and js nodes send by default).
pub const DEFAULT_PROTOCOL_VERSION: &str = "ipfs/0.1.0";
/// Default interval between keepalive pings on each connection.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(15);

/// Configures and starts a [`Node`].
#[derive(Debug)]
pub struct Builder {
    keypair: Option<Keypair>,
    listen: Vec<Multiaddr>,
    limits: Limits,
    tcp: hyphae_tcp::Config,
    yamux: hyphae_yamux::Config,
    agent_version: String,
    protocol_version: String,
    ping_interval: Option<Duration>,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            keypair: None,
            listen: Vec::new(),
            limits: Limits::default(),
            tcp: hyphae_tcp::Config::default(),
            yamux: hyphae_yamux::Config::default(),
            agent_version: DEFAULT_AGENT_VERSION.to_owned(),
            protocol_version: DEFAULT_PROTOCOL_VERSION.to_owned(),
            ping_interval: Some(DEFAULT_PING_INTERVAL),
        }
    }
}

impl Builder {
    /// Uses `keypair` as the node's identity (default: a fresh Ed25519 key).
    pub fn keypair(mut self, keypair: Keypair) -> Builder {
        self.keypair = Some(keypair);
        self
    }

    /// Listens on `addr` once started; may be called several times.
    pub fn listen(mut self, addr: Multiaddr) -> Builder {
        self.listen.push(addr);
        self
    }

    /// Sets the resource limits.
    pub fn limits(mut self, limits: Limits) -> Builder {
        self.limits = limits;
        self
    }

    /// Sets the TCP transport options.
    pub fn tcp(mut self, config: hyphae_tcp::Config) -> Builder {
        self.tcp = config;
        self
    }

    /// Sets the agent version sent in identify.
    pub fn agent_version(mut self, agent_version: impl Into<String>) -> Builder {
        self.agent_version = agent_version.into();
        self
    }

    /// Sets the protocol version sent in identify.
    pub fn protocol_version(mut self, protocol_version: impl Into<String>) -> Builder {
        self.protocol_version = protocol_version.into();
        self
    }

    /// Sets how often each connection is pinged; `None` disables keepalive pings (the ping
    /// protocol is still served).
    pub fn ping_interval(mut self, interval: Option<Duration>) -> Builder {
        self.ping_interval = interval;
        self
    }

    /// Starts the node: binds the listen addresses and begins serving ping and identify.
    pub async fn start(self) -> Result<Node, Error> {
        let keypair = self.keypair.unwrap_or_else(Keypair::generate_ed25519);
        let mut yamux = self.yamux;
        yamux.max_streams = self.limits.max_streams_per_connection;
        let muxers = vec![hyphae_yamux::PROTOCOL_ID.to_owned()];
        let upgrader = Upgrader {
            keypair: keypair.clone(),
            noise: hyphae_noise::Config::default().with_muxers(muxers.clone()),
            yamux,
            muxers,
        };
        let inner = Arc::new(Inner {
            peer_id: keypair.peer_id(),
            keypair,
            upgrader,
            pending_inbound: Arc::new(Semaphore::new(self.limits.max_pending_inbound)),
            limits: self.limits,
            tcp: self.tcp,
            router: Default::default(),
            pool: Default::default(),
            peerstore: Default::default(),
            events: broadcast::channel(crate::node::EVENT_BUFFER).0,
            listen_addrs: RwLock::new(Vec::new()),
            listeners: Mutex::new(Vec::new()),
            agent_version: self.agent_version,
            protocol_version: self.protocol_version,
            ping_interval: self.ping_interval,
            inbound_pings: Mutex::default(),
            is_shut_down: AtomicBool::new(false),
        });
        let node = Node::from_inner(inner);
        install_builtin(&node);
        for addr in &self.listen {
            node.listen(addr).await?;
        }
        Ok(node)
    }
}

/// Registers the protocols every node serves: ping, identify, identify push.
fn install_builtin(node: &Node) {
    let weak = node.weak();
    let handler: Handler = Arc::new(move |stream| Box::pin(ping::serve(stream, weak.clone())));
    node.inner.router.insert(ping::PROTOCOL.to_owned(), handler);
    let weak = node.weak();
    let handler: Handler = Arc::new(move |stream| Box::pin(identify::serve(stream, weak.clone())));
    node.inner
        .router
        .insert(identify::PROTOCOL.to_owned(), handler);
    let weak = node.weak();
    let handler: Handler =
        Arc::new(move |stream| Box::pin(identify::serve_push(stream, weak.clone())));
    node.inner
        .router
        .insert(identify::PUSH_PROTOCOL.to_owned(), handler);
}
