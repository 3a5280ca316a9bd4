use hyphae_core::resources::ResourceManager;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};

use hyphae_identity::Keypair;
use hyphae_multiaddr::Multiaddr;
use hyphae_service::{ConnectionHub, Context, Host, Service};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::inbound_gate::InboundGate;
use crate::node::{Inner, Services};
use crate::pending::PendingHandshakes;
use crate::upgrade::Upgrader;
use crate::{Error, Limits, Multiplexer, Node, Security, identify, ping};

/// Starts one service and returns its handle, type-erased.
type StartService = Box<dyn FnOnce(Context) -> Box<dyn Any + Send + Sync> + Send>;

/// Configures and starts a [`Node`].
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
    /// In installation order; one per service type.
    services: Vec<(TypeId, &'static str, StartService)>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services: Vec<_> = self.services.iter().map(|(_, name, _)| name).collect();
        f.debug_struct("Builder")
            .field("listen", &self.listen)
            .field("limits", &self.limits)
            .field("security", &self.security)
            .field("muxers", &self.muxers)
            .field("services", &services)
            .finish_non_exhaustive()
    }
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
            services: Vec::new(),
        }
        .service(ping::Ping::default())
        .service(identify::Identify::default())
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

    /// Installs `service`, replacing an earlier service of the same type (such as the
    /// default ping or identify service): see [`Service`]. Reach it once started with
    /// [`Node::service`].
    pub fn service<S: Service>(mut self, service: S) -> Builder {
        let start: StartService = Box::new(move |cx| Box::new(service.start(cx)));
        let id = TypeId::of::<S>();
        let name = std::any::type_name::<S>();
        match self
            .services
            .iter_mut()
            .find(|(installed, ..)| *installed == id)
        {
            Some(slot) => *slot = (id, name, start),
            None => self.services.push((id, name, start)),
        }
        self
    }

    /// Leaves out the service of type `S`, e.g. `without_service::<hyphae::ping::Ping>()`
    /// for a node that neither answers nor sends pings.
    pub fn without_service<S: Service>(mut self) -> Builder {
        self.services.retain(|(id, ..)| *id != TypeId::of::<S>());
        self
    }

    /// Starts the node: starts its services, then binds the listen addresses.
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
            // One static Noise key for the node, signed once, as one TLS certificate serves
            // every TLS and QUIC connection.
            noise: hyphae_noise::Config::default()
                .with_muxers(muxer_ids.clone())
                .with_static_key(hyphae_noise::StaticKey::generate(&keypair)?)
                .with_signature_cache(hyphae_noise::SignatureCache::default()),
            tls: tls.clone().with_muxers(muxer_ids),
            muxers: self.muxers,
            yamux,
            mplex,
        };
        let resources = ResourceManager::new(self.limits.resources.clone());
        quic.set_memory(resources.clone());
        let inner = Arc::new(Inner {
            peer_id: keypair.peer_id(),
            keypair,
            upgrader,
            pending: PendingHandshakes::new(
                self.limits.max_pending_inbound,
                self.limits.max_pending_inbound_per_ip,
            ),
            gate: InboundGate::new(&self.limits),
            limits: self.limits,
            tcp: self.tcp,
            dns: self.dns.unwrap_or_else(hyphae_dns::Resolver::from_system),
            websocket: self.websocket,
            quic,
            is_accepting_quic: AtomicBool::new(false),
            router: Default::default(),
            pool: Default::default(),
            peerstore: Default::default(),
            tags: Default::default(),
            metrics: Default::default(),
            resources,
            events: broadcast::channel(crate::node::EVENT_BUFFER).0,
            connection_hub: ConnectionHub::default(),
            local_changes: watch::channel(()).0,
            listen_addrs: RwLock::new(Vec::new()),
            listeners: Mutex::new(Vec::new()),
            services: OnceLock::new(),
            shutdown: CancellationToken::new(),
        });
        let host: Weak<dyn Host> = Arc::downgrade(&inner) as Weak<dyn Host>;
        let cx = Context::new(
            host,
            Arc::new(inner.keypair.clone()),
            Arc::clone(&inner.peerstore),
            Arc::clone(&inner.tags),
            inner.resources.clone(),
            inner.shutdown.clone(),
        );
        let services: Services = self
            .services
            .into_iter()
            .map(|(id, name, start)| (id, start(cx.clone().for_service(&service_name(name)))))
            .collect::<HashMap<_, _>>();
        let _ = inner.services.set(services);
        let node = Node::from_inner(inner);
        for addr in &self.listen {
            node.listen(addr).await?;
        }
        Ok(node)
    }
}

/// A service's name for its resource scope, from its type's: `hyphae_kad::Kademlia` is
/// `kademlia`.
fn service_name(type_name: &str) -> String {
    let path = type_name.split('<').next().unwrap_or(type_name);
    let last = path.rsplit("::").next().unwrap_or(path);
    last.to_ascii_lowercase()
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
