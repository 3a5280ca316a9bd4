use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hyphae_identity::Keypair;
use hyphae_multiaddr::Multiaddr;
use tokio::sync::{Semaphore, broadcast};

use crate::node::Inner;
use crate::router::Handler;
use crate::upgrade::Upgrader;
use crate::{Error, Limits, Multiplexer, Node, Security, identify, ping};

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
    dns: Option<hyphae_dns::Resolver>,
    websocket: hyphae_websocket::Config,
    quic: hyphae_quic::Config,
    yamux: hyphae_yamux::Config,
    mplex: hyphae_mplex::Config,
    security: Vec<Security>,
    muxers: Vec<Multiplexer>,
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
            dns: None,
            websocket: hyphae_websocket::Config::default(),
            quic: hyphae_quic::Config::default(),
            yamux: hyphae_yamux::Config::default(),
            mplex: hyphae_mplex::Config::default(),
            security: Security::ALL.to_vec(),
            muxers: Multiplexer::ALL.to_vec(),
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

    /// Sets the WebSocket transport options, among them the certificate a `/wss` listener
    /// presents and the roots a `/wss` dial trusts.
    pub fn websocket(mut self, config: hyphae_websocket::Config) -> Builder {
        self.websocket = config;
        self
    }

    /// Sets the QUIC transport options (its stream, pending-handshake and handshake-time
    /// limits come from [`Limits`]).
    pub fn quic(mut self, config: hyphae_quic::Config) -> Builder {
        self.quic = config;
        self
    }

    /// Sets the resolver for `/dnsaddr` addresses (default: the nameservers of
    /// `/etc/resolv.conf`).
    pub fn dns_resolver(mut self, resolver: hyphae_dns::Resolver) -> Builder {
        self.dns = Some(resolver);
        self
    }

    /// Sets the Yamux options (its stream limit comes from [`Limits`]).
    pub fn yamux(mut self, config: hyphae_yamux::Config) -> Builder {
        self.yamux = config;
        self
    }

    /// Sets the mplex options (its stream limit comes from [`Limits`]).
    pub fn mplex(mut self, config: hyphae_mplex::Config) -> Builder {
        self.mplex = config;
        self
    }

    /// Restricts the security protocols of TCP and WebSocket connections to `security`, in
    /// order of preference (default: all of [`Security::ALL`]).
    pub fn security(mut self, security: impl IntoIterator<Item = Security>) -> Builder {
        self.security = dedup(security);
        self
    }

    /// Restricts the stream multiplexers of TCP and WebSocket connections to `muxers`, in
    /// order of preference (default: all of [`Multiplexer::ALL`], Yamux first).
    pub fn muxers(mut self, muxers: impl IntoIterator<Item = Multiplexer>) -> Builder {
        self.muxers = dedup(muxers);
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
        if self.security.is_empty() {
            return Err(Error::NothingToNegotiate("security protocol"));
        }
        if self.muxers.is_empty() {
            return Err(Error::NothingToNegotiate("stream multiplexer"));
        }
        let keypair = self.keypair.unwrap_or_else(Keypair::generate_ed25519);
        let mut yamux = self.yamux;
        yamux.max_streams = self.limits.max_streams_per_connection;
        let mut mplex = self.mplex;
        mplex.max_streams = self.limits.max_streams_per_connection;
        let mut quic = self.quic;
        quic.max_concurrent_streams =
            u32::try_from(self.limits.max_streams_per_connection).unwrap_or(u32::MAX);
        quic.max_pending_handshakes = self.limits.max_pending_inbound;
        quic.handshake_timeout = self.limits.handshake_timeout;
        // One certificate for TLS over TCP and for QUIC.
        let tls = hyphae_tls::Config::new(&keypair)?;
        let quic = hyphae_quic::Endpoint::with_tls(tls.clone(), quic)?;
        let muxer_ids: Vec<String> = self
            .muxers
            .iter()
            .map(|muxer| muxer.protocol_id().to_owned())
            .collect();
        let upgrader = Upgrader {
            keypair: keypair.clone(),
            security: self.security,
            noise: hyphae_noise::Config::default().with_muxers(muxer_ids.clone()),
            tls: tls.clone().with_muxers(muxer_ids),
            muxers: self.muxers,
            yamux,
            mplex,
        };
        let inner = Arc::new(Inner {
            peer_id: keypair.peer_id(),
            keypair,
            upgrader,
            pending_inbound: Arc::new(Semaphore::new(self.limits.max_pending_inbound)),
            limits: self.limits,
            tcp: self.tcp,
            dns: self.dns.unwrap_or_else(hyphae_dns::Resolver::from_system),
            websocket: self.websocket,
            quic,
            is_accepting_quic: AtomicBool::new(false),
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

/// `items` without repeats, in their first order.
fn dedup<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut unique = Vec::new();
    for item in items {
        if !unique.contains(&item) {
            unique.push(item);
        }
    }
    unique
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
