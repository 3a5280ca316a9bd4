//! A userspace link emulator: two network namespaces joined through TUN devices.
//!
//! The kernel of the test machines has no `netem`, so benchmarks and tests that need latency,
//! loss or a bottleneck run their peers in two namespaces, A and B, each with one TUN device.
//! This process holds both devices' file descriptors and forwards every IP packet from A's
//! device to B's and back, applying per direction a fixed one-way delay, random loss and a
//! rate limit with a bounded drop-tail queue ([`Conditions`]).
//!
//! Addresses come from 198.18.0.0/15, the range reserved for benchmarking (RFC 2544): link
//! `id` gets `198.(18 + id / 256).(id % 256).{1,2}/24`. Names carry a caller-chosen prefix
//! (`lk` by default): namespaces `<prefix>-<id>-a|b`, interfaces `<prefix><id>a|b`. A link id
//! is claimed by creating its namespace, so parallel runs never collide.
//!
//! Performance: with TUN offloads (the default) GSO super-packets of up to 64 KiB are
//! forwarded whole, so one TCP stream moves about 10 Gbit/s through a 1500-byte-MTU link on a
//! two-core machine; without offloads about 1.5 Gbit/s. On a direction with loss, super-packets
//! are split into segments first, so loss hits single packets. Measurements and the model are
//! in `tools/linkem/README.md`.
//!
//! The `linkem` binary wraps this for shell scripts; it also has small UDP/TCP helper modes
//! (`udp-echo`, `udp-ping`, `tcp-sink`, `tcp-send`) used by the tests.

#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod error;
mod forward;
mod link;
mod netns;
mod shaper;

pub use error::Error;
pub use forward::{DirectionStats, Stats};
pub use link::{Link, LinkBuilder};
pub use netns::{MAX_LINKS, remove_orphans};
pub use shaper::Conditions;
