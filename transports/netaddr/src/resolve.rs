//! Turning the host of a dial address into socket addresses, with the operating system's
//! resolver.

use std::io;
use std::net::SocketAddr;

use hyphae_multiaddr::host::{Family, Host};

/// Why [`resolve`] found no address to dial.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The operating system's resolver failed.
    #[error("resolving {host}: {error}")]
    Lookup {
        /// The name being resolved.
        host: String,
        /// The resolver's error.
        error: io::Error,
    },
    /// The name resolved to no address of the family the multiaddr asks for.
    #[error("{host} has no {family} address")]
    NoAddresses {
        /// The name resolved.
        host: String,
        /// The family `/dns`, `/dns4` or `/dns6` asked for.
        family: Family,
    },
}

/// The socket addresses to try for `host` and `port`, in the resolver's order.
///
/// An IP address is used as it is. A `/dns*` name is resolved by the operating system
/// (`getaddrinfo`: hosts file, then DNS), keeping only the family its component asks for
/// (`/dns4` IPv4, `/dns6` IPv6).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), hyphae_netaddr::ResolveError> {
/// use hyphae_multiaddr::host::{Family, Host};
///
/// let host = Host::Dns { name: "127.0.0.1".into(), family: Family::V4 };
/// assert_eq!(hyphae_netaddr::resolve(&host, 4001).await?, ["127.0.0.1:4001".parse().unwrap()]);
/// # Ok(()) }
/// ```
pub async fn resolve(host: &Host<'_>, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
    let (name, family) = match host {
        Host::Ip(ip) => return Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Dns { name, family } => (name.as_ref(), *family),
    };
    let resolved = tokio::net::lookup_host((name, port))
        .await
        .map_err(|error| ResolveError::Lookup {
            host: name.to_owned(),
            error,
        })?;
    let candidates: Vec<SocketAddr> = resolved
        .filter(|candidate| family.admits(candidate.ip()))
        .collect();
    if candidates.is_empty() {
        return Err(ResolveError::NoAddresses {
            host: name.to_owned(),
            family,
        });
    }
    Ok(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(name: &str, family: Family) -> Host<'_> {
        Host::Dns {
            name: name.into(),
            family,
        }
    }

    #[tokio::test]
    async fn uses_an_ip_address_as_it_is() {
        let ip = "2001:db8::1".parse().unwrap();
        let resolved = resolve(&Host::Ip(ip), 9).await.unwrap();
        assert_eq!(resolved, [SocketAddr::new(ip, 9)]);
    }

    #[tokio::test]
    async fn resolves_names_keeping_the_port() {
        let resolved = resolve(&dns("localhost", Family::V4), 4001).await.unwrap();
        assert!(
            resolved.contains(&"127.0.0.1:4001".parse().unwrap()),
            "{resolved:?}"
        );
        assert!(resolved.iter().all(SocketAddr::is_ipv4), "{resolved:?}");
    }

    #[tokio::test]
    async fn drops_addresses_of_the_other_family() {
        // A numeric name resolves without asking any server.
        let error = resolve(&dns("127.0.0.1", Family::V6), 1).await.unwrap_err();
        assert!(
            matches!(&error, ResolveError::NoAddresses { host, family: Family::V6 } if host == "127.0.0.1"),
            "{error:?}"
        );
        assert_eq!(error.to_string(), "127.0.0.1 has no IPv6 address");
        let error = resolve(&dns("::1", Family::V4), 1).await.unwrap_err();
        assert_eq!(error.to_string(), "::1 has no IPv4 address");
    }
}
