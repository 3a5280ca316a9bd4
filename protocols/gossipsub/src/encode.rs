//! Writing an RPC as protobuf, straight from our types.
//!
//! Fields are written in field-number order and repeated fields in their order, the way
//! protobuf encoders (prost, go's) write them, so a message encodes to the same bytes here as
//! in other implementations. That matters for signatures: a message's signature covers its
//! protobuf encoding, which a verifier rebuilds. Absent `Option` fields are not written;
//! topics and `subscribe` always are.

use hyphae_encoding::protobuf::{
    len_field_len, varint_field_len, write_bytes_field, write_len_prefix, write_varint_field,
};

use crate::rpc::{
    ControlExtensions, ControlGraft, ControlIDontWant, ControlIHave, ControlIWant, ControlMessage,
    ControlPrune, Message, MessageId, PeerInfo, Rpc, SubOpts,
};
use crate::schema;

/// A protobuf message of the schema: its encoded length, and writing it.
pub(crate) trait Encode {
    /// Bytes [`Encode::encode_to`] writes.
    fn encoded_len(&self) -> usize;
    /// Appends the encoding to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);
}

impl Rpc {
    /// Encodes the RPC as protobuf, without a length prefix.
    ///
    /// Nothing is checked against [`Limits`](crate::Limits); [`encode_frame`] refuses an RPC
    /// that is too long.
    ///
    /// [`encode_frame`]: crate::encode_frame
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut out);
        out
    }

    /// How many bytes [`Rpc::encode`] produces.
    pub fn encoded_len(&self) -> usize {
        Encode::encoded_len(self)
    }

    /// Appends the protobuf encoding of the RPC to `out`.
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        Encode::encode_to(self, out)
    }
}

impl Encode for Rpc {
    fn encoded_len(&self) -> usize {
        messages_len(schema::rpc::SUBSCRIPTIONS, &self.subscriptions)
            + messages_len(schema::rpc::PUBLISH, &self.publish)
            + self
                .control
                .as_ref()
                .map_or(0, |control| message_len(schema::rpc::CONTROL, control))
            + if self.test_extension {
                len_field_len(schema::rpc::TEST_EXTENSION, 0)
            } else {
                0
            }
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        write_messages(schema::rpc::SUBSCRIPTIONS, &self.subscriptions, out);
        write_messages(schema::rpc::PUBLISH, &self.publish, out);
        if let Some(control) = &self.control {
            write_message(schema::rpc::CONTROL, control, out);
        }
        if self.test_extension {
            write_len_prefix(schema::rpc::TEST_EXTENSION, 0, out);
        }
    }
}

impl Encode for SubOpts {
    fn encoded_len(&self) -> usize {
        varint_field_len(schema::sub_opts::SUBSCRIBE, u64::from(self.subscribe))
            + len_field_len(schema::sub_opts::TOPIC_ID, self.topic.len())
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        write_varint_field(schema::sub_opts::SUBSCRIBE, u64::from(self.subscribe), out);
        write_bytes_field(schema::sub_opts::TOPIC_ID, self.topic.as_bytes(), out);
    }
}

impl Encode for Message {
    fn encoded_len(&self) -> usize {
        use schema::message::*;
        optional_bytes_len(FROM, self.from.as_deref())
            + optional_bytes_len(DATA, self.data.as_deref())
            + optional_bytes_len(SEQNO, self.seqno.as_deref())
            + len_field_len(TOPIC, self.topic.len())
            + optional_bytes_len(SIGNATURE, self.signature.as_deref())
            + optional_bytes_len(KEY, self.key.as_deref())
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        use schema::message::*;
        write_optional_bytes(FROM, self.from.as_deref(), out);
        write_optional_bytes(DATA, self.data.as_deref(), out);
        write_optional_bytes(SEQNO, self.seqno.as_deref(), out);
        write_bytes_field(TOPIC, self.topic.as_bytes(), out);
        write_optional_bytes(SIGNATURE, self.signature.as_deref(), out);
        write_optional_bytes(KEY, self.key.as_deref(), out);
    }
}

impl Encode for ControlMessage {
    fn encoded_len(&self) -> usize {
        use schema::control::*;
        messages_len(IHAVE, &self.ihave)
            + messages_len(IWANT, &self.iwant)
            + messages_len(GRAFT, &self.graft)
            + messages_len(PRUNE, &self.prune)
            + messages_len(IDONTWANT, &self.idontwant)
            + self
                .extensions
                .as_ref()
                .map_or(0, |extensions| message_len(EXTENSIONS, extensions))
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        use schema::control::*;
        write_messages(IHAVE, &self.ihave, out);
        write_messages(IWANT, &self.iwant, out);
        write_messages(GRAFT, &self.graft, out);
        write_messages(PRUNE, &self.prune, out);
        write_messages(IDONTWANT, &self.idontwant, out);
        if let Some(extensions) = &self.extensions {
            write_message(EXTENSIONS, extensions, out);
        }
    }
}

impl Encode for ControlIHave {
    fn encoded_len(&self) -> usize {
        len_field_len(schema::ihave::TOPIC_ID, self.topic.len())
            + message_ids_len(schema::ihave::MESSAGE_IDS, &self.message_ids)
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        write_bytes_field(schema::ihave::TOPIC_ID, self.topic.as_bytes(), out);
        write_message_ids(schema::ihave::MESSAGE_IDS, &self.message_ids, out);
    }
}

impl Encode for ControlIWant {
    fn encoded_len(&self) -> usize {
        message_ids_len(schema::message_ids::MESSAGE_IDS, &self.message_ids)
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        write_message_ids(schema::message_ids::MESSAGE_IDS, &self.message_ids, out);
    }
}

impl Encode for ControlIDontWant {
    fn encoded_len(&self) -> usize {
        message_ids_len(schema::message_ids::MESSAGE_IDS, &self.message_ids)
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        write_message_ids(schema::message_ids::MESSAGE_IDS, &self.message_ids, out);
    }
}

impl Encode for ControlGraft {
    fn encoded_len(&self) -> usize {
        len_field_len(schema::graft::TOPIC_ID, self.topic.len())
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        write_bytes_field(schema::graft::TOPIC_ID, self.topic.as_bytes(), out);
    }
}

impl Encode for ControlPrune {
    fn encoded_len(&self) -> usize {
        use schema::prune::*;
        len_field_len(TOPIC_ID, self.topic.len())
            + messages_len(PEERS, &self.peers)
            + self
                .backoff
                .map_or(0, |backoff| varint_field_len(BACKOFF, backoff))
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        use schema::prune::*;
        write_bytes_field(TOPIC_ID, self.topic.as_bytes(), out);
        write_messages(PEERS, &self.peers, out);
        if let Some(backoff) = self.backoff {
            write_varint_field(BACKOFF, backoff, out);
        }
    }
}

impl Encode for PeerInfo {
    fn encoded_len(&self) -> usize {
        use schema::peer_info::*;
        optional_bytes_len(PEER_ID, self.peer_id.as_deref())
            + optional_bytes_len(SIGNED_PEER_RECORD, self.signed_peer_record.as_deref())
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        use schema::peer_info::*;
        write_optional_bytes(PEER_ID, self.peer_id.as_deref(), out);
        write_optional_bytes(SIGNED_PEER_RECORD, self.signed_peer_record.as_deref(), out);
    }
}

impl Encode for ControlExtensions {
    fn encoded_len(&self) -> usize {
        if self.test_extension {
            varint_field_len(schema::extensions::TEST_EXTENSION, 1)
        } else {
            0
        }
    }

    fn encode_to(&self, out: &mut Vec<u8>) {
        if self.test_extension {
            write_varint_field(schema::extensions::TEST_EXTENSION, 1, out);
        }
    }
}

fn message_len(field: u32, message: &impl Encode) -> usize {
    len_field_len(field, message.encoded_len())
}

fn write_message(field: u32, message: &impl Encode, out: &mut Vec<u8>) {
    write_len_prefix(field, message.encoded_len(), out);
    message.encode_to(out);
}

fn messages_len(field: u32, messages: &[impl Encode]) -> usize {
    messages
        .iter()
        .map(|message| message_len(field, message))
        .sum()
}

fn write_messages(field: u32, messages: &[impl Encode], out: &mut Vec<u8>) {
    for message in messages {
        write_message(field, message, out);
    }
}

fn message_ids_len(field: u32, ids: &[MessageId]) -> usize {
    ids.iter()
        .map(|id| len_field_len(field, id.as_bytes().len()))
        .sum()
}

fn write_message_ids(field: u32, ids: &[MessageId], out: &mut Vec<u8>) {
    for id in ids {
        write_bytes_field(field, id.as_bytes(), out);
    }
}

fn optional_bytes_len(field: u32, bytes: Option<&[u8]>) -> usize {
    bytes.map_or(0, |bytes| len_field_len(field, bytes.len()))
}

fn write_optional_bytes(field: u32, bytes: Option<&[u8]>, out: &mut Vec<u8>) {
    if let Some(bytes) = bytes {
        write_bytes_field(field, bytes, out);
    }
}
