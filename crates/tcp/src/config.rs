use std::time::Duration;

/// TCP transport settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Give up on a dial (resolution and all connection attempts) after this long.
    pub dial_timeout: Duration,
    /// Disable Nagle's algorithm on every connection.
    pub nodelay: bool,
    /// Pending connections the kernel queues for a listener before refusing more.
    pub listen_backlog: u32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            dial_timeout: Duration::from_secs(10),
            nodelay: true,
            listen_backlog: 1024,
        }
    }
}
