//! Splitting the subscriptions and control the router sends a peer into RPCs that every
//! implementation we interoperate with accepts.
//!
//! The router hands over one RPC per occasion: all our subscriptions when a peer connects,
//! a heartbeat's GRAFTs, PRUNEs and IHAVEs for every topic. In one RPC that can be more than
//! rust-libp2p takes at its defaults, and it does not take part of it:
//!
//! - more than [`MAX_SUBSCRIPTIONS_PER_RPC`] subscriptions, and rust-libp2p 0.50's default
//!   subscription filter (`MaxCountSubscriptionFilter`, `max_subscriptions_per_request`)
//!   ignores every subscription of the RPC;
//! - more than [`MAX_CONTROL_BYTES_PER_RPC`] of subscriptions and control together, and its
//!   decoder (`Config::max_control_message_size`) fails the read, which ends the stream the
//!   RPC came on: whatever we send after it on that stream is lost as well.
//!
//! So what the router sends as one RPC goes out as several, in the same order: the
//! subscriptions first (a receiver applies them in order, so the last change of a topic
//! still wins), then the control entries, a list of message ids split across entries of the
//! same kind and topic when one entry alone would not fit. Receivers act on entries one by
//! one, so nothing changes meaning, with one cost: rust-libp2p also takes at most 10 RPCs
//! with IHAVEs per peer and heartbeat (`max_ihave_messages`), so RPCs are packed full, and a
//! heartbeat's gossip past ten of them is ignored rather than the whole stream lost.
//! Messages are not touched: the driver already sends each in its own RPC.

use hyphae_encoding::protobuf::len_field_len;

use crate::encode::Encode;
use crate::rpc::{
    ControlIDontWant, ControlIHave, ControlIWant, ControlMessage, MessageId, Rpc, SubOpts,
};
use crate::schema;

/// Most subscriptions in one RPC: rust-libp2p 0.50's default `max_subscriptions_per_request`
/// (`MaxCountSubscriptionFilter::default()`); it ignores all subscriptions of an RPC with more.
pub(crate) const MAX_SUBSCRIPTIONS_PER_RPC: usize = 100;

/// Most bytes of subscriptions and control (the RPC's fields 1 and 3, with their tags and
/// lengths) in one RPC: rust-libp2p 0.50's default `max_control_message_size`, over which it
/// fails the read and drops the stream. go-libp2p and hyphae take up to 1 MiB.
pub(crate) const MAX_CONTROL_BYTES_PER_RPC: usize = 16 * 1024;

/// The control field's own tag and length prefix: one byte of tag, at most three of length
/// for the [`MAX_CONTROL_BYTES_PER_RPC`] it may hold (an entry alone larger than that takes
/// more, and goes in an RPC of its own).
const CONTROL_HEADER: usize = 4;

/// `subscriptions`, `control` and `test_extension` of one RPC as one or more RPCs, each with
/// at most [`MAX_SUBSCRIPTIONS_PER_RPC`] subscriptions and at most
/// [`MAX_CONTROL_BYTES_PER_RPC`] bytes of them and control, unless a single entry is larger
/// (a PRUNE with many signed peer records; it then goes alone). The extensions (and the test
/// extension) stay in the first RPC, where the extensions spec wants them.
pub(crate) fn split(
    subscriptions: Vec<SubOpts>,
    control: Option<ControlMessage>,
    test_extension: bool,
) -> Vec<Rpc> {
    let rpc = Rpc {
        subscriptions,
        publish: Vec::new(),
        control,
        test_extension,
    };
    if rpc.subscriptions.len() <= MAX_SUBSCRIPTIONS_PER_RPC
        && control_bytes(&rpc) <= MAX_CONTROL_BYTES_PER_RPC
    {
        return vec![rpc];
    }
    let Rpc {
        subscriptions,
        control,
        test_extension,
        ..
    } = rpc;
    let mut packer = Packer::default();
    packer.current.test_extension = test_extension;
    let control = control.unwrap_or_default();
    if let Some(extensions) = control.extensions {
        let bytes =
            CONTROL_HEADER + len_field_len(schema::control::EXTENSIONS, extensions.encoded_len());
        packer.bytes += bytes;
        packer.control().extensions = Some(extensions);
    }
    for subscription in subscriptions {
        packer.add_subscription(subscription);
    }
    for ihave in control.ihave {
        for ihave in split_ids(ihave.message_ids, |message_ids| ControlIHave {
            topic: ihave.topic.clone(),
            message_ids,
        }) {
            let bytes = entry_len(schema::control::IHAVE, &ihave);
            packer.add_control(bytes, |control| control.ihave.push(ihave));
        }
    }
    for iwant in control.iwant {
        for iwant in split_ids(iwant.message_ids, |message_ids| ControlIWant {
            message_ids,
        }) {
            let bytes = entry_len(schema::control::IWANT, &iwant);
            packer.add_control(bytes, |control| control.iwant.push(iwant));
        }
    }
    for graft in control.graft {
        let bytes = entry_len(schema::control::GRAFT, &graft);
        packer.add_control(bytes, |control| control.graft.push(graft));
    }
    for prune in control.prune {
        let bytes = entry_len(schema::control::PRUNE, &prune);
        packer.add_control(bytes, |control| control.prune.push(prune));
    }
    for idontwant in control.idontwant {
        for idontwant in split_ids(idontwant.message_ids, |message_ids| ControlIDontWant {
            message_ids,
        }) {
            let bytes = entry_len(schema::control::IDONTWANT, &idontwant);
            packer.add_control(bytes, |control| control.idontwant.push(idontwant));
        }
    }
    packer.finish()
}

/// Bytes of an RPC's subscriptions and control, as rust-libp2p counts them.
fn control_bytes(rpc: &Rpc) -> usize {
    let subscriptions: usize = rpc
        .subscriptions
        .iter()
        .map(|subscription| len_field_len(schema::rpc::SUBSCRIPTIONS, subscription.encoded_len()))
        .sum();
    let control = rpc.control.as_ref().map_or(0, |control| {
        len_field_len(schema::rpc::CONTROL, control.encoded_len())
    });
    subscriptions + control
}

/// The bytes an entry adds to a `ControlMessage`.
fn entry_len<T: Encode>(field: u32, entry: &T) -> usize {
    len_field_len(field, entry.encoded_len())
}

/// `ids` as entries made by `entry`, each small enough to go with the control header in an
/// RPC of [`MAX_CONTROL_BYTES_PER_RPC`] (at least one id each, whatever its size).
fn split_ids<T: Encode>(ids: Vec<MessageId>, entry: impl Fn(Vec<MessageId>) -> T) -> Vec<T> {
    // The entry's tag and length prefix (at most 1 + 3 bytes) and the rest of it (a topic)
    // are measured on the entry without ids.
    let room = MAX_CONTROL_BYTES_PER_RPC
        .saturating_sub(CONTROL_HEADER + 4 + entry(Vec::new()).encoded_len());
    let mut entries = Vec::new();
    let mut chunk = Vec::new();
    let mut bytes = 0;
    for id in ids {
        // Field 1 (IWANT, IDONTWANT) or 2 (IHAVE): a one-byte tag either way.
        let id_bytes = len_field_len(1, id.as_bytes().len());
        if !chunk.is_empty() && bytes + id_bytes > room {
            entries.push(entry(std::mem::take(&mut chunk)));
            bytes = 0;
        }
        bytes += id_bytes;
        chunk.push(id);
    }
    if !chunk.is_empty() || entries.is_empty() {
        entries.push(entry(chunk));
    }
    entries
}

/// RPCs filled one entry at a time.
#[derive(Default)]
struct Packer {
    done: Vec<Rpc>,
    current: Rpc,
    /// Bytes of subscriptions and control in `current`, the control header included.
    bytes: usize,
}

impl Packer {
    fn control(&mut self) -> &mut ControlMessage {
        self.current
            .control
            .get_or_insert_with(ControlMessage::default)
    }

    /// Starts a new RPC unless `bytes` more fit in the current one.
    fn make_room(&mut self, bytes: usize) {
        let is_empty = self.current.subscriptions.is_empty() && self.current.control.is_none();
        if !is_empty && self.bytes + bytes > MAX_CONTROL_BYTES_PER_RPC {
            self.done.push(std::mem::take(&mut self.current));
            self.bytes = 0;
        }
    }

    fn add_subscription(&mut self, subscription: SubOpts) {
        let bytes = len_field_len(schema::rpc::SUBSCRIPTIONS, subscription.encoded_len());
        if self.current.subscriptions.len() >= MAX_SUBSCRIPTIONS_PER_RPC {
            self.done.push(std::mem::take(&mut self.current));
            self.bytes = 0;
        }
        self.make_room(bytes);
        self.bytes += bytes;
        self.current.subscriptions.push(subscription);
    }

    fn add_control(&mut self, bytes: usize, add: impl FnOnce(&mut ControlMessage)) {
        let header = if self.current.control.is_none() {
            CONTROL_HEADER
        } else {
            0
        };
        self.make_room(bytes + header);
        if self.current.control.is_none() {
            self.bytes += CONTROL_HEADER;
        }
        self.bytes += bytes;
        add(self.control());
    }

    fn finish(mut self) -> Vec<Rpc> {
        if !self.current.is_empty() || self.done.is_empty() {
            self.done.push(self.current);
        }
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::{ControlExtensions, ControlGraft};

    fn subscribe(index: usize) -> SubOpts {
        SubOpts {
            subscribe: true,
            topic: format!("topic-{index}"),
        }
    }

    fn topics(rpcs: &[Rpc]) -> Vec<String> {
        rpcs.iter()
            .flat_map(|rpc| rpc.subscriptions.iter().map(|sub| sub.topic.clone()))
            .collect()
    }

    fn assert_each_fits(rpcs: &[Rpc]) {
        for rpc in rpcs {
            assert!(rpc.subscriptions.len() <= MAX_SUBSCRIPTIONS_PER_RPC);
            assert!(
                control_bytes(rpc) <= MAX_CONTROL_BYTES_PER_RPC,
                "{}",
                control_bytes(rpc)
            );
            assert!(!rpc.is_empty());
        }
    }

    #[test]
    fn a_small_rpc_goes_as_it_is() {
        let control = ControlMessage {
            graft: vec![ControlGraft { topic: "a".into() }],
            ..ControlMessage::default()
        };
        let rpcs = split(vec![subscribe(0)], Some(control.clone()), true);
        assert_eq!(rpcs.len(), 1);
        assert_eq!(rpcs[0].subscriptions, vec![subscribe(0)]);
        assert_eq!(rpcs[0].control, Some(control));
        assert!(rpcs[0].test_extension);
    }

    #[test]
    fn many_subscriptions_go_a_hundred_at_a_time_in_order() {
        let subscriptions: Vec<SubOpts> = (0..250).map(subscribe).collect();
        let rpcs = split(subscriptions.clone(), None, false);
        assert_eq!(rpcs.len(), 3);
        assert_each_fits(&rpcs);
        let expected: Vec<String> = subscriptions.into_iter().map(|sub| sub.topic).collect();
        assert_eq!(topics(&rpcs), expected);
    }

    #[test]
    fn long_topics_split_by_bytes_before_the_count() {
        // 100 topics of 1000 bytes: about 100 KB, which rust-libp2p refuses in one RPC.
        let subscriptions: Vec<SubOpts> = (0..100)
            .map(|index| SubOpts {
                subscribe: index % 2 == 0,
                topic: format!("{index:0>1000}"),
            })
            .collect();
        let rpcs = split(subscriptions.clone(), None, false);
        assert!(rpcs.len() >= 7, "{}", rpcs.len());
        assert_each_fits(&rpcs);
        let back: Vec<SubOpts> = rpcs.into_iter().flat_map(|rpc| rpc.subscriptions).collect();
        assert_eq!(back, subscriptions);
    }

    #[test]
    fn a_heartbeat_of_grafts_and_ihaves_splits_and_keeps_every_entry() {
        let control = ControlMessage {
            ihave: (0..300)
                .map(|index| ControlIHave {
                    topic: format!("topic-{index}"),
                    message_ids: (0..20u32)
                        .map(|id| MessageId::new(id.to_be_bytes().repeat(5)))
                        .collect(),
                })
                .collect(),
            graft: (0..1000)
                .map(|index| ControlGraft {
                    topic: format!("topic-{index}"),
                })
                .collect(),
            extensions: Some(ControlExtensions {
                test_extension: true,
            }),
            ..ControlMessage::default()
        };
        let rpcs = split(
            (0..150).map(subscribe).collect(),
            Some(control.clone()),
            false,
        );
        assert_each_fits(&rpcs);
        assert_eq!(topics(&rpcs).len(), 150);
        let first = rpcs[0].control.as_ref().expect("extensions first");
        assert_eq!(first.extensions, control.extensions);
        let controls: Vec<&ControlMessage> =
            rpcs.iter().filter_map(|rpc| rpc.control.as_ref()).collect();
        let grafts: Vec<&ControlGraft> = controls.iter().flat_map(|c| &c.graft).collect();
        assert_eq!(grafts.len(), 1000);
        assert!(grafts.iter().zip(&control.graft).all(|(a, b)| *a == b));
        let ihaves: Vec<&ControlIHave> = controls.iter().flat_map(|c| &c.ihave).collect();
        assert_eq!(ihaves, control.ihave.iter().collect::<Vec<_>>());
        assert_eq!(
            controls.iter().filter(|c| c.extensions.is_some()).count(),
            1
        );
    }

    #[test]
    fn one_long_list_of_ids_becomes_several_entries() {
        let ids: Vec<MessageId> = (0..5000u32)
            .map(|id| MessageId::new(id.to_be_bytes().repeat(8)))
            .collect();
        let control = ControlMessage {
            ihave: vec![ControlIHave {
                topic: "news".into(),
                message_ids: ids.clone(),
            }],
            iwant: vec![ControlIWant {
                message_ids: ids.clone(),
            }],
            ..ControlMessage::default()
        };
        let rpcs = split(Vec::new(), Some(control), false);
        assert!(rpcs.len() > 2);
        assert_each_fits(&rpcs);
        let controls: Vec<&ControlMessage> =
            rpcs.iter().filter_map(|rpc| rpc.control.as_ref()).collect();
        let ihave_ids: Vec<MessageId> = controls
            .iter()
            .flat_map(|c| &c.ihave)
            .inspect(|ihave| assert_eq!(ihave.topic, "news"))
            .flat_map(|ihave| ihave.message_ids.clone())
            .collect();
        assert_eq!(ihave_ids, ids);
        let iwant_ids: Vec<MessageId> = controls
            .iter()
            .flat_map(|c| &c.iwant)
            .flat_map(|iwant| iwant.message_ids.clone())
            .collect();
        assert_eq!(iwant_ids, ids);
    }
}
