//! What the node counts for its operator, in Prometheus' text format ([`Node::metrics`]):
//! connections open, made, closed and refused (by the limit that refused them), how long
//! handshakes take, and streams open and opened per protocol. Refusals are logged too
//! ([`RefusalLog`]).
//!
//! [`Node::metrics`]: crate::Node::metrics

use std::fmt;
use std::time::Instant;

use hyphae_core::resources::{ResourceLimits, ResourceSnapshot};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::refusal_log::RefusalLog;
use crate::{Direction, Error, Limit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    scope: String,
    resource: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StreamLabels {
    protocol: String,
    direction: &'static str,
}

/// The node's metrics; cheap to update from any task.
pub(crate) struct Metrics {
    registry: Registry,
    connections_open: Family<DirectionLabels, Gauge>,
    connections_established: Family<DirectionLabels, Counter>,
    connections_closed: Family<DirectionLabels, Counter>,
    connections_refused: Family<ReasonLabels, Counter>,
    connections_trimmed: Counter,
    handshake_seconds: Family<DirectionLabels, Histogram>,
    handshake_failures: Family<DirectionLabels, Counter>,
    streams_open: Family<StreamLabels, Gauge>,
    streams_opened: Family<StreamLabels, Counter>,
    streams_refused: Family<ReasonLabels, Counter>,
    /// What the resource manager's scopes hold, refreshed at each encoding.
    scope_memory: Family<ScopeLabels, Gauge>,
    scope_streams: Family<ScopeLabels, Gauge>,
    scope_connections: Family<ScopeLabels, Gauge>,
    scope_memory_limit: Family<ScopeLabels, Gauge>,
    scope_refusals: Family<RefusalLabels, Gauge>,
    /// Refusals are also logged, sparingly.
    refusal_log: RefusalLog,
}

fn direction(direction: Direction) -> DirectionLabels {
    DirectionLabels {
        direction: match direction {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        },
    }
}

/// The label a refusal counts under.
fn reason(limit: &Limit) -> &'static str {
    match limit {
        Limit::Connections(_) => "connections",
        Limit::ConnectionsPerPeer(_) => "connections_per_peer",
        Limit::PendingInbound(_) => "pending_inbound",
        Limit::PendingInboundPerIp(_) => "pending_inbound_per_ip",
        Limit::InboundPerIp(_) => "inbound_per_ip",
        Limit::InboundRatePerIp(_) => "inbound_rate_per_ip",
        Limit::Resource { resource, .. } => resource.refusal_reason(),
        _ => "other",
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        let handshakes = || Histogram::new(exponential_buckets(0.001, 2.0, 14));
        let metrics = Metrics {
            registry: Registry::with_prefix("hyphae"),
            connections_open: Family::default(),
            connections_established: Family::default(),
            connections_closed: Family::default(),
            connections_refused: Family::default(),
            connections_trimmed: Counter::default(),
            handshake_seconds: Family::new_with_constructor(handshakes),
            handshake_failures: Family::default(),
            streams_open: Family::default(),
            streams_opened: Family::default(),
            streams_refused: Family::default(),
            scope_memory: Family::default(),
            scope_streams: Family::default(),
            scope_connections: Family::default(),
            scope_memory_limit: Family::default(),
            scope_refusals: Family::default(),
            refusal_log: RefusalLog::default(),
        };
        let mut registry = metrics.registry;
        registry.register(
            "connections",
            "Connections open",
            metrics.connections_open.clone(),
        );
        registry.register(
            "connections_established",
            "Connections established",
            metrics.connections_established.clone(),
        );
        registry.register(
            "connections_closed",
            "Connections closed",
            metrics.connections_closed.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections refused, by the limit that refused them",
            metrics.connections_refused.clone(),
        );
        registry.register(
            "connections_trimmed",
            "Connections the connection manager closed to make room",
            metrics.connections_trimmed.clone(),
        );
        registry.register(
            "handshake_duration_seconds",
            "Time from a connection's first byte to its security and muxer being agreed",
            metrics.handshake_seconds.clone(),
        );
        registry.register(
            "handshake_failures",
            "Connections whose handshakes failed or timed out",
            metrics.handshake_failures.clone(),
        );
        registry.register(
            "streams",
            "Streams open, by protocol",
            metrics.streams_open.clone(),
        );
        registry.register(
            "streams_opened",
            "Streams opened, by protocol",
            metrics.streams_opened.clone(),
        );
        registry.register(
            "streams_refused",
            "Inbound streams refused, by the resource limit that refused them",
            metrics.streams_refused.clone(),
        );
        registry.register(
            "resource_memory_bytes",
            "Memory reserved in the resource manager, by scope",
            metrics.scope_memory.clone(),
        );
        registry.register(
            "resource_streams",
            "Streams counted in the resource manager, by scope",
            metrics.scope_streams.clone(),
        );
        registry.register(
            "resource_connections",
            "Connections counted in the resource manager, by scope",
            metrics.scope_connections.clone(),
        );
        registry.register(
            "resource_refusals",
            "Reservations the resource manager refused since the node started, by the kind of \
             scope that refused and the resource",
            metrics.scope_refusals.clone(),
        );
        registry.register(
            "resource_memory_limit_bytes",
            "Memory limit of the resource manager's system and transient scopes",
            metrics.scope_memory_limit.clone(),
        );
        Metrics {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    pub(crate) fn connection_established(&self, way: Direction) {
        let labels = direction(way);
        self.connections_established.get_or_create(&labels).inc();
        self.connections_open.get_or_create(&labels).inc();
    }

    pub(crate) fn connection_closed(&self, way: Direction) {
        let labels = direction(way);
        self.connections_closed.get_or_create(&labels).inc();
        self.connections_open.get_or_create(&labels).dec();
    }

    /// Counts an inbound stream a resource limit refused.
    pub(crate) fn stream_refused(&self, limit: &Limit) {
        self.refusal_log.refused(limit, Instant::now());
        let labels = ReasonLabels {
            reason: reason(limit),
        };
        self.streams_refused.get_or_create(&labels).inc();
    }

    /// Sets the gauges of the resource scopes to `snapshot`.
    pub(crate) fn record_resources(&self, snapshot: &ResourceSnapshot, limits: &ResourceLimits) {
        for &(kind, resource, count) in &snapshot.refusals {
            let labels = RefusalLabels {
                scope: kind.to_string(),
                resource: resource.as_str(),
            };
            self.scope_refusals
                .get_or_create(&labels)
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        for (scope, limit) in [
            ("system", limits.system.memory),
            ("transient", limits.transient.memory),
        ] {
            let labels = ScopeLabels {
                scope: scope.to_owned(),
            };
            self.scope_memory_limit
                .get_or_create(&labels)
                .set(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let named = snapshot
            .services
            .iter()
            .map(|(name, usage)| (format!("service:{name}"), usage))
            .chain(
                snapshot
                    .protocols
                    .iter()
                    .map(|(id, usage)| (format!("protocol:{id}"), usage)),
            );
        let scopes = [
            ("system".to_owned(), &snapshot.system),
            ("transient".to_owned(), &snapshot.transient),
        ];
        for (scope, usage) in scopes.into_iter().chain(named) {
            let labels = ScopeLabels { scope };
            let set = |family: &Family<ScopeLabels, Gauge>, value: u64| {
                family
                    .get_or_create(&labels)
                    .set(i64::try_from(value).unwrap_or(i64::MAX));
            };
            set(&self.scope_memory, usage.memory);
            set(&self.scope_streams, usage.streams);
            set(&self.scope_connections, usage.connections);
        }
    }

    /// Counts a refusal, and logs it unless a line about its kind was just written.
    pub(crate) fn connection_refused(&self, limit: &Limit) {
        self.refusal_log.refused(limit, Instant::now());
        let labels = ReasonLabels {
            reason: reason(limit),
        };
        self.connections_refused.get_or_create(&labels).inc();
    }

    pub(crate) fn connections_trimmed(&self, count: usize) {
        self.connections_trimmed.inc_by(count as u64);
    }

    /// A handshake begun at `started` ended with `result`. A refusal by a limit counts as
    /// a refusal, not as a failed handshake.
    pub(crate) fn handshake_done<T>(
        &self,
        way: Direction,
        started: Instant,
        result: &Result<T, Error>,
    ) {
        let labels = direction(way);
        match result {
            Ok(_) => {
                let seconds = started.elapsed().as_secs_f64();
                self.handshake_seconds
                    .get_or_create(&labels)
                    .observe(seconds);
            }
            Err(Error::LimitReached(limit)) => self.connection_refused(limit),
            Err(_) => {
                self.handshake_failures.get_or_create(&labels).inc();
            }
        }
    }

    /// A stream of `protocol` opened: counts it, and returns the gauge to lower when it
    /// closes.
    pub(crate) fn stream_opened(&self, protocol: &str, way: Direction) -> Gauge {
        let labels = StreamLabels {
            protocol: protocol.to_owned(),
            direction: direction(way).direction,
        };
        self.streams_opened.get_or_create(&labels).inc();
        let open = self.streams_open.get_or_create(&labels).clone();
        open.inc();
        open
    }

    /// Everything, in Prometheus' text exposition format.
    pub(crate) fn encode(&self, out: &mut impl fmt::Write) -> fmt::Result {
        prometheus_client::encoding::text::encode(out, &self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(metrics: &Metrics) -> String {
        let mut out = String::new();
        metrics.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn counts_show_in_the_text_format_with_their_labels() {
        let metrics = Metrics::default();
        metrics.connection_established(Direction::Inbound);
        metrics.connection_established(Direction::Inbound);
        metrics.connection_closed(Direction::Inbound);
        metrics.connection_refused(&Limit::Connections(4));
        let handshake: Result<(), Error> = Ok(());
        metrics.handshake_done(Direction::Outbound, Instant::now(), &handshake);
        let refused: Result<(), Error> = Err(Error::LimitReached(Limit::PendingInbound(1)));
        metrics.handshake_done(Direction::Inbound, Instant::now(), &refused);
        let stream = metrics.stream_opened("/ipfs/id/1.0.0", Direction::Outbound);
        let text = text(&metrics);
        for line in [
            "hyphae_connections{direction=\"inbound\"} 1",
            "hyphae_connections_established_total{direction=\"inbound\"} 2",
            "hyphae_connections_refused_total{reason=\"connections\"} 1",
            "hyphae_connections_refused_total{reason=\"pending_inbound\"} 1",
            "hyphae_handshake_duration_seconds_count{direction=\"outbound\"} 1",
            "hyphae_streams{protocol=\"/ipfs/id/1.0.0\",direction=\"outbound\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        stream.dec();
        assert!(text_contains(
            &metrics,
            "hyphae_streams{protocol=\"/ipfs/id/1.0.0\",direction=\"outbound\"} 0"
        ));
    }

    fn text_contains(metrics: &Metrics, line: &str) -> bool {
        text(metrics).contains(line)
    }
}
