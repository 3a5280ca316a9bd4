//! `/dnsaddr` resolution: `/dnsaddr/<domain>` names the multiaddrs in the TXT records of
//! `_dnsaddr.<domain>`.
//!
//! Spec: `addressing/README.md` ("dnsaddr Links") in libp2p/specs and `protocols/DNSADDR.md`
//! in multiformats/multiaddr. Each TXT record `dnsaddr=<multiaddr>` is a candidate.
//! Components after `/dnsaddr/<domain>` (usually `/p2p/<id>`) filter the candidates: only
//! those ending with the same components are kept, so `/dnsaddr/d/p2p/Qm…` yields only
//! Qm…'s addresses. Candidates that are `/dnsaddr` addresses themselves are resolved in
//! turn. `/dns`, `/dns4` and `/dns6` candidates are returned as they are: the transports
//! resolve those.
//!
//! A zone can chain and fan out records, so the walk is bounded: [`MAX_DEPTH`] levels,
//! [`MAX_LOOKUPS`] TXT queries and [`MAX_RESULTS`] addresses. What lies past a bound is
//! dropped; when that leaves no address at all the result is [`Error::RecursionLimit`].

use std::borrow::Cow;

use hyphae_multiaddr::{Multiaddr, Protocol};
use tracing::debug;

use crate::{Error, Resolver};

/// How many `/dnsaddr` levels are followed: the address given is level 1, a `/dnsaddr`
/// candidate found at level 4 is not looked up.
pub const MAX_DEPTH: usize = 4;
/// Most TXT lookups made for one address, over all levels.
pub const MAX_LOOKUPS: usize = 32;
/// Most addresses returned; the rest are dropped.
pub const MAX_RESULTS: usize = 32;
/// The prefix that marks a TXT record as a dnsaddr entry.
const ENTRY_PREFIX: &str = "dnsaddr=";
/// The label put before the domain for the TXT lookup.
const LABEL: &str = "_dnsaddr.";

/// Resolves a `/dnsaddr/<domain>[/…]` address into the addresses its TXT records name,
/// following nested `/dnsaddr` records, without duplicates, in record order (a record
/// set's direct entries before those its nested `/dnsaddr` entries lead to).
///
/// An empty list means the domain has no matching entry (or does not exist). Errors of
/// nested lookups only drop their branch; when nothing resolved, the first error met is
/// returned, else [`Error::RecursionLimit`] if a bound cut the walk short.
///
/// Lookups run one after another, each bounded by the resolver's timeouts; wrap the call
/// in `tokio::time::timeout` for one overall deadline.
///
/// ```no_run
/// # async fn example() -> Result<(), hyphae_dns::Error> {
/// use hyphae_dns::{Resolver, resolve_dnsaddr};
///
/// let resolver = Resolver::from_system();
/// let addr = "/dnsaddr/bootstrap.libp2p.io".parse().expect("valid multiaddr");
/// for resolved in resolve_dnsaddr(&resolver, &addr).await? {
///     println!("{resolved}");
/// }
/// # Ok(())
/// # }
/// ```
pub async fn resolve_dnsaddr(
    resolver: &Resolver,
    addr: &Multiaddr,
) -> Result<Vec<Multiaddr>, Error> {
    let Some((_, suffix)) = split(addr) else {
        return Err(Error::NotDnsaddr { addr: addr.clone() });
    };
    let mut results: Vec<Multiaddr> = Vec::new();
    let mut lookups = 0;
    let mut first_error = None;
    let mut is_cut_short = false;
    // Depth first, so results keep the order of the records. Bounded: every entry came
    // from a lookup, and lookups are bounded.
    let mut pending = vec![(addr.clone(), 1)];
    while let Some((current, depth)) = pending.pop() {
        if results.len() >= MAX_RESULTS {
            is_cut_short = true;
            break;
        }
        if lookups >= MAX_LOOKUPS {
            debug!(%addr, "dnsaddr lookup limit reached");
            is_cut_short = true;
            break;
        }
        let Some((domain, current_suffix)) = split(&current) else {
            continue;
        };
        lookups += 1;
        let records = match resolver.txt(&format!("{LABEL}{domain}")).await {
            Ok(records) => records,
            Err(error) => {
                debug!(%current, %error, "dnsaddr lookup failed");
                first_error.get_or_insert(error);
                continue;
            }
        };
        let mut nested = Vec::new();
        for candidate in records.iter().filter_map(|record| parse_entry(record)) {
            if candidate.is_empty()
                || !candidate.ends_with(&current_suffix)
                || !candidate.ends_with(&suffix)
            {
                continue;
            }
            if split(&candidate).is_some() {
                if depth >= MAX_DEPTH {
                    debug!(%candidate, "dnsaddr nesting limit reached");
                    is_cut_short = true;
                } else {
                    nested.push((candidate, depth + 1));
                }
            } else if !results.contains(&candidate) {
                if results.len() < MAX_RESULTS {
                    results.push(candidate);
                } else {
                    is_cut_short = true;
                }
            }
        }
        pending.extend(nested.into_iter().rev());
    }
    if is_cut_short {
        debug!(%addr, results = results.len(), "dnsaddr resolution cut short by a limit");
    }
    match (results.is_empty(), first_error) {
        (true, Some(error)) => Err(error),
        (true, None) if is_cut_short => Err(Error::RecursionLimit),
        _ => Ok(results),
    }
}

/// The domain of a `/dnsaddr/<domain>/…` address and the components after it.
fn split(addr: &Multiaddr) -> Option<(Cow<'_, str>, Multiaddr)> {
    let mut components = addr.iter();
    let Some(Protocol::Dnsaddr(domain)) = components.next() else {
        return None;
    };
    Some((domain, components.collect()))
}

/// The multiaddr of a `dnsaddr=<multiaddr>` TXT record; `None` for other records and
/// entries that do not parse.
fn parse_entry(record: &str) -> Option<Multiaddr> {
    let text = record.strip_prefix(ENTRY_PREFIX)?;
    match text.parse() {
        Ok(addr) => Some(addr),
        Err(error) => {
            debug!(record, %error, "skipping dnsaddr entry that is not a multiaddr");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_domain_and_suffix() {
        let addr: Multiaddr = "/dnsaddr/example.com/tcp/1".parse().unwrap();
        let (domain, suffix) = split(&addr).unwrap();
        assert_eq!(domain, "example.com");
        assert_eq!(suffix, "/tcp/1".parse().unwrap());
        assert!(split(&"/dns4/example.com/tcp/1".parse().unwrap()).is_none());
        assert!(split(&Multiaddr::empty()).is_none());
    }

    #[test]
    fn parses_only_dnsaddr_entries() {
        assert_eq!(
            parse_entry("dnsaddr=/ip4/1.2.3.4/tcp/1"),
            Some("/ip4/1.2.3.4/tcp/1".parse().unwrap())
        );
        assert_eq!(parse_entry("v=spf1 -all"), None);
        assert_eq!(parse_entry("dnsaddr=/not/a/multiaddr"), None);
        assert_eq!(parse_entry("dnsaddr="), Some(Multiaddr::empty()));
    }
}
