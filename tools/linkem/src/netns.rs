//! Network namespaces and addresses, through the `ip` and `sysctl` commands run inside them.
//!
//! Names are `<prefix>-<id>-a` / `<prefix>-<id>-b` for namespaces and `<prefix><id>a` /
//! `<prefix><id>b` for the TUN interfaces. A link id is claimed by creating its namespace:
//! `ip netns add` fails when the name exists, so parallel runs never share an id.

use std::net::Ipv4Addr;
use std::process::Command;

use crate::Error;

/// How many links can exist at once per prefix: one /24 each in 198.18.0.0/15.
pub const MAX_LINKS: u16 = 512;

/// Runs `ip` with `args`, turning a non-zero exit into [`Error::Command`].
pub(crate) fn ip(args: &[&str]) -> Result<(), Error> {
    run("ip", args)
}

/// Runs `program args` and turns a non-zero exit into [`Error::Command`].
fn run(program: &str, args: &[&str]) -> Result<(), Error> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(Error::IpUnavailable)?;
    if output.status.success() {
        return Ok(());
    }
    Err(Error::Command {
        command: format!("{program} {}", args.join(" ")),
        stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
    })
}

/// Checks that a prefix is short enough for interface names (15 bytes) and safe in commands.
pub(crate) fn check_prefix(prefix: &str) -> Result<(), Error> {
    let valid = (1..=8).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidPrefix(prefix.to_owned()))
    }
}

/// The addresses of a link: 198.18.0.0/15 is reserved for benchmarking (RFC 2544), so it does
/// not clash with real networks; each link id gets one /24 of it.
pub(crate) fn addresses(id: u16) -> (Ipv4Addr, Ipv4Addr) {
    let second = 18 + (id / 256) as u8;
    let third = (id % 256) as u8;
    (
        Ipv4Addr::new(198, second, third, 1),
        Ipv4Addr::new(198, second, third, 2),
    )
}

/// The two namespaces of a link, deleted on drop.
#[derive(Debug)]
pub(crate) struct NamespacePair {
    pub(crate) id: u16,
    pub(crate) a: String,
    pub(crate) b: String,
}

impl NamespacePair {
    /// Claims link `id`, or the first free id from a per-process starting point.
    pub(crate) fn claim(prefix: &str, id: Option<u16>) -> Result<Self, Error> {
        if let Some(id) = id {
            if id >= MAX_LINKS {
                return Err(Error::InvalidId(id));
            }
            return Self::try_claim(prefix, id)?.ok_or(Error::IdTaken(prefix.to_owned(), id));
        }
        // Start where parallel test processes are unlikely to collide, then probe upwards.
        let start = (std::process::id() as u16).wrapping_mul(7) % MAX_LINKS;
        for offset in 0..MAX_LINKS {
            let id = (start + offset) % MAX_LINKS;
            if let Some(pair) = Self::try_claim(prefix, id)? {
                return Ok(pair);
            }
        }
        Err(Error::NoFreeId(prefix.to_owned(), MAX_LINKS))
    }

    /// Creates both namespaces of `id`; `None` if either already exists.
    fn try_claim(prefix: &str, id: u16) -> Result<Option<Self>, Error> {
        let a = format!("{prefix}-{id}-a");
        let b = format!("{prefix}-{id}-b");
        match add_namespace(&a)? {
            Added::Yes => {}
            Added::Exists => return Ok(None),
        }
        // From here the pair owns `a`, so every exit path deletes it.
        let mut pair = Self {
            id,
            a,
            b: String::new(),
        };
        match add_namespace(&b)? {
            Added::Yes => pair.b = b,
            // A leftover of a killed run: leave it alone and try another id.
            Added::Exists => return Ok(None),
        }
        Ok(Some(pair))
    }
}

impl Drop for NamespacePair {
    fn drop(&mut self) {
        for name in [&self.a, &self.b] {
            if name.is_empty() {
                continue;
            }
            if let Err(error) = ip(&["netns", "del", name]) {
                tracing::warn!(namespace = %name, %error, "could not delete namespace");
            }
        }
    }
}

enum Added {
    Yes,
    Exists,
}

fn add_namespace(name: &str) -> Result<Added, Error> {
    match ip(&["netns", "add", name]) {
        Ok(()) => Ok(Added::Yes),
        Err(Error::Command { stderr, .. }) if stderr.contains("File exists") => Ok(Added::Exists),
        Err(Error::Command { stderr, .. }) => Err(Error::NamespaceUnavailable(stderr)),
        Err(error) => Err(error),
    }
}

/// Deletes namespaces `<prefix>-<id>-a|b` whose TUN interface is gone: their emulator was
/// killed without tearing down (a TUN interface dies with its last file descriptor). Returns
/// the names deleted. A link being set up right now (between creating its namespaces and
/// moving its devices in, a few milliseconds) looks orphaned too: do not run this while
/// another emulator with the same prefix is starting.
pub fn remove_orphans(prefix: &str) -> Result<Vec<String>, Error> {
    check_prefix(prefix)?;
    let output = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map_err(Error::IpUnavailable)?;
    let listed = String::from_utf8_lossy(&output.stdout);
    let mut removed = Vec::new();
    for name in listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
    {
        let Some(interface) = interface_of(prefix, name) else {
            continue;
        };
        if ip(&["-n", name, "link", "show", "dev", &interface]).is_ok() {
            continue;
        }
        ip(&["netns", "del", name])?;
        removed.push(name.to_owned());
    }
    Ok(removed)
}

/// The interface a namespace named `<prefix>-<id>-<side>` holds, if the name has that shape.
fn interface_of(prefix: &str, namespace: &str) -> Option<String> {
    let rest = namespace.strip_prefix(prefix)?.strip_prefix('-')?;
    let (id, side) = rest.split_once('-')?;
    let is_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    (is_id && (side == "a" || side == "b")).then(|| format!("{prefix}{id}{side}"))
}

/// Moves interface `name` into namespace `ns`, gives it `addr/24` and brings it up.
pub(crate) fn configure_interface(ns: &str, name: &str, addr: Ipv4Addr) -> Result<(), Error> {
    ip(&["link", "set", "dev", name, "netns", ns])?;
    ip(&["-n", ns, "link", "set", "dev", "lo", "up"])?;
    ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", name])?;
    ip(&["-n", ns, "link", "set", "dev", name, "up"])
}

/// Raises the TCP autotuning maxima inside namespace `ns` (these sysctls are per namespace),
/// so one stream can fill a long fat link.
pub(crate) fn set_tcp_buffer_max(ns: &str, max: usize) -> Result<(), Error> {
    let rmem = format!("net.ipv4.tcp_rmem=4096 131072 {max}");
    let wmem = format!("net.ipv4.tcp_wmem=4096 16384 {max}");
    run(
        "ip",
        &["netns", "exec", ns, "sysctl", "-q", "-w", &rmem, &wmem],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_in_the_benchmark_range_and_differ_per_id() {
        let mut seen = std::collections::HashSet::new();
        for id in 0..MAX_LINKS {
            let (a, b) = addresses(id);
            for addr in [a, b] {
                let [first, second, ..] = addr.octets();
                assert_eq!(first, 198);
                assert!(second == 18 || second == 19);
            }
            assert!(seen.insert(a));
        }
    }

    #[test]
    fn recognises_only_its_own_namespace_names() {
        assert_eq!(interface_of("lk", "lk-12-a").as_deref(), Some("lk12a"));
        assert_eq!(interface_of("lk", "lk-0-b").as_deref(), Some("lk0b"));
        assert_eq!(interface_of("lk", "lkx-12-a"), None);
        assert_eq!(interface_of("lk", "lk-12-c"), None);
        assert_eq!(interface_of("lk", "lk--a"), None);
        assert_eq!(interface_of("lk", "lk-1x-a"), None);
        assert_eq!(interface_of("lk", "other"), None);
    }

    #[test]
    fn rejects_prefixes_unfit_for_interface_names() {
        assert!(check_prefix("lk").is_ok());
        assert!(check_prefix("bench01").is_ok());
        assert!(check_prefix("").is_err());
        assert!(check_prefix("toolongname").is_err());
        assert!(check_prefix("lk;rm").is_err());
        assert!(check_prefix("LK").is_err());
    }
}
