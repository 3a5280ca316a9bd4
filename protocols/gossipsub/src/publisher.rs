//! Building the messages we publish, for the topic's signature policy (pubsub/README.md,
//! "Message Signing", signature creation `Sign` and `NoSign`).

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use hyphae_identity::{Keypair, PeerId};

use crate::Error;
use crate::policy::SignaturePolicy;
use crate::rpc::Message;
use crate::signing;

/// Builds the messages we author, signed as our identity or anonymous.
///
/// ```
/// use std::time::SystemTime;
///
/// use hyphae_gossipsub::{Origin, Publisher, SignaturePolicy, initial_seqno};
/// use hyphae_identity::Keypair;
///
/// let keypair = Keypair::generate_ed25519();
/// let first_seqno = initial_seqno(SystemTime::now());
/// let mut publisher = Publisher::signing(keypair.clone(), first_seqno);
/// let message = publisher.build_message("blocks", &b"hello"[..])?;
/// let origin = SignaturePolicy::StrictSign.validate(&message)?;
/// assert!(matches!(origin, Origin::Author { peer_id, .. } if peer_id == keypair.peer_id()));
/// # Ok::<(), hyphae_gossipsub::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Publisher(Mode);

#[derive(Debug, Clone)]
enum Mode {
    /// Boxed: a keypair (an RSA one above all) is far larger than nothing.
    Signing(Box<Signing>),
    Anonymous,
}

/// What signing needs: the key, what it puts in `from` and `key`, and the counter.
#[derive(Debug, Clone)]
struct Signing {
    keypair: Keypair,
    author: PeerId,
    /// The encoded public key, when the peer id does not inline it.
    key: Option<Vec<u8>>,
    next_seqno: u64,
}

impl Publisher {
    /// Messages signed by `keypair`, for `StrictSign` topics: `from` is its peer id and
    /// `seqno` counts up from `first_seqno` (wrapping after `u64::MAX`).
    ///
    /// Pass [`initial_seqno`] of the current time, as go-libp2p-pubsub and rust-libp2p start
    /// their counters at the Unix time in nanoseconds: a restarted node then numbers above
    /// what it used before, so the default message ids of its new messages do not collide
    /// with old ones still in peers' seen-caches. (A random start would also avoid that; the
    /// time keeps the order, and matches the others.) The value is passed in because this
    /// crate reads no clock.
    pub fn signing(keypair: Keypair, first_seqno: u64) -> Publisher {
        Publisher(Mode::Signing(Box::new(Signing {
            author: keypair.peer_id(),
            key: signing::key_to_carry(&keypair),
            keypair,
            next_seqno: first_seqno,
        })))
    }

    /// Anonymous messages, for `StrictNoSign` topics: no `from`, `seqno`, `signature` or
    /// `key`.
    pub fn anonymous() -> Publisher {
        Publisher(Mode::Anonymous)
    }

    /// The policy the messages built here satisfy.
    pub fn policy(&self) -> SignaturePolicy {
        match self.0 {
            Mode::Signing(_) => SignaturePolicy::StrictSign,
            Mode::Anonymous => SignaturePolicy::StrictNoSign,
        }
    }

    /// The author our messages name, if they name one.
    pub fn author(&self) -> Option<PeerId> {
        match &self.0 {
            Mode::Signing(state) => Some(state.author),
            Mode::Anonymous => None,
        }
    }

    /// The message publishing `data` to `topic`, signed and numbered if signing.
    ///
    /// Fails only when signing does, which only RSA signing can; the sequence number is
    /// then not used up.
    pub fn build_message(
        &mut self,
        topic: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Result<Message, Error> {
        let mut message = Message {
            data: Some(data.into()),
            topic: topic.into(),
            ..Message::default()
        };
        if let Mode::Signing(state) = &mut self.0 {
            message.from = Some(state.author.to_bytes());
            message.seqno = Some(state.next_seqno.to_be_bytes().to_vec());
            signing::sign(&mut message, &state.keypair, state.key.as_deref())?;
            state.next_seqno = state.next_seqno.wrapping_add(1);
        }
        Ok(message)
    }
}

/// The first sequence number for a node starting at `now`: nanoseconds since the Unix epoch,
/// as go-libp2p-pubsub and rust-libp2p start theirs (0 before the epoch, saturating after
/// the year 2554).
pub fn initial_seqno(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
    })
}
