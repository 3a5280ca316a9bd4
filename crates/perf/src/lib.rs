//! The libp2p perf protocol (/perf/1.0.0) for hyphae.
