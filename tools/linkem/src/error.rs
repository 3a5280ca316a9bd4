use std::io;

/// Why a link could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `/dev/net/tun` is missing or cannot be opened (not root, or no tun module).
    #[error("/dev/net/tun is unavailable ({0}); linkem needs root and the tun driver")]
    TunUnavailable(io::Error),
    /// The `ip` command (iproute2) could not be run.
    #[error("cannot run `ip` (iproute2 is required): {0}")]
    IpUnavailable(io::Error),
    /// Network namespaces cannot be created here (not root, or no namespace support).
    #[error("cannot create network namespaces ({0}); linkem needs root and `ip netns`")]
    NamespaceUnavailable(String),
    /// An `ip` or `sysctl` command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// Every link id for this prefix is taken.
    #[error("no free link id for prefix {0:?}: {1} namespaces already exist")]
    NoFreeId(String, u16),
    /// The requested link id is in use (its namespaces exist).
    #[error("link id {1} of prefix {0:?} is taken")]
    IdTaken(String, u16),
    /// The name prefix is not short lowercase ASCII.
    #[error("invalid prefix {0:?}: use 1 to 8 characters of a-z, 0-9")]
    InvalidPrefix(String),
    /// The requested link id is outside `0..MAX_LINKS`.
    #[error("link id {0} is out of range (0..{max})", max = crate::MAX_LINKS)]
    InvalidId(u16),
    /// A loss probability outside `0.0..=1.0`.
    #[error("loss {0} is not a probability in 0..=1")]
    InvalidLoss(f64),
    /// A rate of zero bytes per second.
    #[error("rate must be positive (use None for no limit)")]
    ZeroRate,
    /// Creating a TUN device failed.
    #[error("creating TUN device {name}: {source}")]
    CreateTun {
        /// The interface name.
        name: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// A forwarding thread could not be started.
    #[error("starting a forwarding thread: {0}")]
    Thread(io::Error),
}
