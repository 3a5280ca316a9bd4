//! Peer ids: the multihash of a peer's encoded public key (peer-ids/peer-ids.md, "Peer Ids").

use std::fmt;
use std::str::FromStr;

use hyphae_encoding::multibase::{self, Base, base58};
use hyphae_encoding::{multihash, varint};
use sha2::{Digest, Sha256};

use crate::{Error, Keypair, PublicKey};

/// Encoded public keys up to this many bytes are inlined with the identity multihash.
const MAX_INLINE_KEY_LEN: usize = 42;
/// Length of a SHA2-256 digest.
const SHA256_LEN: usize = 32;
/// Longest valid peer id: identity code, length, and a 42-byte key.
const MAX_LEN: usize = 2 + MAX_INLINE_KEY_LEN;
/// CID version of peer ids in CID form (RFC 0001).
const CID_VERSION: u64 = 1;
/// The `libp2p-key` multicodec, the content type of peer id CIDs.
const LIBP2P_KEY_CODEC: u64 = 0x72;
/// Text longer than this cannot be a peer id in any base; it is rejected before decoding.
const MAX_TEXT_LEN: usize = 128;

/// The identity of a peer: a multihash of its public key.
///
/// Small and `Copy`. Displays as base58btc (`12D3KooW…`, `Qm…`, `16Uiu2…`) and parses both
/// that and the CIDv1 form (`bafz…`).
///
/// ```
/// use hyphae_identity::PeerId;
///
/// let id: PeerId = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA".parse()?;
/// assert!(id.to_cid_string().starts_with("bafzaa"));
/// assert_eq!(id.to_cid_string().parse::<PeerId>()?, id);
/// # Ok::<(), hyphae_identity::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId {
    len: u8,
    bytes: [u8; MAX_LEN],
}

impl PeerId {
    /// The peer id of `key`: its protobuf encoding inlined if at most 42 bytes, else hashed
    /// with SHA2-256.
    pub fn from_public_key(key: &PublicKey) -> PeerId {
        let encoded = key.encode_protobuf();
        let mut bytes = Vec::with_capacity(MAX_LEN);
        if encoded.len() <= MAX_INLINE_KEY_LEN {
            multihash::encode_to_vec(multihash::IDENTITY, &encoded, &mut bytes);
        } else {
            multihash::encode_to_vec(multihash::SHA2_256, &Sha256::digest(&encoded), &mut bytes);
        }
        PeerId::from_valid_bytes(&bytes)
    }

    /// Parses the binary form: an identity multihash of at most 42 bytes or a SHA2-256
    /// multihash.
    pub fn from_bytes(bytes: &[u8]) -> Result<PeerId, Error> {
        let (code, digest) = multihash::split(bytes).map_err(Error::PeerIdMultihash)?;
        match code {
            multihash::IDENTITY if digest.len() > MAX_INLINE_KEY_LEN => {
                Err(Error::PeerIdDigestLength {
                    hash: "identity",
                    len: digest.len(),
                })
            }
            multihash::SHA2_256 if digest.len() != SHA256_LEN => Err(Error::PeerIdDigestLength {
                hash: "sha2-256",
                len: digest.len(),
            }),
            multihash::IDENTITY | multihash::SHA2_256 => Ok(PeerId::from_valid_bytes(bytes)),
            other => Err(Error::UnsupportedPeerIdHash(other)),
        }
    }

    /// Builds a peer id from bytes already known to be a valid multihash of at most
    /// [`MAX_LEN`] bytes.
    fn from_valid_bytes(valid: &[u8]) -> PeerId {
        let mut bytes = [0; MAX_LEN];
        bytes[..valid.len()].copy_from_slice(valid);
        PeerId {
            len: valid.len() as u8,
            bytes,
        }
    }

    /// A peer id of a fresh Ed25519 key, for tests and placeholders.
    pub fn random() -> PeerId {
        Keypair::generate_ed25519().peer_id()
    }

    /// The binary form (the multihash).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The binary form as an owned vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }

    /// The legacy base58btc text form, which is also what `Display` prints.
    pub fn to_base58(&self) -> String {
        base58::encode(self.as_bytes())
    }

    /// The CIDv1 text form in base32, as RFC 0001 recommends (`bafz…`).
    pub fn to_cid_string(&self) -> String {
        self.to_cid_string_in(Base::Base32Lower)
    }

    /// The CIDv1 text form in a chosen multibase (AutoTLS uses base36).
    pub fn to_cid_string_in(&self, base: Base) -> String {
        let mut cid = Vec::with_capacity(usize::from(self.len) + 2);
        varint::encode_to_vec(CID_VERSION, &mut cid);
        varint::encode_to_vec(LIBP2P_KEY_CODEC, &mut cid);
        cid.extend_from_slice(self.as_bytes());
        multibase::encode(base, &cid)
    }

    /// The public key inlined in an identity-hashed peer id (Ed25519 and secp256k1 keys);
    /// `None` for hashed peer ids, which only name their key.
    pub fn public_key(&self) -> Option<PublicKey> {
        match multihash::split(self.as_bytes()) {
            Ok((multihash::IDENTITY, encoded)) => PublicKey::decode_protobuf(encoded).ok(),
            _ => None,
        }
    }

    /// Whether `key` is the key this peer id names.
    pub fn is_public_key(&self, key: &PublicKey) -> bool {
        PeerId::from_public_key(key) == *self
    }

    fn parse_cid(text: &str) -> Result<PeerId, String> {
        let (_, cid) = multibase::decode(text).map_err(|error| error.to_string())?;
        let (version, version_len) = varint::decode(&cid).map_err(|error| error.to_string())?;
        if version != CID_VERSION {
            return Err(format!("CID version {version}, expected 1"));
        }
        let (codec, codec_len) =
            varint::decode(&cid[version_len..]).map_err(|error| error.to_string())?;
        if codec != LIBP2P_KEY_CODEC {
            return Err(format!(
                "CID codec {codec:#x} is not libp2p-key ({LIBP2P_KEY_CODEC:#x})"
            ));
        }
        PeerId::from_bytes(&cid[version_len + codec_len..]).map_err(|error| error.to_string())
    }
}

impl FromStr for PeerId {
    type Err = Error;

    /// Parses base58btc (`1…`, `Qm…`) or a multibase CIDv1 with the `libp2p-key` codec.
    fn from_str(text: &str) -> Result<PeerId, Error> {
        let error = |reason: String| Error::PeerIdText {
            text: text.chars().take(MAX_TEXT_LEN).collect(),
            reason,
        };
        if text.len() > MAX_TEXT_LEN {
            return Err(error(format!("longer than {MAX_TEXT_LEN} characters")));
        }
        if text.starts_with('1') || text.starts_with("Qm") {
            let bytes = base58::decode(text).map_err(|cause| error(cause.to_string()))?;
            PeerId::from_bytes(&bytes).map_err(|cause| error(cause.to_string()))
        } else {
            PeerId::parse_cid(text).map_err(error)
        }
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base58())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

impl TryFrom<&[u8]> for PeerId {
    type Error = Error;

    fn try_from(bytes: &[u8]) -> Result<PeerId, Error> {
        PeerId::from_bytes(bytes)
    }
}

impl From<&PublicKey> for PeerId {
    fn from(key: &PublicKey) -> PeerId {
        PeerId::from_public_key(key)
    }
}
