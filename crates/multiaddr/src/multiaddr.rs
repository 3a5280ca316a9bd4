//! The [`Multiaddr`] type: a validated binary multiaddr with its text form and operations.

use std::fmt;
use std::iter::FusedIterator;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use hyphae_identity::PeerId;

use crate::{Error, Protocol};

/// A network address as a sequence of protocol components, e.g.
/// `/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooW…`.
///
/// Always valid: it is checked when built, so iterating cannot fail. Clones are cheap (the
/// binary form is shared); changing a shared address copies it first.
///
/// ```
/// use std::net::Ipv4Addr;
/// use hyphae_identity::PeerId;
/// use hyphae_multiaddr::{Multiaddr, Protocol};
///
/// let peer: PeerId = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA".parse()?;
/// let addr = Multiaddr::from(Ipv4Addr::new(1, 2, 3, 4))
///     .with(Protocol::Udp(4001))
///     .with(Protocol::QuicV1)
///     .with_p2p(peer)?;
/// assert_eq!(addr.to_string(), format!("/ip4/1.2.3.4/udp/4001/quic-v1/p2p/{peer}"));
/// assert_eq!(addr.peer_id(), Some(peer));
/// assert_eq!(addr.len(), 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Multiaddr {
    bytes: Arc<Vec<u8>>,
}

impl Multiaddr {
    /// The empty multiaddr (`/` in text).
    pub fn empty() -> Multiaddr {
        Multiaddr::default()
    }

    /// The binary form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The binary form as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes.as_ref().clone()
    }

    /// The components, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { rest: &self.bytes }
    }

    /// How many components there are.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether there are no components.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Appends a component.
    ///
    /// A value built in code that could not be sent (an empty or oversized name, a
    /// `/certhash` that is no multihash) is not appended; [`Multiaddr::try_push`] reports it.
    pub fn push(&mut self, protocol: Protocol<'_>) {
        let _ = self.try_push(protocol);
    }

    /// Appends a component, or says why its value is invalid.
    pub fn try_push(&mut self, protocol: Protocol<'_>) -> Result<(), Error> {
        protocol.validate()?;
        protocol.write_bytes(Arc::make_mut(&mut self.bytes));
        Ok(())
    }

    /// This address with `protocol` appended.
    pub fn with(mut self, protocol: Protocol<'_>) -> Multiaddr {
        self.push(protocol);
        self
    }

    /// Removes and returns the last component.
    pub fn pop(&mut self) -> Option<Protocol<'static>> {
        if self.is_empty() {
            return None;
        }
        let mut offset = 0;
        let mut last = None;
        for (start, protocol) in self.iter_with_offsets() {
            offset = start;
            last = Some(protocol.into_owned());
        }
        Arc::make_mut(&mut self.bytes).truncate(offset);
        last
    }

    /// A copy with the component at `index` replaced by `protocol`.
    ///
    /// ```
    /// use hyphae_multiaddr::{Multiaddr, Protocol};
    ///
    /// let addr: Multiaddr = "/ip4/1.2.3.4/tcp/0".parse()?;
    /// assert_eq!(addr.replace(1, Protocol::Tcp(4001))?, "/ip4/1.2.3.4/tcp/4001".parse()?);
    /// # Ok::<(), hyphae_multiaddr::Error>(())
    /// ```
    pub fn replace(&self, index: usize, protocol: Protocol<'_>) -> Result<Multiaddr, Error> {
        protocol.validate()?;
        let len = self.len();
        if index >= len {
            return Err(Error::IndexOutOfRange { index, len });
        }
        let mut bytes = Vec::with_capacity(self.bytes.len());
        for (position, existing) in self.iter().enumerate() {
            if position == index {
                protocol.write_bytes(&mut bytes);
            } else {
                existing.write_bytes(&mut bytes);
            }
        }
        Ok(Multiaddr {
            bytes: Arc::new(bytes),
        })
    }

    /// This address ending in `/p2p/<peer>`: appended unless it already ends with that peer
    /// id; ending with another peer id is an error.
    pub fn with_p2p(self, peer: PeerId) -> Result<Multiaddr, Error> {
        match self.peer_id() {
            Some(existing) if existing == peer => Ok(self),
            Some(existing) => Err(Error::PeerIdMismatch {
                existing,
                new: peer,
            }),
            None => Ok(self.with(Protocol::P2p(peer))),
        }
    }

    /// The peer id of a trailing `/p2p/<id>` component.
    pub fn peer_id(&self) -> Option<PeerId> {
        match self.iter().last() {
            Some(Protocol::P2p(peer)) => Some(peer),
            _ => None,
        }
    }

    /// Whether the address goes through a relay (contains `/p2p-circuit`).
    pub fn is_relayed(&self) -> bool {
        self.iter().any(|protocol| protocol == Protocol::P2pCircuit)
    }

    /// Whether this address begins with all of `prefix`'s components.
    pub fn starts_with(&self, prefix: &Multiaddr) -> bool {
        // Components decode the same way from the same leading bytes, so a byte prefix that
        // is itself a whole multiaddr always ends on a component boundary.
        self.bytes.starts_with(&prefix.bytes)
    }

    /// Whether this address ends with all of `suffix`'s components.
    pub fn ends_with(&self, suffix: &Multiaddr) -> bool {
        let Some(start) = self.bytes.len().checked_sub(suffix.bytes.len()) else {
            return false;
        };
        // The byte suffix must also begin where one of our components begins (the end
        // counts, for the empty suffix): bytes inside a value can look like components.
        self.bytes.ends_with(&suffix.bytes)
            && (start == 0
                || start == self.bytes.len()
                || self.iter_with_offsets().any(|(offset, _)| offset == start))
    }

    /// The components with the byte offset each starts at.
    fn iter_with_offsets(&self) -> impl Iterator<Item = (usize, Protocol<'_>)> {
        let total = self.bytes.len();
        let mut iter = self.iter();
        std::iter::from_fn(move || {
            let start = total - iter.rest.len();
            iter.next().map(|protocol| (start, protocol))
        })
    }
}

/// The components of a [`Multiaddr`].
#[derive(Debug, Clone)]
pub struct Iter<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Iter<'a> {
    type Item = Protocol<'a>;

    fn next(&mut self) -> Option<Protocol<'a>> {
        if self.rest.is_empty() {
            return None;
        }
        // The bytes were validated when the multiaddr was built; a failure here would be a
        // bug, and ending the iteration is the safe answer.
        let (protocol, rest) = Protocol::from_bytes(self.rest).ok()?;
        self.rest = rest;
        Some(protocol)
    }
}

impl FusedIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Multiaddr {
    type Item = Protocol<'a>;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// Checks that `bytes` is a sequence of whole, valid components (empty is valid).
fn validate(bytes: &[u8]) -> Result<(), Error> {
    let mut rest = bytes;
    while !rest.is_empty() {
        rest = Protocol::from_bytes(rest)?.1;
    }
    Ok(())
}

impl TryFrom<&[u8]> for Multiaddr {
    type Error = Error;

    /// Validates the binary form and copies it.
    fn try_from(bytes: &[u8]) -> Result<Multiaddr, Error> {
        validate(bytes)?;
        Ok(Multiaddr {
            bytes: Arc::new(bytes.to_vec()),
        })
    }
}

impl TryFrom<Vec<u8>> for Multiaddr {
    type Error = Error;

    /// Validates the binary form and keeps it without copying.
    fn try_from(bytes: Vec<u8>) -> Result<Multiaddr, Error> {
        validate(&bytes)?;
        Ok(Multiaddr {
            bytes: Arc::new(bytes),
        })
    }
}

impl AsRef<[u8]> for Multiaddr {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl FromStr for Multiaddr {
    type Err = Error;

    /// Parses the text form. `""` and `"/"` are the empty address; one trailing `/` is
    /// ignored; any other empty component (`//`) is an error.
    fn from_str(text: &str) -> Result<Multiaddr, Error> {
        if text.is_empty() || text == "/" {
            return Ok(Multiaddr::empty());
        }
        let Some(body) = text.strip_prefix('/') else {
            return Err(Error::MustStartWithSlash {
                text: text.chars().take(64).collect(),
            });
        };
        let body = body.strip_suffix('/').unwrap_or(body);
        let mut addr = Multiaddr::empty();
        let mut segments = body.split('/');
        while let Some(name) = segments.next() {
            if name.is_empty() {
                return Err(Error::EmptyComponent {
                    after: addr.to_string(),
                });
            }
            let protocol = Protocol::from_text(name, &mut segments)?;
            protocol.write_bytes(Arc::make_mut(&mut addr.bytes));
        }
        Ok(addr)
    }
}

impl fmt::Display for Multiaddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("/");
        }
        self.iter().try_for_each(|protocol| write!(f, "{protocol}"))
    }
}

impl fmt::Debug for Multiaddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Multiaddr({self})")
    }
}

impl<'a> From<Protocol<'a>> for Multiaddr {
    fn from(protocol: Protocol<'a>) -> Multiaddr {
        Multiaddr::empty().with(protocol)
    }
}

impl<'a> FromIterator<Protocol<'a>> for Multiaddr {
    fn from_iter<I: IntoIterator<Item = Protocol<'a>>>(protocols: I) -> Multiaddr {
        let mut addr = Multiaddr::empty();
        addr.extend(protocols);
        addr
    }
}

impl<'a> Extend<Protocol<'a>> for Multiaddr {
    fn extend<I: IntoIterator<Item = Protocol<'a>>>(&mut self, protocols: I) {
        for protocol in protocols {
            self.push(protocol);
        }
    }
}

impl From<Ipv4Addr> for Multiaddr {
    /// `/ip4/<ip>`.
    fn from(ip: Ipv4Addr) -> Multiaddr {
        Protocol::Ip4(ip).into()
    }
}

impl From<Ipv6Addr> for Multiaddr {
    /// `/ip6/<ip>`.
    fn from(ip: Ipv6Addr) -> Multiaddr {
        Protocol::Ip6(ip).into()
    }
}

impl From<IpAddr> for Multiaddr {
    /// `/ip4/<ip>` or `/ip6/<ip>`.
    fn from(ip: IpAddr) -> Multiaddr {
        match ip {
            IpAddr::V4(ip) => Protocol::Ip4(ip).into(),
            IpAddr::V6(ip) => Protocol::Ip6(ip).into(),
        }
    }
}

impl From<SocketAddr> for Multiaddr {
    /// `/ip4|ip6/<ip>/tcp/<port>`.
    fn from(addr: SocketAddr) -> Multiaddr {
        Multiaddr::from(addr.ip()).with(Protocol::Tcp(addr.port()))
    }
}
