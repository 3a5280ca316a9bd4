//! The limits of each scope, and defaults that scale with the machine.
//!
//! The defaults follow go-libp2p's resource manager (`limit_defaults.go`): a budget of 1/8
//! of the machine's memory and half its file-descriptor limit, and for each scope a base
//! limit plus an increase per GiB of that budget.

use std::collections::HashMap;

use super::scope::Resource;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The limits of one scope. `u64::MAX` means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeLimits {
    /// Connections the peer opened.
    pub inbound_connections: u64,
    /// Connections we opened.
    pub outbound_connections: u64,
    /// Connections in either direction.
    pub connections: u64,
    /// Streams the peer opened.
    pub inbound_streams: u64,
    /// Streams we opened.
    pub outbound_streams: u64,
    /// Streams in either direction.
    pub streams: u64,
    /// Bytes of memory.
    pub memory: u64,
    /// File descriptors.
    pub file_descriptors: u64,
}

impl ScopeLimits {
    /// No limit on anything.
    pub const UNLIMITED: ScopeLimits = ScopeLimits {
        inbound_connections: u64::MAX,
        outbound_connections: u64::MAX,
        connections: u64::MAX,
        inbound_streams: u64::MAX,
        outbound_streams: u64::MAX,
        streams: u64::MAX,
        memory: u64::MAX,
        file_descriptors: u64::MAX,
    };

    /// The limit on `resource`.
    pub fn get(&self, resource: Resource) -> u64 {
        match resource {
            Resource::InboundConnections => self.inbound_connections,
            Resource::OutboundConnections => self.outbound_connections,
            Resource::Connections => self.connections,
            Resource::InboundStreams => self.inbound_streams,
            Resource::OutboundStreams => self.outbound_streams,
            Resource::Streams => self.streams,
            Resource::Memory => self.memory,
            Resource::FileDescriptors => self.file_descriptors,
        }
    }

    /// These limits with connections capped at `inbound`, `outbound` and `total`.
    pub const fn with_connections(self, inbound: u64, outbound: u64, total: u64) -> ScopeLimits {
        ScopeLimits {
            inbound_connections: inbound,
            outbound_connections: outbound,
            connections: total,
            ..self
        }
    }

    /// These limits with streams capped at `inbound`, `outbound` and `total`.
    pub const fn with_streams(self, inbound: u64, outbound: u64, total: u64) -> ScopeLimits {
        ScopeLimits {
            inbound_streams: inbound,
            outbound_streams: outbound,
            streams: total,
            ..self
        }
    }

    /// These limits with memory capped at `bytes`.
    pub const fn with_memory(self, bytes: u64) -> ScopeLimits {
        ScopeLimits {
            memory: bytes,
            ..self
        }
    }

    /// These limits with file descriptors capped at `count`.
    pub const fn with_file_descriptors(self, count: u64) -> ScopeLimits {
        ScopeLimits {
            file_descriptors: count,
            ..self
        }
    }
}

/// The limits of every scope of a node.
///
/// [`ResourceLimits::default`] scales with this machine ([`ResourceLimits::scaled`] with
/// 1/8 of its memory and half its file-descriptor limit). Change fields on it:
///
/// ```
/// use hyphae_core::resources::{ResourceLimits, ScopeLimits};
///
/// let mut limits = ResourceLimits::default();
/// limits.peer = limits.peer.with_memory(16 << 20);
/// limits
///     .protocols
///     .insert("/my/proto/1.0.0".into(), ScopeLimits::UNLIMITED.with_streams(8, 8, 16));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLimits {
    /// Everything the node holds.
    pub system: ScopeLimits,
    /// Connections in their handshakes, before the peer is known.
    pub transient: ScopeLimits,
    /// Each service, unless [`services`](Self::services) names it.
    pub service: ScopeLimits,
    /// Limits of services by name.
    pub services: HashMap<String, ScopeLimits>,
    /// Each protocol, unless [`protocols`](Self::protocols) names it.
    pub protocol: ScopeLimits,
    /// Limits of protocols by protocol id.
    pub protocols: HashMap<String, ScopeLimits>,
    /// Each remote peer.
    pub peer: ScopeLimits,
    /// Each connection.
    pub connection: ScopeLimits,
    /// Each stream.
    pub stream: ScopeLimits,
}

impl ResourceLimits {
    /// The limits for a budget of `memory` bytes and `file_descriptors` descriptors.
    ///
    /// Connection counts are not limited in the system and transient scopes here: the
    /// node's `max_connections` with its connection manager, and its table of pending
    /// handshakes, admit connections, so that a newcomer can still get in at their limits;
    /// set them to add a hard cap.
    pub fn scaled(memory: u64, file_descriptors: u64) -> ResourceLimits {
        // go-libp2p's base limits with its increase per GiB of the memory budget.
        let gib = memory / GIB;
        let scale = |base: u64, per_gib: u64| base.saturating_add(per_gib.saturating_mul(gib));
        let unlimited = ScopeLimits::UNLIMITED;
        ResourceLimits {
            system: unlimited
                .with_streams(scale(4096, 4096), scale(16384, 16384), scale(16384, 16384))
                .with_memory(memory.max(128 * MIB))
                .with_file_descriptors(file_descriptors),
            // No connection or descriptor limit of its own: the node's table of pending
            // handshakes admits them (`Limits::max_pending_inbound`, per IP too), and a full
            // table evicts a stalled handshake for a newcomer. A lower count here would
            // refuse newcomers before that eviction, and 64 silent sockets would lock every
            // peer out (the attack suite's slow-handshakes found it).
            transient: unlimited
                .with_streams(scale(128, 128), scale(256, 256), scale(256, 256))
                .with_memory(scale(32 * MIB, 128 * MIB).min(memory.max(32 * MIB))),
            service: unlimited
                .with_streams(scale(1024, 1024), scale(4096, 4096), scale(4096, 4096))
                .with_memory(scale(64 * MIB, 128 * MIB)),
            services: HashMap::new(),
            protocol: unlimited
                .with_streams(scale(512, 512), scale(2048, 2048), scale(2048, 2048))
                .with_memory(scale(64 * MIB, 128 * MIB)),
            protocols: HashMap::new(),
            // More streams per peer than go-libp2p (256 / 512): one connection's muxer
            // allows 512 each way, plus as many ended streams the application still holds.
            peer: unlimited
                .with_connections(8, 8, 8)
                .with_streams(scale(1024, 256), scale(1024, 256), scale(2048, 512))
                .with_memory(scale(64 * MIB, 128 * MIB))
                .with_file_descriptors(4),
            // go-libp2p gives a connection 32 MiB, which its yamux fills with the initial
            // windows of 128 streams; ours allows what the peer scope does, and no stream
            // limit of its own, so that the muxers' stream limits (`Limits::
            // max_streams_per_connection`) are what a connection meets first.
            connection: unlimited
                .with_connections(1, 1, 1)
                .with_memory(scale(64 * MIB, 128 * MIB))
                .with_file_descriptors(1),
            stream: unlimited.with_streams(1, 1, 1).with_memory(16 * MIB),
        }
    }

    /// [`ResourceLimits::scaled`] to this machine: 1/8 of its memory and half its
    /// file-descriptor limit (4 GiB and 1024 where they cannot be read).
    pub fn for_this_machine() -> ResourceLimits {
        let memory = total_memory().unwrap_or(4 * GIB * 8) / 8;
        ResourceLimits::for_memory_budget(memory)
    }

    /// [`ResourceLimits::scaled`] to a budget of `memory` bytes and half this machine's
    /// file-descriptor limit.
    pub fn for_memory_budget(memory: u64) -> ResourceLimits {
        let file_descriptors = file_descriptor_limit().unwrap_or(2048) / 2;
        ResourceLimits::scaled(memory, file_descriptors)
    }

    /// These limits with the stream counts of the system, service and protocol scopes raised
    /// (never lowered) for `connections` connections that each keep long-lived streams: one
    /// per protocol each way (gossipsub's, ping's keepalive), and up to
    /// [`LONG_LIVED_STREAMS_PER_CONNECTION`] each way in all, besides the room the scaled
    /// limits leave for short-lived streams.
    ///
    /// The scaled stream counts follow go-libp2p's, which suit a node of a few hundred
    /// connections: at 10,000 connections a default node's gossipsub and ping streams alone
    /// would be refused past the 2,048th per protocol. Memory limits are unchanged: a stream's
    /// buffers are reserved before they can fill, whatever the counts allow.
    pub fn with_streams_for_connections(mut self, connections: u64) -> ResourceLimits {
        let raise = |limits: &mut ScopeLimits, per_connection: u64| {
            let long_lived = connections.saturating_mul(per_connection);
            limits.inbound_streams = limits.inbound_streams.saturating_add(long_lived);
            limits.outbound_streams = limits.outbound_streams.saturating_add(long_lived);
            limits.streams = limits.streams.saturating_add(long_lived.saturating_mul(2));
        };
        raise(&mut self.system, LONG_LIVED_STREAMS_PER_CONNECTION);
        raise(&mut self.service, 1);
        raise(&mut self.protocol, 1);
        self
    }

    /// The limits of service `name`.
    pub fn service_limits(&self, name: &str) -> ScopeLimits {
        self.services.get(name).copied().unwrap_or(self.service)
    }

    /// The limits of protocol `id`.
    pub fn protocol_limits(&self, id: &str) -> ScopeLimits {
        self.protocols.get(id).copied().unwrap_or(self.protocol)
    }
}

impl Default for ResourceLimits {
    fn default() -> ResourceLimits {
        ResourceLimits::for_this_machine()
    }
}

/// The machine's memory in bytes (Linux: `/proc/meminfo`).
fn total_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_meminfo_total(&meminfo)
}

fn parse_meminfo_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// Long-lived streams each way [`ResourceLimits::with_streams_for_connections`] makes room for
/// on every connection: a default node keeps two (ping's keepalive and gossipsub's), and
/// this leaves room for two more protocols.
pub const LONG_LIVED_STREAMS_PER_CONNECTION: u64 = 4;

/// The soft limit on this process's open files (Linux: `/proc/self/limits`), if readable.
pub fn file_descriptor_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_files_limit(&limits)
}

fn parse_open_files_limit(limits: &str) -> Option<u64> {
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(u64::MAX / 2),
        number => number.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_memory_and_file_limits_from_proc_text() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:  100 kB\n";
        assert_eq!(parse_meminfo_total(meminfo), Some(24_576_000 * 1024));
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(parse_open_files_limit(limits), Some(1024));
        assert_eq!(parse_meminfo_total("garbage"), None);
    }

    #[test]
    fn stream_counts_make_room_for_long_lived_streams_of_every_connection() {
        let scaled = ResourceLimits::scaled(4 * GIB, 512);
        let raised = scaled.clone().with_streams_for_connections(10_000);
        assert_eq!(
            raised.protocol.inbound_streams,
            scaled.protocol.inbound_streams + 10_000
        );
        assert_eq!(raised.service.streams, scaled.service.streams + 20_000);
        assert_eq!(
            raised.system.outbound_streams,
            scaled.system.outbound_streams + 40_000
        );
        assert_eq!(raised.system.memory, scaled.system.memory);
        assert_eq!(raised.peer, scaled.peer);
        assert_eq!(raised.connection, scaled.connection);
        let unlimited = ResourceLimits {
            protocol: ScopeLimits::UNLIMITED,
            ..scaled
        };
        assert_eq!(
            unlimited.with_streams_for_connections(10).protocol,
            ScopeLimits::UNLIMITED
        );
    }

    #[test]
    fn limits_grow_with_the_memory_budget() {
        let small = ResourceLimits::scaled(GIB / 2, 512);
        let large = ResourceLimits::scaled(4 * GIB, 512);
        assert_eq!(small.system.memory, GIB / 2);
        assert_eq!(large.system.memory, 4 * GIB);
        assert!(large.transient.memory > small.transient.memory);
        assert_eq!(small.transient.inbound_connections, u64::MAX);
        assert!(large.peer.memory > small.peer.memory);
        assert_eq!(small.system.file_descriptors, 512);
        assert_eq!(small.system.connections, u64::MAX);
    }
}
