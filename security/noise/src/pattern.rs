//! The Noise `HandshakeState` for the XX pattern (Noise Protocol Framework rev 34, sections
//! 5.3 and 7.5) with X25519 (section 12.1):
//!
//! ```text
//! XX:
//!   -> e
//!   <- e, ee, s, es
//!   -> s, se
//! ```
//!
//! This is the framework layer only: payloads are opaque bytes. The libp2p meaning of the
//! payloads lives in `handshake.rs`.

use x25519_dalek::{PublicKey, StaticSecret};

use crate::cipher::CipherState;
use crate::symmetric::SymmetricState;
use crate::{DH_LEN, Error, PROTOCOL_NAME, TAG_LEN};

/// Which side of the handshake we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the first message (the dialer, in libp2p over TCP).
    Initiator,
    /// Answers the first message (the listener).
    Responder,
}

/// A token of a message pattern (section 7.1).
#[derive(Debug, Clone, Copy)]
enum Token {
    E,
    S,
    Ee,
    Es,
    Se,
}

/// The three message patterns of XX, in order; even ones are the initiator's.
const XX: [&[Token]; 3] = [
    &[Token::E],
    &[Token::E, Token::Ee, Token::S, Token::Es],
    &[Token::S, Token::Se],
];

/// Number of messages in the XX pattern.
pub(crate) const XX_MESSAGES: usize = XX.len();

/// The shortest valid message at each position of XX: its keys and tags with an empty
/// payload (the payload's tag counts once a key has been mixed in).
pub(crate) const XX_MIN_LEN: [usize; 3] = [
    DH_LEN,
    DH_LEN + (DH_LEN + TAG_LEN) + TAG_LEN,
    (DH_LEN + TAG_LEN) + TAG_LEN,
];

/// A Noise XX handshake in progress: keys, the symmetric state and the message position.
pub(crate) struct HandshakeState {
    role: Role,
    symmetric: SymmetricState,
    local_static: StaticSecret,
    local_static_public: PublicKey,
    local_ephemeral: StaticSecret,
    local_ephemeral_public: PublicKey,
    remote_static: Option<PublicKey>,
    remote_ephemeral: Option<PublicKey>,
    /// Index of the next message of [`XX`] to write or read.
    message: usize,
}

impl HandshakeState {
    /// `Initialize()` for XX: no pre-messages, so only the prologue is mixed in.
    ///
    /// The ephemeral key is given rather than generated so that the state machine stays
    /// deterministic; callers draw it from a CSPRNG.
    pub(crate) fn new(
        role: Role,
        prologue: &[u8],
        local_static: StaticSecret,
        local_ephemeral: StaticSecret,
    ) -> HandshakeState {
        let local_static_public = PublicKey::from(&local_static).to_bytes();
        HandshakeState::with_static_public(
            role,
            prologue,
            local_static,
            local_static_public,
            local_ephemeral,
        )
    }

    /// [`HandshakeState::new`] with the static key's public half computed before (a key
    /// shared by many handshakes), so that each handshake does not derive it again.
    pub(crate) fn with_static_public(
        role: Role,
        prologue: &[u8],
        local_static: StaticSecret,
        local_static_public: [u8; DH_LEN],
        local_ephemeral: StaticSecret,
    ) -> HandshakeState {
        let mut symmetric = SymmetricState::new(PROTOCOL_NAME.as_bytes());
        symmetric.mix_hash(prologue);
        HandshakeState {
            role,
            symmetric,
            local_static_public: PublicKey::from(local_static_public),
            local_static,
            local_ephemeral_public: PublicKey::from(&local_ephemeral),
            local_ephemeral,
            remote_static: None,
            remote_ephemeral: None,
            message: 0,
        }
    }

    /// Our side of the handshake.
    pub(crate) fn role(&self) -> Role {
        self.role
    }

    /// Whether the next message is ours to write.
    pub(crate) fn is_my_turn(&self) -> bool {
        self.message < XX_MESSAGES
            && self.message.is_multiple_of(2) == (self.role == Role::Initiator)
    }

    /// Whether all three messages have been written or read.
    pub(crate) fn is_finished(&self) -> bool {
        self.message == XX_MESSAGES
    }

    /// Number of messages written or read so far.
    pub(crate) fn messages_done(&self) -> usize {
        self.message
    }

    /// Our static X25519 public key.
    pub(crate) fn local_static_public(&self) -> &[u8; DH_LEN] {
        self.local_static_public.as_bytes()
    }

    /// The peer's static X25519 public key, once its `s` token has been read.
    pub(crate) fn remote_static(&self) -> Option<&[u8; DH_LEN]> {
        self.remote_static.as_ref().map(PublicKey::as_bytes)
    }

    /// The handshake hash so far; after the last message it identifies the session.
    #[cfg(test)]
    pub(crate) fn handshake_hash(&self) -> [u8; crate::symmetric::HASH_LEN] {
        self.symmetric.handshake_hash()
    }

    /// `WriteMessage(payload, message_buffer)`, appending the message to `out`.
    pub(crate) fn write_message(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        if !self.is_my_turn() {
            return Err(Error::OutOfOrder("write_message when the peer is to send"));
        }
        let start = out.len();
        let result = self.write_tokens(payload, out);
        if result.is_err() {
            out.truncate(start);
        }
        result?;
        self.message += 1;
        Ok(())
    }

    fn write_tokens(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        for token in XX[self.message] {
            match token {
                Token::E => {
                    out.extend_from_slice(self.local_ephemeral_public.as_bytes());
                    self.symmetric
                        .mix_hash(self.local_ephemeral_public.as_bytes());
                }
                Token::S => {
                    let key = *self.local_static_public.as_bytes();
                    self.symmetric.encrypt_and_hash(&key, out)?;
                }
                dh => self.mix_dh(*dh)?,
            }
        }
        self.symmetric.encrypt_and_hash(payload, out)
    }

    /// `ReadMessage(message, payload_buffer)`, appending the payload to `payload`.
    ///
    /// A failed read leaves the state unusable: the caller must abandon the handshake.
    pub(crate) fn read_message(
        &mut self,
        message: &[u8],
        payload: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if self.is_my_turn() || self.is_finished() {
            return Err(Error::OutOfOrder("read_message when we are to send"));
        }
        let min = XX_MIN_LEN[self.message];
        if message.len() < min {
            return Err(Error::HandshakeMessageTooShort {
                message: self.message as u8 + 1,
                len: message.len(),
                min,
            });
        }
        let mut rest = message;
        for token in XX[self.message] {
            match token {
                Token::E => {
                    let (key, tail) = split_key(rest)?;
                    self.symmetric.mix_hash(&key);
                    self.remote_ephemeral = Some(PublicKey::from(key));
                    rest = tail;
                }
                Token::S => {
                    let len = if self.symmetric.has_key() {
                        DH_LEN + TAG_LEN
                    } else {
                        DH_LEN
                    };
                    let (encrypted, tail) =
                        rest.split_at_checked(len)
                            .ok_or(Error::HandshakeMessageTooShort {
                                message: self.message as u8 + 1,
                                len: message.len(),
                                min,
                            })?;
                    let mut key = Vec::with_capacity(DH_LEN);
                    self.symmetric.decrypt_and_hash(encrypted, &mut key)?;
                    let (key, _) = split_key(&key)?;
                    self.remote_static = Some(PublicKey::from(key));
                    rest = tail;
                }
                dh => self.mix_dh(*dh)?,
            }
        }
        self.symmetric.decrypt_and_hash(rest, payload)?;
        self.message += 1;
        Ok(())
    }

    /// Performs the Diffie-Hellman a token names and mixes the result into the key.
    fn mix_dh(&mut self, token: Token) -> Result<(), Error> {
        let missing = Error::OutOfOrder("Diffie-Hellman before the peer's key is known");
        let (secret, public) = match (token, self.role) {
            (Token::Ee, _) => (&self.local_ephemeral, self.remote_ephemeral),
            (Token::Es, Role::Initiator) | (Token::Se, Role::Responder) => {
                (&self.local_ephemeral, self.remote_static)
            }
            (Token::Es, Role::Responder) | (Token::Se, Role::Initiator) => {
                (&self.local_static, self.remote_ephemeral)
            }
            (Token::E | Token::S, _) => return Err(missing),
        };
        let public = public.ok_or(missing)?;
        let shared = secret.diffie_hellman(&public);
        // An all-zero result means the peer sent a small-order point (RFC 7748 section 6.1).
        if !shared.was_contributory() {
            return Err(Error::LowOrderKey);
        }
        self.symmetric.mix_key(shared.as_bytes());
        Ok(())
    }

    /// `Split()`: the (sending, receiving) cipher states for our role.
    pub(crate) fn split(&self) -> Result<(CipherState, CipherState), Error> {
        if !self.is_finished() {
            return Err(Error::OutOfOrder("split before the last handshake message"));
        }
        let (initiator_to_responder, responder_to_initiator) = self.symmetric.split();
        Ok(match self.role {
            Role::Initiator => (initiator_to_responder, responder_to_initiator),
            Role::Responder => (responder_to_initiator, initiator_to_responder),
        })
    }
}

/// Splits a 32-byte X25519 public key off the front of `bytes`.
fn split_key(bytes: &[u8]) -> Result<([u8; DH_LEN], &[u8]), Error> {
    let (key, rest) =
        bytes
            .split_first_chunk::<DH_LEN>()
            .ok_or(Error::HandshakeMessageTooShort {
                message: 0,
                len: bytes.len(),
                min: DH_LEN,
            })?;
    Ok((*key, rest))
}

#[cfg(test)]
#[path = "pattern_vectors.rs"]
mod vectors;
