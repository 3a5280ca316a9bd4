use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyphae_multiaddr::Multiaddr;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};
use tokio::task::{AbortHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::address::listen_target;
use crate::{Config, Error, Socket, WsStream, upgrade_server};

/// What the accept task hands to [`Listener::accept`].
type Accepted = Result<(WsStream<Socket>, Multiaddr), Error>;

/// Pause after a failed TCP accept: errors such as "too many open files" would otherwise
/// repeat at once in a busy loop.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(50);

/// A bound WebSocket listener.
///
/// A background task accepts TCP connections and upgrades each in its own task (TLS and
/// HTTP, bounded by [`Config::handshake_timeout`]), so a slow or silent client never holds
/// up the others. At most [`Config::max_pending_upgrades`] connections are in the upgrade or
/// waiting to be taken; beyond that, new TCP connections wait in the kernel's backlog.
/// Dropping the listener stops the task and every upgrade in progress.
#[derive(Debug)]
pub struct Listener {
    tcp: Arc<hyphae_tcp::Listener>,
    suffix: Multiaddr,
    upgraded: Mutex<mpsc::Receiver<Accepted>>,
    task: AbortHandle,
}

impl Listener {
    /// Binds `addr`: `/ip4|ip6/<ip>/tcp/<port>` followed by `/ws`, `/wss` or `/tls/ws`
    /// (port 0 picks a free port). The TLS forms need [`crate::TlsConfig::server`].
    ///
    /// Must be called within a tokio runtime: it starts the accept task there.
    pub fn bind(addr: &Multiaddr, config: &Config) -> Result<Listener, Error> {
        let target = listen_target(addr)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|error| Error::Io {
            action: "starting the accept task",
            error: std::io::Error::other(error),
        })?;
        let acceptor = match (target.is_tls, &config.tls.server) {
            (false, _) => None,
            (true, Some(server)) => Some(TlsAcceptor::from(server.clone())),
            (true, None) => return Err(Error::TlsNotConfigured { addr: addr.clone() }),
        };
        let tcp = Arc::new(hyphae_tcp::Listener::bind(&target.tcp, &config.tcp)?);
        let capacity = config.max_pending_upgrades.max(1);
        // Upgraded connections wait in their (counted) tasks, not in the channel.
        let (sender, receiver) = mpsc::channel(1);
        let task = runtime.spawn(accept_loop(
            tcp.clone(),
            acceptor,
            Arc::new(config.clone()),
            target.suffix.clone(),
            sender,
            capacity,
        ));
        Ok(Listener {
            tcp,
            suffix: target.suffix,
            upgraded: Mutex::new(receiver),
            task: task.abort_handle(),
        })
    }

    /// The bound TCP socket address, with the real port if 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.tcp.local_addr()
    }

    /// The addresses peers can dial: hyphae-tcp's listening addresses, each followed by the
    /// WebSocket suffix this listener was bound with (`/ws`, `/wss` or `/tls/ws`).
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.tcp
            .listen_addrs()
            .into_iter()
            .map(|mut addr| {
                addr.extend(self.suffix.iter());
                addr
            })
            .collect()
    }

    /// Waits for the next upgraded connection; returns it with the peer's address (its TCP
    /// address followed by this listener's suffix).
    ///
    /// An error concerns one connection (a failed TCP accept, TLS handshake or upgrade,
    /// already answered with an HTTP error status where possible); the listener goes on
    /// accepting.
    pub async fn accept(&self) -> Result<(WsStream<Socket>, Multiaddr), Error> {
        let mut upgraded = self.upgraded.lock().await;
        upgraded.recv().await.unwrap_or(Err(Error::ListenerClosed))
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    tcp: Arc<hyphae_tcp::Listener>,
    acceptor: Option<TlsAcceptor>,
    config: Arc<Config>,
    suffix: Multiaddr,
    sender: mpsc::Sender<Accepted>,
    capacity: usize,
) {
    // Dropped (and so aborted) with this task when the listener goes.
    let mut upgrades = JoinSet::new();
    loop {
        tokio::select! {
            accepted = tcp.accept(), if upgrades.len() < capacity => match accepted {
                Ok((stream, mut remote)) => {
                    remote.extend(suffix.iter());
                    let upgrade = upgrade(stream, acceptor.clone(), config.clone());
                    let sender = sender.clone();
                    upgrades.spawn(async move {
                        let result = upgrade.await;
                        if let Err(error) = &result {
                            tracing::debug!(%remote, %error, "inbound WebSocket upgrade failed");
                        }
                        let _ = sender.send(result.map(|stream| (stream, remote))).await;
                    });
                }
                Err(error) => {
                    if sender.send(Err(error.into())).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                }
            },
            Some(_) = upgrades.join_next(), if !upgrades.is_empty() => {}
        }
        if sender.is_closed() {
            return;
        }
    }
}

async fn upgrade(
    tcp: TcpStream,
    acceptor: Option<TlsAcceptor>,
    config: Arc<Config>,
) -> Result<WsStream<Socket>, Error> {
    let upgrade = async {
        let socket = match acceptor {
            None => Socket::Plain(tcp),
            Some(acceptor) => {
                let tls = acceptor.accept(tcp).await.map_err(Error::Tls)?;
                Socket::Tls(Box::new(tls.into()))
            }
        };
        let (stream, _request) = upgrade_server(socket, &config).await?;
        Ok(stream)
    };
    tokio::time::timeout(config.handshake_timeout, upgrade)
        .await
        .map_err(|_| Error::HandshakeTimeout {
            seconds: config.handshake_timeout.as_secs_f64(),
        })?
}
