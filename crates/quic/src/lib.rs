//! QUIC v1 transport (/quic-v1) for hyphae, on quinn.
