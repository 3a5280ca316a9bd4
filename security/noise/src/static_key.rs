//! A node's static Noise key, made once and signed once (noise/README.md in libp2p/specs,
//! "Static Key Authentication": a peer has "one or more static Noise keypairs throughout its
//! lifetime", and may make them when its Noise module starts).

use std::fmt;
use std::sync::Arc;

use hyphae_identity::{Keypair, PublicKey};
use rand_core::CryptoRng;
use x25519_dalek::StaticSecret;

use crate::payload;
use crate::{DH_LEN, Error};

/// A static X25519 key and the identity key's signature over it, shared by every handshake
/// of a node that sets it in its [`Config`](crate::Config). Without one, each handshake makes
/// and signs a key of its own: an X25519 key generation and an identity signature per
/// connection, which a node accepting many connections spends for nothing.
///
/// Each handshake still makes a fresh ephemeral key, so sessions keep forward secrecy.
/// Cheap to clone.
#[derive(Clone)]
pub struct StaticKey {
    inner: Arc<Inner>,
}

struct Inner {
    secret: StaticSecret,
    public: [u8; DH_LEN],
    /// The identity key that signed `public`.
    identity: PublicKey,
    signature: Vec<u8>,
}

impl StaticKey {
    /// Makes a static key from the operating system's randomness and signs it with
    /// `identity`.
    pub fn generate(identity: &Keypair) -> Result<StaticKey, Error> {
        StaticKey::from_rng(identity, &mut crate::os_rng())
    }

    fn from_rng<R: CryptoRng + ?Sized>(
        identity: &Keypair,
        rng: &mut R,
    ) -> Result<StaticKey, Error> {
        let secret = StaticSecret::random_from_rng(rng);
        let public = x25519_dalek::PublicKey::from(&secret).to_bytes();
        let signature = payload::sign_static_key(identity, &public)?;
        Ok(StaticKey {
            inner: Arc::new(Inner {
                secret,
                public,
                identity: identity.public(),
                signature,
            }),
        })
    }

    /// The public half, as sent in handshakes.
    pub fn public(&self) -> &[u8; DH_LEN] {
        &self.inner.public
    }

    /// The secret, public half and signature, if `identity` is the key that signed it.
    pub(crate) fn signed_by(
        &self,
        identity: &PublicKey,
    ) -> Option<(&StaticSecret, &[u8; DH_LEN], &[u8])> {
        (self.inner.identity == *identity).then_some((
            &self.inner.secret,
            &self.inner.public,
            &self.inner.signature,
        ))
    }
}

impl fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKey")
            .field("public", &self.inner.public)
            .finish_non_exhaustive()
    }
}

/// Two static keys are equal when their public halves and signers are.
impl PartialEq for StaticKey {
    fn eq(&self, other: &StaticKey) -> bool {
        self.inner.public == other.inner.public && self.inner.identity == other.inner.identity
    }
}

impl Eq for StaticKey {}
