//! The async driver: sends [`Query`]s over UDP (TCP when truncated) to the nameservers.
//!
//! Spec: RFC 1035 §4.2 (UDP, 512-byte messages; TCP with a two-byte length prefix) and
//! RFC 7766 (falling back to TCP when the UDP answer is truncated).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tracing::debug;

use crate::message::{Query, Reply};
use crate::{Error, resolv_conf};

/// Where [`Resolver::from_system`] reads its nameservers.
const RESOLV_CONF: &str = "/etc/resolv.conf";
/// How long to wait for one answer before retrying, and for a whole TCP exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How many times a UDP query is sent to one nameserver: once, then one retry.
const UDP_ATTEMPTS: usize = 2;
/// The largest DNS message over UDP or TCP (the TCP length prefix is 16 bits). Without
/// EDNS(0) a server sends at most 512 bytes over UDP; the larger buffer only means an
/// oversized datagram is read whole rather than cut.
const MAX_MESSAGE: usize = 65_535;

/// A stub resolver: asks recursive nameservers for TXT records.
///
/// Each nameserver is tried in order: a UDP query, one retry after the timeout, then the
/// next server. A truncated UDP answer is fetched again over TCP from the same server. The
/// first server that answers (records, no records, or NXDOMAIN) decides the result; when
/// none does, the last error is returned.
///
/// ```no_run
/// # async fn example() -> Result<(), hyphae_dns::Error> {
/// let resolver = hyphae_dns::Resolver::from_system();
/// for record in resolver.txt("_dnsaddr.bootstrap.libp2p.io").await? {
///     println!("{record}");
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Resolver {
    nameservers: Vec<SocketAddr>,
    timeout: Duration,
}

impl Resolver {
    /// A resolver using the `nameserver` lines of `/etc/resolv.conf`.
    ///
    /// When the file cannot be read or lists no usable nameserver, it asks `127.0.0.1:53`,
    /// as the resolv.conf(5) default does.
    pub fn from_system() -> Resolver {
        let nameservers = match std::fs::read_to_string(RESOLV_CONF) {
            Ok(text) => resolv_conf::parse(&text),
            Err(error) => {
                debug!(%error, "cannot read {RESOLV_CONF}; using 127.0.0.1:53");
                Vec::new()
            }
        };
        if nameservers.is_empty() {
            let local = SocketAddr::from((Ipv4Addr::LOCALHOST, resolv_conf::DNS_PORT));
            return Resolver::with_nameservers(vec![local]);
        }
        Resolver::with_nameservers(nameservers)
    }

    /// A resolver asking these nameservers, in this order.
    pub fn with_nameservers(nameservers: Vec<SocketAddr>) -> Resolver {
        Resolver {
            nameservers,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// This resolver with another per-attempt timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn with_timeout(mut self, timeout: Duration) -> Resolver {
        self.timeout = timeout;
        self
    }

    /// The nameservers asked, in order.
    pub fn nameservers(&self) -> &[SocketAddr] {
        &self.nameservers
    }

    /// The TXT records of `name`, each record's strings joined into one.
    ///
    /// A name that does not exist (NXDOMAIN) or has no TXT record gives an empty list.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, Error> {
        let mut last_error = Error::NoNameservers;
        for &server in &self.nameservers {
            let query = Query::txt(name, random_id()?)?;
            match self.ask(&query, server).await {
                Ok(records) => return Ok(records),
                Err(error) => {
                    debug!(%server, name, %error, "DNS query failed");
                    last_error = error;
                }
            }
        }
        Err(last_error)
    }

    /// Asks one nameserver: UDP first, TCP when the answer was truncated.
    async fn ask(&self, query: &Query, server: SocketAddr) -> Result<Vec<String>, Error> {
        match self.ask_udp(query, server).await? {
            Reply::Records(records) => Ok(records),
            Reply::Truncated => {
                debug!(%server, "UDP answer truncated; asking over TCP");
                self.ask_tcp(query, server).await
            }
            // `ask_udp` skips unrelated datagrams and never returns one.
            Reply::Unrelated => Err(Error::Malformed {
                reason: "UDP answer does not match the query",
            }),
        }
    }

    /// Sends the query over UDP, again after a timeout, and returns the first answer to
    /// it. Datagrams that answer something else are ignored.
    async fn ask_udp(&self, query: &Query, server: SocketAddr) -> Result<Reply, Error> {
        let io = |action| {
            move |error| Error::Io {
                action,
                server,
                error,
            }
        };
        let local = if server.is_ipv4() {
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
        } else {
            SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
        };
        let socket = UdpSocket::bind(local)
            .await
            .map_err(io("binding a UDP socket for"))?;
        // Connected: the kernel drops datagrams from any other source.
        socket
            .connect(server)
            .await
            .map_err(io("connecting a UDP socket to"))?;
        let message = query.encode();
        let mut buffer = vec![0; MAX_MESSAGE];
        for _ in 0..UDP_ATTEMPTS {
            socket
                .send(&message)
                .await
                .map_err(io("sending a query to"))?;
            let answer = async {
                loop {
                    let length = socket
                        .recv(&mut buffer)
                        .await
                        .map_err(io("receiving an answer from"))?;
                    match query.decode_response(&buffer[..length])? {
                        Reply::Unrelated => continue,
                        reply => return Ok(reply),
                    }
                }
            };
            // A late answer to the first attempt also answers the retry: same id.
            if let Ok(result) = tokio::time::timeout(self.timeout, answer).await {
                return result;
            }
        }
        Err(Error::Timeout { server })
    }

    /// Sends the query over TCP with its two-byte length prefix and reads the answer.
    async fn ask_tcp(&self, query: &Query, server: SocketAddr) -> Result<Vec<String>, Error> {
        let io = |action| {
            move |error| Error::Io {
                action,
                server,
                error,
            }
        };
        let exchange = async {
            let mut stream = TcpStream::connect(server)
                .await
                .map_err(io("connecting over TCP to"))?;
            let message = query.encode();
            // A query holds one name of at most 255 bytes: far below 64 KiB.
            let mut framed = (message.len() as u16).to_be_bytes().to_vec();
            framed.extend(message);
            stream
                .write_all(&framed)
                .await
                .map_err(io("sending a query to"))?;
            let mut length = [0; 2];
            stream
                .read_exact(&mut length)
                .await
                .map_err(io("receiving an answer from"))?;
            let mut answer = vec![0; usize::from(u16::from_be_bytes(length))];
            stream
                .read_exact(&mut answer)
                .await
                .map_err(io("receiving an answer from"))?;
            match query.decode_response(&answer)? {
                Reply::Records(records) => Ok(records),
                Reply::Truncated => Err(Error::Malformed {
                    reason: "answer truncated over TCP",
                }),
                Reply::Unrelated => Err(Error::Malformed {
                    reason: "TCP answer does not match the query",
                }),
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Error::Timeout { server })?
    }
}

/// A random message id (RFC 5452 §4.3: ids must be unpredictable).
fn random_id() -> Result<u16, Error> {
    let mut id = [0; 2];
    getrandom::fill(&mut id).map_err(Error::Random)?;
    Ok(u16::from_be_bytes(id))
}
