//! The libp2p Noise handshake (noise/README.md) as a sans-IO state machine: XX with the
//! signed libp2p payload in messages 2 and 3, and inlined stream muxer negotiation
//! (connections/inlined-muxer-negotiation.md).
//!
//! ```text
//! initiator                                   responder
//!   -> e                                      (no payload)
//!   <- e, ee, s, es                           payload: identity key, signature, extensions
//!   -> s, se                                  payload: identity key, signature, extensions
//! ```

use bytes::{Buf, BytesMut};
use hyphae_identity::{Keypair, PeerId, PublicKey};
use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;

use crate::pattern::{HandshakeState, Role, XX_MIN_LEN};
use crate::payload::{self, Extensions, RemoteIdentity};
use crate::transport::{Ciphers, Decryptor, Encryptor};
use crate::{Config, Error, MAX_MESSAGE_LEN, SignatureCache, frame};

/// What a completed handshake established about the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Output {
    /// The peer id the remote proved to hold.
    pub remote_peer: PeerId,
    /// The remote's identity key, which signed its Noise static key.
    pub remote_public_key: PublicKey,
    /// The stream muxer agreed on inside the handshake: the first of the initiator's muxers
    /// that the responder also listed. `None` when either side listed none; the muxer is
    /// then negotiated with multistream-select over the encrypted connection.
    pub muxer: Option<String>,
    /// The WebTransport certificate hashes the remote announced (empty outside WebTransport).
    pub remote_webtransport_certhashes: Vec<Vec<u8>>,
}

/// A libp2p Noise handshake in progress, driven by bytes in and bytes out.
///
/// Take messages to send with [`poll_transmit`](Handshake::poll_transmit), feed received
/// bytes to [`handle_input`](Handshake::handle_input), and once
/// [`is_finished`](Handshake::is_finished), call [`finish`](Handshake::finish) for the
/// peer's identity and the transport ciphers: the
/// [sans-IO verbs](hyphae_core#the-sans-io-verbs) of every hyphae core. No I/O, clock or randomness
/// happens inside: keys come from the RNG given at construction, and callers bound the
/// handshake's duration, so it has no timeout.
///
/// ```
/// use bytes::BytesMut;
/// use hyphae_identity::Keypair;
/// use hyphae_noise::{Config, Handshake};
///
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// let (alice, bob) = (Keypair::generate_ed25519(), Keypair::generate_ed25519());
/// let mut initiator = Handshake::initiator(&alice, &Config::default(), Some(bob.peer_id()), &mut rng)?;
/// let mut responder = Handshake::responder(&bob, &Config::default(), None, &mut rng)?;
/// let (mut to_responder, mut to_initiator) = (BytesMut::new(), BytesMut::new());
/// while !(initiator.is_finished() && responder.is_finished()) {
///     while let Some(message) = initiator.poll_transmit() {
///         to_responder.extend_from_slice(&message);
///     }
///     responder.handle_input(&mut to_responder)?;
///     while let Some(message) = responder.poll_transmit() {
///         to_initiator.extend_from_slice(&message);
///     }
///     initiator.handle_input(&mut to_initiator)?;
/// }
/// let (output, _ciphers) = initiator.finish()?;
/// assert_eq!(output.remote_peer, bob.peer_id());
/// # Ok::<(), hyphae_noise::Error>(())
/// ```
pub struct Handshake {
    noise: HandshakeState,
    /// Our encoded `NoiseHandshakePayload`, sent in our first message after message 1.
    local_payload: Vec<u8>,
    local_muxers: Vec<String>,
    /// Signatures the node's handshakes verified before (shared with them), if it keeps any.
    signatures: Option<SignatureCache>,
    expected: Option<PeerId>,
    remote: Option<RemoteIdentity>,
    /// A framed message waiting to be sent.
    transmit: Option<Vec<u8>>,
    has_failed: bool,
}

impl Handshake {
    /// Starts a handshake as the initiator (the dialer), which sends the first message.
    ///
    /// `expected` is the peer we mean to reach, e.g. from a `/p2p/` address: a remote that
    /// authenticates as anyone else fails the handshake with [`Error::PeerIdMismatch`] before
    /// we reveal our own identity.
    pub fn initiator<R: CryptoRng + ?Sized>(
        identity: &Keypair,
        config: &Config,
        expected: Option<PeerId>,
        rng: &mut R,
    ) -> Result<Handshake, Error> {
        Handshake::new(Role::Initiator, identity, config, expected, rng)
    }

    /// Starts a handshake as the responder (the listener).
    ///
    /// `expected` is usually `None`; roles where the responder knows whom to expect (as in
    /// WebRTC Direct, where the dialer responds) set it.
    pub fn responder<R: CryptoRng + ?Sized>(
        identity: &Keypair,
        config: &Config,
        expected: Option<PeerId>,
        rng: &mut R,
    ) -> Result<Handshake, Error> {
        Handshake::new(Role::Responder, identity, config, expected, rng)
    }

    fn new<R: CryptoRng + ?Sized>(
        role: Role,
        identity: &Keypair,
        config: &Config,
        expected: Option<PeerId>,
        rng: &mut R,
    ) -> Result<Handshake, Error> {
        let local_ephemeral = StaticSecret::random_from_rng(rng);
        let shared = config
            .static_key
            .as_ref()
            .and_then(|key| key.signed_by(&identity.public()));
        match shared {
            Some((secret, public, signature)) => {
                let noise = HandshakeState::with_static_public(
                    role,
                    &config.prologue,
                    secret.clone(),
                    *public,
                    local_ephemeral,
                );
                let payload = payload::encode_signed(
                    identity,
                    signature.to_vec(),
                    extensions(config).non_empty(),
                );
                Handshake::with_state(role, config, expected, noise, payload)
            }
            // A static key of this handshake's own, as the spec allows.
            None => Handshake::with_keys(
                role,
                identity,
                config,
                expected,
                StaticSecret::random_from_rng(rng),
                local_ephemeral,
            ),
        }
    }

    pub(crate) fn with_keys(
        role: Role,
        identity: &Keypair,
        config: &Config,
        expected: Option<PeerId>,
        local_static: StaticSecret,
        local_ephemeral: StaticSecret,
    ) -> Result<Handshake, Error> {
        let noise = HandshakeState::new(role, &config.prologue, local_static, local_ephemeral);
        let local_payload = payload::encode(
            identity,
            noise.local_static_public(),
            extensions(config).non_empty(),
        )?;
        Handshake::with_state(role, config, expected, noise, local_payload)
    }

    fn with_state(
        role: Role,
        config: &Config,
        expected: Option<PeerId>,
        noise: HandshakeState,
        local_payload: Vec<u8>,
    ) -> Result<Handshake, Error> {
        let our_message = match role {
            Role::Initiator => 2,
            Role::Responder => 1,
        };
        let len = XX_MIN_LEN[our_message] + local_payload.len();
        if len > MAX_MESSAGE_LEN {
            return Err(Error::MessageTooLarge {
                len,
                max: MAX_MESSAGE_LEN,
            });
        }
        let mut handshake = Handshake {
            noise,
            local_payload,
            local_muxers: config.muxers.clone(),
            signatures: config.signature_cache.clone(),
            expected,
            remote: None,
            transmit: None,
            has_failed: false,
        };
        if role == Role::Initiator {
            // Message 1 carries no payload: nothing in it would be encrypted.
            handshake.write(&[])?;
        }
        Ok(handshake)
    }

    /// Our side of the handshake.
    pub fn role(&self) -> Role {
        self.noise.role()
    }

    /// The next framed message to send, if one is waiting.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmit.take()
    }

    /// Whether the handshake waits for a message from the peer.
    pub fn wants_input(&self) -> bool {
        !self.has_failed && !self.noise.is_finished() && !self.noise.is_my_turn()
    }

    /// Processes the peer's next handshake message if `input` holds all of it, removing it
    /// from the front of `input`.
    ///
    /// Bytes beyond the message stay in `input`: after the last handshake message they are
    /// the first transport frames and belong to the session. Does nothing while no message is
    /// expected. Any error is final.
    pub fn handle_input(&mut self, input: &mut BytesMut) -> Result<(), Error> {
        if self.has_failed {
            return Err(Error::OutOfOrder("handshake used after it failed"));
        }
        if !self.wants_input() {
            return Ok(());
        }
        let Some(len) = frame::complete(input) else {
            return Ok(());
        };
        let result = self.read(&input[frame::PREFIX_LEN..frame::PREFIX_LEN + len]);
        input.advance(frame::PREFIX_LEN + len);
        if result.is_err() {
            self.has_failed = true;
        }
        result
    }

    /// Whether every message has been sent and received: [`finish`](Handshake::finish) may
    /// be called.
    pub fn is_finished(&self) -> bool {
        !self.has_failed && self.noise.is_finished() && self.transmit.is_none()
    }

    /// The result of a finished handshake: who the peer is, the muxer agreed on, and the
    /// ciphers for the transport phase.
    ///
    /// Fails with [`Error::NoCommonMuxer`] if both sides listed muxers but none in common.
    pub fn finish(self) -> Result<(Output, Ciphers), Error> {
        if !self.is_finished() {
            return Err(Error::OutOfOrder("finish before the handshake completed"));
        }
        let remote = self
            .remote
            .ok_or(Error::OutOfOrder("finish without the peer's identity"))?;
        let remote_muxers = remote.extensions.stream_muxers;
        let muxer = match self.noise.role() {
            Role::Initiator => negotiate_muxer(self.local_muxers, remote_muxers)?,
            Role::Responder => negotiate_muxer(remote_muxers, self.local_muxers)?,
        };
        let (send, receive) = self.noise.split()?;
        Ok((
            Output {
                remote_peer: remote.peer_id,
                remote_public_key: remote.public_key,
                muxer,
                remote_webtransport_certhashes: remote.extensions.webtransport_certhashes,
            },
            Ciphers {
                encryptor: Encryptor::new(send),
                decryptor: Decryptor::new(receive),
            },
        ))
    }

    /// Writes our next message with `payload` into the transmit slot.
    fn write(&mut self, payload: &[u8]) -> Result<(), Error> {
        let mut message = Vec::with_capacity(frame::PREFIX_LEN + XX_MIN_LEN[2] + payload.len());
        message.extend_from_slice(&[0; frame::PREFIX_LEN]);
        self.noise.write_message(payload, &mut message)?;
        let len = message.len() - frame::PREFIX_LEN;
        let prefix = frame::prefix(len).ok_or(Error::MessageTooLarge {
            len,
            max: MAX_MESSAGE_LEN,
        })?;
        message[..frame::PREFIX_LEN].copy_from_slice(&prefix);
        self.transmit = Some(message);
        Ok(())
    }

    /// Reads the peer's next message and, if it is then our turn, writes our answer.
    fn read(&mut self, message: &[u8]) -> Result<(), Error> {
        let mut payload = Vec::new();
        self.noise.read_message(message, &mut payload)?;
        // Message 1's payload is unencrypted and carries nothing in libp2p: ignore it.
        if self.noise.messages_done() > 1 {
            let remote_static = self
                .noise
                .remote_static()
                .ok_or(Error::OutOfOrder("payload before the peer's static key"))?;
            let remote = payload::verify_with(&payload, remote_static, self.signatures.as_ref())?;
            if let Some(expected) = self.expected
                && expected != remote.peer_id
            {
                return Err(Error::PeerIdMismatch {
                    expected,
                    actual: remote.peer_id,
                });
            }
            self.remote = Some(remote);
        }
        if self.noise.is_my_turn() {
            let payload = std::mem::take(&mut self.local_payload);
            self.write(&payload)?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handshake")
            .field("role", &self.noise.role())
            .field("messages_done", &self.noise.messages_done())
            .field("expected", &self.expected)
            .field("has_failed", &self.has_failed)
            .finish_non_exhaustive()
    }
}

/// The inlined muxer negotiation: the first of the initiator's muxers that the responder
/// also lists; `None` if either side lists none (it does not negotiate inline).
fn negotiate_muxer(
    initiator: Vec<String>,
    responder: Vec<String>,
) -> Result<Option<String>, Error> {
    if initiator.is_empty() || responder.is_empty() {
        return Ok(None);
    }
    match initiator.iter().find(|muxer| responder.contains(muxer)) {
        Some(muxer) => Ok(Some(muxer.clone())),
        None => Err(Error::NoCommonMuxer {
            initiator,
            responder,
        }),
    }
}

/// The payload extensions `config` announces.
fn extensions(config: &Config) -> Extensions {
    Extensions {
        webtransport_certhashes: config.webtransport_certhashes.clone(),
        stream_muxers: config.muxers.clone(),
    }
}

#[cfg(test)]
#[path = "handshake_tests.rs"]
mod tests;
