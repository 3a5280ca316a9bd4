use hyphae_multiaddr::Multiaddr;
use tokio::net::TcpStream;

use crate::address::dial_target;
use crate::config::configure;
use crate::{Config, Error, resolve};

/// Connects to a TCP multiaddr, resolving `/dns*` names first.
///
/// Resolved addresses are tried in order until one connects; the whole dial, resolution
/// included, is bounded by [`Config::dial_timeout`]. A trailing `/p2p/<id>` is ignored here:
/// checking the peer's identity is the security upgrade's job.
pub async fn dial(addr: &Multiaddr, config: &Config) -> Result<TcpStream, Error> {
    let attempt = async {
        let (host, port) = dial_target(addr)?;
        let mut last_error = None;
        for candidate in resolve(&host, port).await? {
            match TcpStream::connect(candidate).await {
                Ok(stream) => {
                    configure(&stream, config).map_err(|error| Error::Io {
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
