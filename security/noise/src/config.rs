//! What a Noise handshake sends besides keys: the prologue and the payload extensions, and
//! the static key it may share with the node's other handshakes.

use crate::{SignatureCache, StaticKey};

/// Settings of a Noise handshake. [`Config::default`] is what libp2p over TCP uses: an empty
/// prologue and no extensions, so the stream muxer is negotiated after the handshake.
///
/// ```
/// let config = hyphae_noise::Config::default().with_muxers(vec!["/yamux/1.0.0".into()]);
/// assert!(config.prologue.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Stream muxer protocol ids we support, most preferred first, sent in the
    /// `stream_muxers` extension for inlined muxer negotiation
    /// (connections/inlined-muxer-negotiation.md). Empty sends none, and the handshake's
    /// [`Output::muxer`](crate::Output::muxer) is then `None`.
    pub muxers: Vec<String>,
    /// Data both sides mix into the handshake hash without sending it: the handshake fails
    /// unless both use the same. Empty for libp2p over TCP and WebSocket; WebRTC Direct sets
    /// `libp2p-webrtc-noise:` followed by both certificate fingerprints.
    pub prologue: Vec<u8>,
    /// Multihashes of our WebTransport certificates, sent (as responder) in the
    /// `webtransport_certhashes` extension. Empty outside WebTransport.
    pub webtransport_certhashes: Vec<Vec<u8>>,
    /// The static key every handshake uses, if it was signed by the handshake's identity
    /// key; `None` (or another identity's key) makes and signs one per handshake.
    pub static_key: Option<StaticKey>,
    /// Remembers the peers' static-key signatures verified, so that a peer that reconnects
    /// with the same static key is not verified again; `None` verifies every time.
    pub signature_cache: Option<SignatureCache>,
}

impl Config {
    /// This configuration offering `muxers` (most preferred first) during the handshake.
    pub fn with_muxers(mut self, muxers: Vec<String>) -> Config {
        self.muxers = muxers;
        self
    }

    /// This configuration with `prologue` mixed into the handshake.
    pub fn with_prologue(mut self, prologue: Vec<u8>) -> Config {
        self.prologue = prologue;
        self
    }

    /// This configuration using `static_key` in every handshake (see [`StaticKey`]).
    pub fn with_static_key(mut self, static_key: StaticKey) -> Config {
        self.static_key = Some(static_key);
        self
    }

    /// This configuration remembering verified signatures in `cache` (see
    /// [`SignatureCache`]).
    pub fn with_signature_cache(mut self, cache: SignatureCache) -> Config {
        self.signature_cache = Some(cache);
        self
    }

    /// This configuration announcing `certhashes` as our WebTransport certificates.
    pub fn with_webtransport_certhashes(mut self, certhashes: Vec<Vec<u8>>) -> Config {
        self.webtransport_certhashes = certhashes;
        self
    }
}
