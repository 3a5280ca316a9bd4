//! The Kademlia RPC message and its framing (kad-dht/README.md, "RPC messages").
//!
//! Every request and response is one protobuf `Message` behind an unsigned-varint length
//! prefix. The spec's schema says proto2 but go-libp2p and rust-libp2p compile it as proto3,
//! so zero values are not on the wire: a `PUT_VALUE` request has no `type` field and a
//! `NOT_CONNECTED` peer no `connection` field. We write proto3 the same way and read an
//! absent field as its zero value.
//!
//! Reading is bounded by [`Limits`]: a length prefix over the message limit fails before
//! anything is buffered, and each peer list, each peer's addresses and each address are
//! capped, with entries past a cap skipped rather than failing the message. The decoder is
//! written out here instead of derived so that a skipped entry is never allocated: a derived
//! protobuf decoder would first build every entry of a 4 MiB message, about 28 bytes of
//! memory per 2 wire bytes for empty peer entries. What other implementations send and we
//! cannot use is skipped, not an error: peers whose id does not parse, addresses with
//! protocols we do not know, unknown fields (rust-libp2p adds record fields 666 `publisher`
//! and 777 `ttl`). Keys are arbitrary bytes.
//!
//! Writing uses a derived protobuf encoder; each peer entry is trimmed to
//! [`MAX_PEER_ENTRY_LEN`], and a whole message over the limit is refused by
//! [`encode_frame`] rather than sent for the peer to reject.

use hyphae_encoding::varint;
use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use prost::Message as _;

use hyphae_encoding::protobuf::{Fields, Value};

/// Largest encoded peer entry (id, addresses, connection) we send or keep, in bytes.
/// Addresses past it are dropped from the end; the id is always kept. go-libp2p-kad-dht
/// applies the same bound both ways (`MaxPeerRecordSize`, the identify protocol's budget for
/// a peer's whole signed record), so a trimmed entry is one every implementation accepts.
pub const MAX_PEER_ENTRY_LEN: usize = 8 * 1024;
/// Longest `timeReceived` kept: an RFC 3339 timestamp has at most 35 characters, so longer
/// text is dropped rather than kept with the record.
const MAX_TIME_RECEIVED_LEN: usize = 64;

/// What one decoded message may make us keep.
///
/// A decoded message holds at most its key and record (both within `max_message_len`) and
/// two peer lists of at most `max_peers` entries of at most [`MAX_PEER_ENTRY_LEN`] each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message body read or written, in bytes. Default 4 MiB, the limit go-libp2p
    /// reads with (`network.MessageSizeMax`). A longer length prefix fails the read before
    /// the body is buffered; [`encode_frame`] refuses to write a longer message.
    pub max_message_len: usize,
    /// Most peers kept from each of a message's two peer lists. Default 64: a response
    /// carries k = 20 closer peers, and a lookup needs only a few providers. Entries past
    /// it are skipped unread, not an error.
    pub max_peers: usize,
    /// Most addresses kept per peer. Default 32; later ones are skipped.
    pub max_addrs_per_peer: usize,
    /// Longest address kept, in bytes. Default 1024, room for a `/dns` name of 255
    /// characters inside a relayed address; longer ones are skipped.
    pub max_addr_len: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_len: 4 * 1024 * 1024,
            max_peers: 64,
            max_addrs_per_peer: 32,
            max_addr_len: 1024,
        }
    }
}

/// What a message asks for or answers (the protobuf `MessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// Store a record (wire value 0).
    PutValue,
    /// Fetch a record and closer peers (1).
    GetValue,
    /// Announce the sender as a provider of a key (2).
    AddProvider,
    /// Fetch the providers of a key and closer peers (3).
    GetProviders,
    /// Fetch the peers closest to a key (4).
    FindNode,
    /// Deprecated liveness check (5): answered, never sent.
    Ping,
}

impl MessageType {
    fn to_wire(self) -> i32 {
        match self {
            MessageType::PutValue => 0,
            MessageType::GetValue => 1,
            MessageType::AddProvider => 2,
            MessageType::GetProviders => 3,
            MessageType::FindNode => 4,
            MessageType::Ping => 5,
        }
    }

    fn from_wire(value: i32) -> Option<MessageType> {
        Some(match value {
            0 => MessageType::PutValue,
            1 => MessageType::GetValue,
            2 => MessageType::AddProvider,
            3 => MessageType::GetProviders,
            4 => MessageType::FindNode,
            5 => MessageType::Ping,
            _ => return None,
        })
    }
}

/// What the sender knows about its connection to a peer it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConnectionType {
    /// No connection and nothing else known (wire value 0, also what unknown values read as).
    #[default]
    NotConnected,
    /// A live connection (1).
    Connected,
    /// Recently connected (2).
    CanConnect,
    /// Recently tried hard to connect and failed (3).
    CannotConnect,
}

impl ConnectionType {
    fn to_wire(self) -> i32 {
        match self {
            ConnectionType::NotConnected => 0,
            ConnectionType::Connected => 1,
            ConnectionType::CanConnect => 2,
            ConnectionType::CannotConnect => 3,
        }
    }

    fn from_wire(value: i32) -> ConnectionType {
        match value {
            1 => ConnectionType::Connected,
            2 => ConnectionType::CanConnect,
            3 => ConnectionType::CannotConnect,
            _ => ConnectionType::NotConnected,
        }
    }
}

/// A peer listed in a message: its id, the addresses it may be reached at, and how the
/// sender is connected to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's id.
    pub id: PeerId,
    /// Its addresses, in the sender's order.
    pub addrs: Vec<Multiaddr>,
    /// The sender's connection to it.
    pub connection: ConnectionType,
}

impl PeerInfo {
    /// A peer with these addresses and no connection information.
    pub fn new(id: PeerId, addrs: Vec<Multiaddr>) -> PeerInfo {
        PeerInfo {
            id,
            addrs,
            connection: ConnectionType::NotConnected,
        }
    }

    /// The entry without a trailing `/p2p/<id>` of this peer on its addresses, and without
    /// the addresses that end in another peer's id.
    pub fn with_plain_addrs(mut self) -> PeerInfo {
        self.addrs = plain_addrs(&self.id, self.addrs);
        self
    }
}

/// `peer`'s addresses with a trailing `/p2p/<peer>` taken off (js-libp2p sends some so; the
/// id is known already) and those ending in another peer's id dropped, so that every address
/// of a peer reads the same whoever reported it.
pub(crate) fn plain_addrs(peer: &PeerId, mut addrs: Vec<Multiaddr>) -> Vec<Multiaddr> {
    addrs.retain_mut(|addr| match addr.peer_id() {
        Some(named) if named == *peer => {
            addr.pop();
            true
        }
        Some(_) => false,
        None => true,
    });
    addrs
}

/// A key and value stored in the DHT (the protobuf `Record`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    /// The key the value is stored under (arbitrary bytes, e.g. `/pk/<peer id>`).
    pub key: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
    /// When the sender received the record, as RFC 3339 text (see [`crate::parse_rfc3339`]).
    /// Set by whoever stores a record, so it tells nothing about the record itself. An empty
    /// string is not on the wire, so `Some("")` reads back as `None`.
    pub time_received: Option<String>,
}

impl Record {
    /// A record with no receive time.
    pub fn new(key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> Record {
        Record {
            key: key.into(),
            value: value.into(),
            time_received: None,
        }
    }
}

/// One Kademlia request or response.
///
/// Which fields matter depends on `kind` (kad-dht/README.md lists them per type); the
/// constructors build each request and response the way go-libp2p does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// What the message asks for or answers.
    pub kind: MessageType,
    /// The key asked about: a peer id for `FIND_NODE`, a multihash for the provider
    /// messages, a record key for the value messages. Arbitrary bytes.
    pub key: Vec<u8>,
    /// The record stored (`PUT_VALUE`) or found (`GET_VALUE`).
    pub record: Option<Record>,
    /// Peers closer to the key, in answers.
    pub closer_peers: Vec<PeerInfo>,
    /// Providers of the key: the one announced by `ADD_PROVIDER`, those found by
    /// `GET_PROVIDERS`.
    pub provider_peers: Vec<PeerInfo>,
}

impl Message {
    /// A message of `kind` about `key` with nothing else in it.
    pub fn new(kind: MessageType, key: impl Into<Vec<u8>>) -> Message {
        Message {
            kind,
            key: key.into(),
            record: None,
            closer_peers: Vec::new(),
            provider_peers: Vec::new(),
        }
    }

    /// Asks for the peers closest to `key` (usually a binary peer id).
    pub fn find_node(key: impl Into<Vec<u8>>) -> Message {
        Message::new(MessageType::FindNode, key)
    }

    /// Answers `FIND_NODE` with the closest peers known. The key is left out, as go-libp2p
    /// leaves it out.
    pub fn find_node_response(closer_peers: Vec<PeerInfo>) -> Message {
        Message {
            closer_peers,
            ..Message::new(MessageType::FindNode, Vec::new())
        }
    }

    /// Asks for the record stored under `key`.
    pub fn get_value(key: impl Into<Vec<u8>>) -> Message {
        Message::new(MessageType::GetValue, key)
    }

    /// Answers `GET_VALUE` with the record held, if any, and closer peers.
    pub fn get_value_response(
        key: impl Into<Vec<u8>>,
        record: Option<Record>,
        closer_peers: Vec<PeerInfo>,
    ) -> Message {
        Message {
            record,
            closer_peers,
            ..Message::new(MessageType::GetValue, key)
        }
    }

    /// Asks a peer to store `record` under its key. The answer echoes the request.
    pub fn put_value(record: Record) -> Message {
        Message {
            key: record.key.clone(),
            record: Some(record),
            ..Message::new(MessageType::PutValue, Vec::new())
        }
    }

    /// Announces `provider` (which must be the sender) as a provider of `key`. Needs no
    /// answer.
    pub fn add_provider(key: impl Into<Vec<u8>>, provider: PeerInfo) -> Message {
        Message {
            provider_peers: vec![provider],
            ..Message::new(MessageType::AddProvider, key)
        }
    }

    /// Asks for the providers of `key`.
    pub fn get_providers(key: impl Into<Vec<u8>>) -> Message {
        Message::new(MessageType::GetProviders, key)
    }

    /// Answers `GET_PROVIDERS` with the providers known and closer peers.
    pub fn get_providers_response(
        key: impl Into<Vec<u8>>,
        provider_peers: Vec<PeerInfo>,
        closer_peers: Vec<PeerInfo>,
    ) -> Message {
        Message {
            provider_peers,
            closer_peers,
            ..Message::new(MessageType::GetProviders, key)
        }
    }

    /// The deprecated `PING`, which a node answers with the same message but never sends.
    pub fn ping() -> Message {
        Message::new(MessageType::Ping, Vec::new())
    }

    /// Encodes the protobuf body, without a length prefix.
    ///
    /// Each peer entry keeps its id and as many of its addresses, in order, as fit in
    /// [`MAX_PEER_ENTRY_LEN`] bytes. Nothing else is trimmed: the caller bounds the key,
    /// the record and the number of peers, and [`encode_frame`] refuses a message over the
    /// limit.
    pub fn encode(&self) -> Vec<u8> {
        self.to_wire().encode_to_vec()
    }

    /// Decodes a protobuf body (without its length prefix) within `limits`.
    ///
    /// Unknown fields are ignored, entries past a limit and peers or addresses that do not
    /// parse are skipped; a body that is not valid protobuf, a known field with the wrong
    /// wire type, or a `type` that is no [`MessageType`] is an error.
    pub fn decode(body: &[u8], limits: &Limits) -> Result<Message, DecodeError> {
        if body.len() > limits.max_message_len {
            return Err(DecodeError::TooLarge {
                len: body.len() as u64,
                max: limits.max_message_len,
            });
        }
        let mut kind = 0;
        let mut key: &[u8] = &[];
        let mut record: Option<Record> = None;
        let mut closer_peers = Vec::new();
        let mut provider_peers = Vec::new();
        for field in Fields::new(body) {
            match field? {
                (1, Value::Varint(value)) => kind = value as i32,
                (2, Value::Bytes(bytes)) => key = bytes,
                // A message field that occurs twice is merged, as protobuf requires.
                (3, Value::Bytes(bytes)) => {
                    merge_record(record.get_or_insert_with(Record::default), bytes)?
                }
                (8, Value::Bytes(bytes)) => push_peer(&mut closer_peers, bytes, limits)?,
                (9, Value::Bytes(bytes)) => push_peer(&mut provider_peers, bytes, limits)?,
                (field @ (1 | 2 | 3 | 8 | 9), value) => return Err(value.wrong_type(field).into()),
                _ => {}
            }
        }
        Ok(Message {
            kind: MessageType::from_wire(kind).ok_or(DecodeError::UnknownMessageType(kind))?,
            key: key.to_vec(),
            record,
            closer_peers,
            provider_peers,
        })
    }

    fn to_wire(&self) -> WireMessage {
        WireMessage {
            kind: self.kind.to_wire(),
            key: self.key.clone(),
            record: self.record.as_ref().map(|record| WireRecord {
                key: record.key.clone(),
                value: record.value.clone(),
                time_received: record.time_received.clone().unwrap_or_default(),
            }),
            closer_peers: self.closer_peers.iter().map(wire_peer).collect(),
            provider_peers: self.provider_peers.iter().map(wire_peer).collect(),
        }
    }
}

/// Encodes `message` with its length prefix, ready to write to a stream.
///
/// Fails if the body is longer than `limits.max_message_len`, rather than send what the
/// peer would reset the stream for; the caller drops peers or refuses the record.
pub fn encode_frame(message: &Message, limits: &Limits) -> Result<Vec<u8>, EncodeError> {
    let wire = message.to_wire();
    let len = wire.encoded_len();
    if len > limits.max_message_len {
        return Err(EncodeError::TooLarge {
            len,
            max: limits.max_message_len,
        });
    }
    // Protobuf's length delimiter is the same unsigned varint the spec asks for.
    Ok(wire.encode_length_delimited_to_vec())
}

/// Decodes one length-prefixed message from the front of `buf`.
///
/// Returns `Ok(None)` while `buf` holds less than a whole frame (read more and call again),
/// or the message and how many bytes of `buf` it used. A length prefix over
/// `limits.max_message_len` is an error as soon as enough of it has arrived to tell,
/// before the body is read.
pub fn decode_frame(buf: &[u8], limits: &Limits) -> Result<Option<(Message, usize)>, DecodeError> {
    let too_large = |len: u64| DecodeError::TooLarge {
        len,
        max: limits.max_message_len,
    };
    let (len, prefix_len) = match varint::decode(buf) {
        Ok(prefix) => prefix,
        Err(hyphae_encoding::Error::VarintIncomplete) => {
            // The length is at least what has arrived plus one in the next group (a
            // minimal varint never ends with a zero byte).
            let at_least = buf.iter().enumerate().fold(0u64, |sum, (index, byte)| {
                sum | u64::from(byte & 0x7f) << (7 * index)
            }) + (1u64 << (7 * buf.len()));
            if at_least > limits.max_message_len as u64 {
                return Err(too_large(at_least));
            }
            return Ok(None);
        }
        Err(_) => return Err(DecodeError::LengthPrefix),
    };
    if len > limits.max_message_len as u64 {
        return Err(too_large(len));
    }
    let end = prefix_len + len as usize;
    match buf.get(prefix_len..end) {
        Some(body) => Ok(Some((Message::decode(body, limits)?, end))),
        None => Ok(None),
    }
}

/// Why a received message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length prefix or body is over [`Limits::max_message_len`].
    #[error("message of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The length announced or received (a lower bound if the prefix is incomplete).
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The length prefix is longer than 64 bits or not minimally encoded.
    #[error("malformed length prefix")]
    LengthPrefix,
    /// The body is not valid protobuf, or a known field has the wrong wire type.
    #[error("malformed protobuf: {0}")]
    Protobuf(#[from] hyphae_encoding::Error),
    /// The `type` field holds a value that is no message type.
    #[error("unknown message type {0}")]
    UnknownMessageType(i32),
}

/// Why a message was not encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded body would be over [`Limits::max_message_len`].
    #[error("message of {len} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireMessage {
    #[prost(int32, tag = "1")]
    kind: i32,
    #[prost(bytes = "vec", tag = "2")]
    key: Vec<u8>,
    #[prost(message, optional, tag = "3")]
    record: Option<WireRecord>,
    #[prost(message, repeated, tag = "8")]
    closer_peers: Vec<WirePeer>,
    #[prost(message, repeated, tag = "9")]
    provider_peers: Vec<WirePeer>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WireRecord {
    #[prost(bytes = "vec", tag = "1")]
    key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    value: Vec<u8>,
    #[prost(string, tag = "5")]
    time_received: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct WirePeer {
    #[prost(bytes = "vec", tag = "1")]
    id: Vec<u8>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    addrs: Vec<Vec<u8>>,
    #[prost(int32, tag = "3")]
    connection: i32,
}

fn wire_peer(peer: &PeerInfo) -> WirePeer {
    let id = peer.id.to_bytes();
    let kept = addrs_within_entry(&id, peer.connection, peer.addrs.iter());
    WirePeer {
        id,
        addrs: peer.addrs[..kept].iter().map(Multiaddr::to_vec).collect(),
        connection: peer.connection.to_wire(),
    }
}

/// How many of `addrs`, from the front, fit in a peer entry of [`MAX_PEER_ENTRY_LEN`].
fn addrs_within_entry<'a>(
    id: &[u8],
    connection: ConnectionType,
    addrs: impl Iterator<Item = &'a Multiaddr>,
) -> usize {
    // Tags of fields 1 to 15 take one byte; a connection value 1 to 3 takes one more.
    let field_len = |len: usize| 1 + varint::encoded_len(len as u64) + len;
    let connection_len = if connection == ConnectionType::NotConnected {
        0
    } else {
        2
    };
    let mut len = field_len(id.len()) + connection_len;
    addrs
        .take_while(|addr| {
            len += field_len(addr.as_bytes().len());
            len <= MAX_PEER_ENTRY_LEN
        })
        .count()
}

fn merge_record(record: &mut Record, bytes: &[u8]) -> Result<(), DecodeError> {
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Bytes(key)) => record.key = key.to_vec(),
            (2, Value::Bytes(value)) => record.value = value.to_vec(),
            (5, Value::Bytes(time)) => {
                record.time_received = Some(time)
                    .filter(|time| !time.is_empty() && time.len() <= MAX_TIME_RECEIVED_LEN)
                    .and_then(|time| String::from_utf8(time.to_vec()).ok());
            }
            (field @ (1 | 2 | 5), value) => return Err(value.wrong_type(field).into()),
            _ => {}
        }
    }
    Ok(())
}

/// Decodes a peer entry into `peers` unless the list is full (then it is skipped unread)
/// or its id does not parse.
fn push_peer(peers: &mut Vec<PeerInfo>, bytes: &[u8], limits: &Limits) -> Result<(), DecodeError> {
    if peers.len() >= limits.max_peers {
        return Ok(());
    }
    let mut id: &[u8] = &[];
    let mut addrs = Vec::new();
    let mut connection = 0;
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Bytes(bytes)) => id = bytes,
            (2, Value::Bytes(bytes)) => {
                if addrs.len() < limits.max_addrs_per_peer
                    && bytes.len() <= limits.max_addr_len
                    && let Ok(addr) = Multiaddr::try_from(bytes)
                {
                    addrs.push(addr);
                }
            }
            (3, Value::Varint(value)) => connection = value as i32,
            (field @ (1..=3), value) => return Err(value.wrong_type(field).into()),
            _ => {}
        }
    }
    let Ok(peer) = PeerId::from_bytes(id) else {
        return Ok(());
    };
    let connection = ConnectionType::from_wire(connection);
    addrs.truncate(addrs_within_entry(
        peer.as_bytes(),
        connection,
        addrs.iter(),
    ));
    peers.push(PeerInfo {
        id: peer,
        addrs,
        connection,
    });
    Ok(())
}
