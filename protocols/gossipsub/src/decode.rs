//! Reading an RPC from protobuf within [`Limits`].
//!
//! The decoder reads field by field ([`hyphae_encoding::protobuf::Fields`]) instead of using
//! a derived decoder, so that an entry past a limit is skipped before anything is allocated
//! for it. Unknown fields are skipped, as protobuf requires and as the v1.3 extension
//! mechanism relies on. What cannot be represented is skipped too and counted, like what is
//! past a limit: a topic that is not UTF-8 (go-libp2p does not check, rust-libp2p fails the
//! whole RPC) or that is too long, a message id that is too long. Malformed protobuf, and a
//! known field with a wire type its schema does not give it, fail the whole RPC: the stream
//! carrying it cannot be trusted further.
//!
//! An embedded message that occurs twice where the schema has one (`control`, `extensions`)
//! is merged, and a scalar that occurs twice keeps its last value, as protobuf requires.

use bytes::Bytes;
use hyphae_encoding::protobuf::{Fields, Value};

use crate::Error;
use crate::limits::Limits;
use crate::rpc::{
    ControlExtensions, ControlGraft, ControlIDontWant, ControlIHave, ControlIWant, ControlMessage,
    ControlPrune, Message, MessageId, PeerInfo, Rpc, SubOpts,
};
use crate::schema;

/// An RPC as read from the wire, with a tally of what was dropped from it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DecodedRpc {
    /// What was kept.
    pub rpc: Rpc,
    /// How many entries, message ids and peer-exchange peers were dropped for being past a
    /// [`Limits`] bound or unusable (see [`Rpc::decode`]). Zero for an RPC from a peer that
    /// stays within the limits; a router may penalise a peer for a non-zero count.
    pub skipped: usize,
}

impl Rpc {
    /// Decodes a protobuf RPC (without its length prefix) within `limits`.
    ///
    /// A body over [`Limits::max_rpc_len`], malformed protobuf, and a known field with the
    /// wrong wire type are errors. Entries past a limit, message ids or topics that are too
    /// long and topics that are not UTF-8 are skipped and counted in
    /// [`DecodedRpc::skipped`]; unknown fields are skipped silently.
    pub fn decode(body: &[u8], limits: &Limits) -> Result<DecodedRpc, Error> {
        if body.len() > limits.max_rpc_len {
            return Err(Error::TooLarge {
                len: body.len() as u64,
                max: limits.max_rpc_len,
            });
        }
        let mut decoder = Decoder {
            limits,
            skipped: 0,
            ihave_ids: 0,
            iwant_ids: 0,
            idontwant_ids: 0,
            prune_peers: 0,
        };
        let rpc = decoder.rpc(body)?;
        Ok(DecodedRpc {
            rpc,
            skipped: decoder.skipped,
        })
    }
}

/// The state of one RPC's decoding: the limits and what has been counted against them.
struct Decoder<'a> {
    limits: &'a Limits,
    /// Entries, ids and peers dropped so far.
    skipped: usize,
    /// Message ids kept so far from the IHAVEs, the IWANTs and the IDONTWANTs.
    ihave_ids: usize,
    iwant_ids: usize,
    idontwant_ids: usize,
    /// Peer-exchange peers kept so far from the PRUNEs.
    prune_peers: usize,
}

impl Decoder<'_> {
    fn rpc(&mut self, body: &[u8]) -> Result<Rpc, Error> {
        use schema::rpc::*;
        let mut rpc = Rpc::default();
        for field in Fields::new(body) {
            match field? {
                (SUBSCRIPTIONS, Value::Bytes(bytes)) => {
                    if rpc.subscriptions.len() >= self.limits.max_subscriptions {
                        self.skipped += 1;
                    } else if let Some(sub) = self.sub_opts(bytes)? {
                        rpc.subscriptions.push(sub);
                    }
                }
                (PUBLISH, Value::Bytes(bytes)) => {
                    if rpc.publish.len() >= self.limits.max_messages {
                        self.skipped += 1;
                    } else if let Some(message) = self.message(bytes)? {
                        rpc.publish.push(message);
                    }
                }
                (CONTROL, Value::Bytes(bytes)) => {
                    self.merge_control(rpc.control.get_or_insert_default(), bytes)?
                }
                // An empty message whose content, if any, is unknown fields.
                (TEST_EXTENSION, Value::Bytes(_)) => rpc.test_extension = true,
                (field @ (SUBSCRIPTIONS | PUBLISH | CONTROL | TEST_EXTENSION), value) => {
                    return Err(value.wrong_type(field).into());
                }
                _ => {}
            }
        }
        Ok(rpc)
    }

    /// A subscription change, or `None` (counted as skipped) if its topic is unusable.
    fn sub_opts(&mut self, bytes: &[u8]) -> Result<Option<SubOpts>, Error> {
        use schema::sub_opts::*;
        let mut subscribe = false;
        let mut topic: &[u8] = &[];
        for field in Fields::new(bytes) {
            match field? {
                (SUBSCRIBE, Value::Varint(value)) => subscribe = value != 0,
                (TOPIC_ID, Value::Bytes(bytes)) => topic = bytes,
                (field @ (SUBSCRIBE | TOPIC_ID), value) => {
                    return Err(value.wrong_type(field).into());
                }
                _ => {}
            }
        }
        Ok(self.topic(topic).map(|topic| SubOpts { subscribe, topic }))
    }

    /// A published message, or `None` (counted as skipped) if its topic is unusable.
    fn message(&mut self, bytes: &[u8]) -> Result<Option<Message>, Error> {
        use schema::message::*;
        let mut from = None;
        let mut data = None;
        let mut seqno = None;
        let mut topic: &[u8] = &[];
        let mut signature = None;
        let mut key = None;
        for field in Fields::new(bytes) {
            match field? {
                (FROM, Value::Bytes(bytes)) => from = Some(bytes),
                (DATA, Value::Bytes(bytes)) => data = Some(bytes),
                (SEQNO, Value::Bytes(bytes)) => seqno = Some(bytes),
                (TOPIC, Value::Bytes(bytes)) => topic = bytes,
                (SIGNATURE, Value::Bytes(bytes)) => signature = Some(bytes),
                (KEY, Value::Bytes(bytes)) => key = Some(bytes),
                (field @ (FROM | DATA | SEQNO | TOPIC | SIGNATURE | KEY), value) => {
                    return Err(value.wrong_type(field).into());
                }
                _ => {}
            }
        }
        // Copied only once the message is known to be kept.
        Ok(self.topic(topic).map(|topic| Message {
            from: from.map(<[u8]>::to_vec),
            data: data.map(Bytes::copy_from_slice),
            seqno: seqno.map(<[u8]>::to_vec),
            topic,
            signature: signature.map(<[u8]>::to_vec),
            key: key.map(<[u8]>::to_vec),
        }))
    }

    fn merge_control(&mut self, control: &mut ControlMessage, bytes: &[u8]) -> Result<(), Error> {
        use schema::control::*;
        let max_entries = self.limits.max_control_entries;
        for field in Fields::new(bytes) {
            match field? {
                (IHAVE, Value::Bytes(bytes)) => {
                    if control.ihave.len() >= max_entries {
                        self.skipped += 1;
                    } else if let Some(ihave) = self.ihave(bytes)? {
                        control.ihave.push(ihave);
                    }
                }
                (IWANT, Value::Bytes(bytes)) => {
                    if control.iwant.len() >= max_entries {
                        self.skipped += 1;
                    } else {
                        let message_ids = self.iwant_ids(bytes)?;
                        control.iwant.push(ControlIWant { message_ids });
                    }
                }
                (GRAFT, Value::Bytes(bytes)) => {
                    if control.graft.len() >= max_entries {
                        self.skipped += 1;
                    } else if let Some(graft) = self.graft(bytes)? {
                        control.graft.push(graft);
                    }
                }
                (PRUNE, Value::Bytes(bytes)) => {
                    if control.prune.len() >= max_entries {
                        self.skipped += 1;
                    } else if let Some(prune) = self.prune(bytes)? {
                        control.prune.push(prune);
                    }
                }
                (IDONTWANT, Value::Bytes(bytes)) => {
                    if control.idontwant.len() >= max_entries {
                        self.skipped += 1;
                    } else {
                        let message_ids = self.idontwant_ids(bytes)?;
                        control.idontwant.push(ControlIDontWant { message_ids });
                    }
                }
                (EXTENSIONS, Value::Bytes(bytes)) => {
                    merge_extensions(control.extensions.get_or_insert_default(), bytes)?
                }
                (field @ (IHAVE | IWANT | GRAFT | PRUNE | IDONTWANT | EXTENSIONS), value) => {
                    return Err(value.wrong_type(field).into());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// An IHAVE, or `None` (counted as skipped) if its topic is unusable; the ids it held
    /// then do not count against the budget.
    fn ihave(&mut self, bytes: &[u8]) -> Result<Option<ControlIHave>, Error> {
        use schema::ihave::*;
        let mut kept = self.ihave_ids;
        let mut topic: &[u8] = &[];
        let mut message_ids = Vec::new();
        for field in Fields::new(bytes) {
            match field? {
                (TOPIC_ID, Value::Bytes(bytes)) => topic = bytes,
                (MESSAGE_IDS, Value::Bytes(id)) => {
                    self.push_id(&mut message_ids, id, &mut kept, self.limits.max_ihave_ids)
                }
                (field @ (TOPIC_ID | MESSAGE_IDS), value) => {
                    return Err(value.wrong_type(field).into());
                }
                _ => {}
            }
        }
        let Some(topic) = self.topic(topic) else {
            return Ok(None);
        };
        self.ihave_ids = kept;
        Ok(Some(ControlIHave { topic, message_ids }))
    }

    fn iwant_ids(&mut self, bytes: &[u8]) -> Result<Vec<MessageId>, Error> {
        let mut kept = self.iwant_ids;
        let ids = self.message_ids(bytes, &mut kept, self.limits.max_iwant_ids)?;
        self.iwant_ids = kept;
        Ok(ids)
    }

    fn idontwant_ids(&mut self, bytes: &[u8]) -> Result<Vec<MessageId>, Error> {
        let mut kept = self.idontwant_ids;
        let ids = self.message_ids(bytes, &mut kept, self.limits.max_idontwant_ids)?;
        self.idontwant_ids = kept;
        Ok(ids)
    }

    /// The ids of an IWANT or IDONTWANT, which share their schema, while `kept` is under
    /// `max_ids`.
    fn message_ids(
        &mut self,
        bytes: &[u8],
        kept: &mut usize,
        max_ids: usize,
    ) -> Result<Vec<MessageId>, Error> {
        use schema::message_ids::*;
        let mut message_ids = Vec::new();
        for field in Fields::new(bytes) {
            match field? {
                (MESSAGE_IDS, Value::Bytes(id)) => {
                    self.push_id(&mut message_ids, id, kept, max_ids)
                }
                (MESSAGE_IDS, value) => return Err(value.wrong_type(MESSAGE_IDS).into()),
                _ => {}
            }
        }
        Ok(message_ids)
    }

    /// Keeps `id` unless it is too long or `kept` ids already reached `max_ids`, and counts
    /// it as skipped then.
    fn push_id(&mut self, ids: &mut Vec<MessageId>, id: &[u8], kept: &mut usize, max_ids: usize) {
        if *kept >= max_ids || id.len() > self.limits.max_message_id_len {
            self.skipped += 1;
            return;
        }
        ids.push(MessageId::from(id));
        *kept += 1;
    }

    fn graft(&mut self, bytes: &[u8]) -> Result<Option<ControlGraft>, Error> {
        use schema::graft::*;
        let mut topic: &[u8] = &[];
        for field in Fields::new(bytes) {
            match field? {
                (TOPIC_ID, Value::Bytes(bytes)) => topic = bytes,
                (TOPIC_ID, value) => return Err(value.wrong_type(TOPIC_ID).into()),
                _ => {}
            }
        }
        Ok(self.topic(topic).map(|topic| ControlGraft { topic }))
    }

    /// A PRUNE, or `None` (counted as skipped) if its topic is unusable; the peers it held
    /// then do not count against the budget.
    fn prune(&mut self, bytes: &[u8]) -> Result<Option<ControlPrune>, Error> {
        use schema::prune::*;
        let mut kept = self.prune_peers;
        let mut topic: &[u8] = &[];
        let mut peers = Vec::new();
        let mut backoff = None;
        for field in Fields::new(bytes) {
            match field? {
                (TOPIC_ID, Value::Bytes(bytes)) => topic = bytes,
                (PEERS, Value::Bytes(bytes)) => {
                    if kept >= self.limits.max_prune_peers {
                        self.skipped += 1;
                    } else {
                        peers.push(peer_info(bytes)?);
                        kept += 1;
                    }
                }
                (BACKOFF, Value::Varint(seconds)) => backoff = Some(seconds),
                (field @ (TOPIC_ID | PEERS | BACKOFF), value) => {
                    return Err(value.wrong_type(field).into());
                }
                _ => {}
            }
        }
        let Some(topic) = self.topic(topic) else {
            return Ok(None);
        };
        self.prune_peers = kept;
        Ok(Some(ControlPrune {
            topic,
            peers,
            backoff,
        }))
    }

    /// `bytes` as a topic, or `None`, counted as skipped, if it is too long or not UTF-8.
    fn topic(&mut self, bytes: &[u8]) -> Option<String> {
        let topic = Some(bytes)
            .filter(|bytes| bytes.len() <= self.limits.max_topic_len)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .map(str::to_owned);
        if topic.is_none() {
            self.skipped += 1;
        }
        topic
    }
}

fn peer_info(bytes: &[u8]) -> Result<PeerInfo, Error> {
    use schema::peer_info::*;
    let mut peer = PeerInfo::default();
    for field in Fields::new(bytes) {
        match field? {
            (PEER_ID, Value::Bytes(bytes)) => peer.peer_id = Some(bytes.to_vec()),
            (SIGNED_PEER_RECORD, Value::Bytes(bytes)) => {
                peer.signed_peer_record = Some(bytes.to_vec())
            }
            (field @ (PEER_ID | SIGNED_PEER_RECORD), value) => {
                return Err(value.wrong_type(field).into());
            }
            _ => {}
        }
    }
    Ok(peer)
}

fn merge_extensions(extensions: &mut ControlExtensions, bytes: &[u8]) -> Result<(), Error> {
    use schema::extensions::*;
    for field in Fields::new(bytes) {
        match field? {
            (TEST_EXTENSION, Value::Varint(value)) => extensions.test_extension = value != 0,
            (TEST_EXTENSION, value) => return Err(value.wrong_type(TEST_EXTENSION).into()),
            // Extensions we do not know, which the spec says to ignore.
            _ => {}
        }
    }
    Ok(())
}
