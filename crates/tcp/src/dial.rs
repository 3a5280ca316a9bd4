use std::net::SocketAddr;

use hyphae_multiaddr::Multiaddr;
use tokio::net::TcpStream;

use crate::address::{Host, dial_target};
use crate::{Config, Error};

/// Connects to a TCP multiaddr, resolving `/dns*` names first.
///
/// Resolved addresses are tried in order until one connects; the whole dial, resolution
/// included, is bounded by [`Config::dial_timeout`]. A trailing `/p2p/<id>` is ignored here:
/// checking the peer's identity is the security upgrade's job.
pub async fn dial(addr: &Multiaddr, config: &Config) -> Result<TcpStream, Error> {
    let attempt = async {
        let candidates = resolve(addr).await?;
        let mut last_error = None;
        for candidate in candidates {
            match TcpStream::connect(candidate).await {
                Ok(stream) => {
                    stream
                        .set_nodelay(config.nodelay)
                        .map_err(|error| Error::Io {
                            action: "configuring",
                            addr: addr.clone(),
                            error,
                        })?;
                    return Ok(stream);
                }
                Err(error) => {
                    tracing::debug!(%addr, %candidate, %error, "TCP connect failed");
                    last_error = Some(error);
                }
            }
        }
        Err(Error::Io {
            action: "connecting to",
            addr: addr.clone(),
            error: last_error.unwrap_or_else(|| std::io::ErrorKind::NotFound.into()),
        })
    };
    tokio::time::timeout(config.dial_timeout, attempt)
        .await
        .map_err(|_| Error::DialTimeout {
            addr: addr.clone(),
            seconds: config.dial_timeout.as_secs_f64(),
        })?
}

/// The socket addresses to try for `addr`.
async fn resolve(addr: &Multiaddr) -> Result<Vec<SocketAddr>, Error> {
    let (host, port) = dial_target(addr)?;
    let (name, family) = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(ip, port)]),
        Host::Dns { name, family } => (name, family),
    };
    let resolved = tokio::net::lookup_host((name.as_ref(), port))
        .await
        .map_err(|error| Error::Resolve {
            host: name.to_string(),
            error,
        })?;
    let candidates: Vec<SocketAddr> = resolved
        .filter(|candidate| family.admits(&candidate.ip()))
        .collect();
    if candidates.is_empty() {
        return Err(Error::NoAddresses {
            host: name.to_string(),
            family: family.name(),
        });
    }
    Ok(candidates)
}
