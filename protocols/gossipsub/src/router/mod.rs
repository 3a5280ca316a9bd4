//! The gossipsub router (gossipsub-v1.0.md, -v1.1.md, -v1.2.md); so far its configuration.

mod config;

pub use config::{Config, ConfigError};
