use std::net::SocketAddr;

use hyphae_multiaddr::Multiaddr;
use socket2::{Domain, Socket, Type};
use tokio::net::{TcpListener, TcpStream};

use crate::address::{listen_target, socket_multiaddr};
use crate::config::configure;
use crate::{Config, Error, expand_unspecified};

/// A bound TCP listener.
#[derive(Debug)]
pub struct Listener {
    inner: TcpListener,
    local_addr: SocketAddr,
    config: Config,
}

impl Listener {
    /// Binds `addr` (`/ip4|ip6/<ip>/tcp/<port>`; port 0 picks a free port).
    pub fn bind(addr: &Multiaddr, config: &Config) -> Result<Listener, Error> {
        let target = listen_target(addr)?;
        let io_error = |action| {
            move |error| Error::Io {
                action,
                addr: addr.clone(),
                error,
            }
        };
        let socket = Socket::new(Domain::for_address(target), Type::STREAM, None)
            .map_err(io_error("creating a socket for"))?;
        if target.is_ipv6() {
            socket.set_only_v6(true).map_err(io_error("configuring"))?;
        }
        socket
            .set_reuse_address(true)
            .map_err(io_error("configuring"))?;
        socket
            .set_nonblocking(true)
            .map_err(io_error("configuring"))?;
        socket.bind(&target.into()).map_err(io_error("binding"))?;
        socket
            .listen(config.listen_backlog.try_into().unwrap_or(i32::MAX))
            .map_err(io_error("listening on"))?;
        let inner = TcpListener::from_std(socket.into()).map_err(io_error("listening on"))?;
        let local_addr = inner.local_addr().map_err(io_error("listening on"))?;
        Ok(Listener {
            inner,
            local_addr,
            config: config.clone(),
        })
    }

    /// The bound socket address, with the real port if 0 was asked for.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The addresses peers can dial: the bound address, or for an unspecified IP (`0.0.0.0`,
    /// `::`) the address of every interface of that family.
    pub fn listen_addrs(&self) -> Vec<Multiaddr> {
        expand_unspecified(self.local_addr)
            .into_iter()
            .map(socket_multiaddr)
            .collect()
    }

    /// Waits for the next connection; returns it with the peer's address.
    pub async fn accept(&self) -> Result<(TcpStream, Multiaddr), Error> {
        let (stream, remote) = self.inner.accept().await.map_err(|error| Error::Io {
            action: "accepting on",
            addr: socket_multiaddr(self.local_addr),
            error,
        })?;
        // A connection we cannot configure is still usable; only log the failure.
        if let Err(error) = configure(&stream, &self.config) {
            tracing::debug!(%remote, %error, "configuring the connection failed");
        }
        Ok((stream, socket_multiaddr(remote)))
    }
}
