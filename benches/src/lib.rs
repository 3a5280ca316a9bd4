//! Benchmarks of hyphae beside rust-libp2p and raw TCP.
