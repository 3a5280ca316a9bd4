//! The pubsub schema transcribed field by field from the specs (pubsub/README.md,
//! gossipsub-v1.0.md, -v1.1.md, -v1.2.md, extensions/extensions.proto) as a prost model, as
//! proto2: an `optional` field is an `Option`, present or not. prost is an encoder written by
//! others, so agreeing with it byte for byte checks our field numbers, wire types and order.

use hyphae_gossipsub as ours;

#[derive(Clone, PartialEq, prost::Message)]
pub struct Rpc {
    #[prost(message, repeated, tag = "1")]
    pub subscriptions: Vec<SubOpts>,
    #[prost(message, repeated, tag = "2")]
    pub publish: Vec<Message>,
    #[prost(message, optional, tag = "3")]
    pub control: Option<ControlMessage>,
    #[prost(message, optional, tag = "6492434")]
    pub test_extension: Option<TestExtension>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SubOpts {
    #[prost(bool, optional, tag = "1")]
    pub subscribe: Option<bool>,
    #[prost(string, optional, tag = "2")]
    pub topicid: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub from: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub data: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "3")]
    pub seqno: Option<Vec<u8>>,
    #[prost(string, optional, tag = "4")]
    pub topic: Option<String>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub signature: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "6")]
    pub key: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlMessage {
    #[prost(message, repeated, tag = "1")]
    pub ihave: Vec<ControlIHave>,
    #[prost(message, repeated, tag = "2")]
    pub iwant: Vec<ControlIWant>,
    #[prost(message, repeated, tag = "3")]
    pub graft: Vec<ControlGraft>,
    #[prost(message, repeated, tag = "4")]
    pub prune: Vec<ControlPrune>,
    #[prost(message, repeated, tag = "5")]
    pub idontwant: Vec<ControlIDontWant>,
    #[prost(message, optional, tag = "6")]
    pub extensions: Option<ControlExtensions>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlIHave {
    #[prost(string, optional, tag = "1")]
    pub topic_id: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub message_ids: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlIWant {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub message_ids: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlGraft {
    #[prost(string, optional, tag = "1")]
    pub topic_id: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlPrune {
    #[prost(string, optional, tag = "1")]
    pub topic_id: Option<String>,
    #[prost(message, repeated, tag = "2")]
    pub peers: Vec<PeerInfo>,
    #[prost(uint64, optional, tag = "3")]
    pub backoff: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct PeerInfo {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub peer_id: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    pub signed_peer_record: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlIDontWant {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub message_ids: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ControlExtensions {
    #[prost(bool, optional, tag = "6492434")]
    pub test_extension: Option<bool>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TestExtension {}

fn ids(ids: &[ours::MessageId]) -> Vec<Vec<u8>> {
    ids.iter().map(|id| id.as_bytes().to_vec()).collect()
}

/// Our RPC as the model holds it, with the fields we always write present.
pub fn from_ours(rpc: &ours::Rpc) -> Rpc {
    Rpc {
        subscriptions: rpc
            .subscriptions
            .iter()
            .map(|sub| SubOpts {
                subscribe: Some(sub.subscribe),
                topicid: Some(sub.topic.clone()),
            })
            .collect(),
        publish: rpc
            .publish
            .iter()
            .map(|message| Message {
                from: message.from.clone(),
                data: message.data.as_ref().map(|data| data.to_vec()),
                seqno: message.seqno.clone(),
                topic: Some(message.topic.clone()),
                signature: message.signature.clone(),
                key: message.key.clone(),
            })
            .collect(),
        control: rpc.control.as_ref().map(|control| ControlMessage {
            ihave: control
                .ihave
                .iter()
                .map(|ihave| ControlIHave {
                    topic_id: Some(ihave.topic.clone()),
                    message_ids: ids(&ihave.message_ids),
                })
                .collect(),
            iwant: control
                .iwant
                .iter()
                .map(|iwant| ControlIWant {
                    message_ids: ids(&iwant.message_ids),
                })
                .collect(),
            graft: control
                .graft
                .iter()
                .map(|graft| ControlGraft {
                    topic_id: Some(graft.topic.clone()),
                })
                .collect(),
            prune: control
                .prune
                .iter()
                .map(|prune| ControlPrune {
                    topic_id: Some(prune.topic.clone()),
                    peers: prune
                        .peers
                        .iter()
                        .map(|peer| PeerInfo {
                            peer_id: peer.peer_id.clone(),
                            signed_peer_record: peer.signed_peer_record.clone(),
                        })
                        .collect(),
                    backoff: prune.backoff,
                })
                .collect(),
            idontwant: control
                .idontwant
                .iter()
                .map(|idontwant| ControlIDontWant {
                    message_ids: ids(&idontwant.message_ids),
                })
                .collect(),
            extensions: control
                .extensions
                .as_ref()
                .map(|extensions| ControlExtensions {
                    test_extension: extensions.test_extension.then_some(true),
                }),
        }),
        test_extension: rpc.test_extension.then_some(TestExtension {}),
    }
}
