//! Whatever a peer sends, decoding returns an RPC within the limits or an error, and never
//! panics.

mod common;

use hyphae_gossipsub::{DecodedRpc, Limits, Rpc, decode_frame};
use proptest::prelude::*;

/// Small limits, so that arbitrary input reaches them.
fn small_limits() -> Limits {
    Limits {
        max_rpc_len: 512,
        max_subscriptions: 2,
        max_messages: 2,
        max_control_entries: 2,
        max_ihave_ids: 3,
        max_iwant_ids: 3,
        max_idontwant_ids: 3,
        max_message_id_len: 4,
        max_prune_peers: 2,
        max_topic_len: 4,
    }
}

fn assert_within(decoded: &DecodedRpc, limits: &Limits) {
    let rpc = &decoded.rpc;
    assert!(rpc.subscriptions.len() <= limits.max_subscriptions);
    assert!(rpc.publish.len() <= limits.max_messages);
    let topics = rpc
        .subscriptions
        .iter()
        .map(|sub| &sub.topic)
        .chain(rpc.publish.iter().map(|message| &message.topic));
    let Some(control) = &rpc.control else {
        assert!(
            topics
                .into_iter()
                .all(|topic| topic.len() <= limits.max_topic_len)
        );
        return;
    };
    for len in [
        control.ihave.len(),
        control.iwant.len(),
        control.graft.len(),
        control.prune.len(),
        control.idontwant.len(),
    ] {
        assert!(len <= limits.max_control_entries);
    }
    let count = |ids: Vec<&Vec<hyphae_gossipsub::MessageId>>| -> usize {
        ids.iter().map(|ids| ids.len()).sum()
    };
    assert!(count(control.ihave.iter().map(|e| &e.message_ids).collect()) <= limits.max_ihave_ids);
    assert!(count(control.iwant.iter().map(|e| &e.message_ids).collect()) <= limits.max_iwant_ids);
    assert!(
        count(control.idontwant.iter().map(|e| &e.message_ids).collect())
            <= limits.max_idontwant_ids
    );
    let peers: usize = control.prune.iter().map(|prune| prune.peers.len()).sum();
    assert!(peers <= limits.max_prune_peers);
    let ids = control
        .ihave
        .iter()
        .flat_map(|e| &e.message_ids)
        .chain(control.iwant.iter().flat_map(|e| &e.message_ids))
        .chain(control.idontwant.iter().flat_map(|e| &e.message_ids));
    for id in ids {
        assert!(id.as_bytes().len() <= limits.max_message_id_len);
    }
    let topics = topics
        .chain(control.ihave.iter().map(|e| &e.topic))
        .chain(control.graft.iter().map(|e| &e.topic))
        .chain(control.prune.iter().map(|e| &e.topic));
    for topic in topics {
        assert!(topic.len() <= limits.max_topic_len);
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let limits = small_limits();
        if let Ok(decoded) = Rpc::decode(&bytes, &limits) {
            assert_within(&decoded, &limits);
        }
        let _ = Rpc::decode(&bytes, &Limits::default());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_frame_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let limits = small_limits();
        if let Ok(Some((decoded, consumed))) = decode_frame(&bytes, &limits) {
            prop_assert!(consumed <= bytes.len());
            assert_within(&decoded, &limits);
        }
    }

    /// Valid RPCs with bytes flipped reach deeper into the decoder than random bytes do.
    #[test]
    fn corrupted_rpcs_never_panic_and_stay_within_the_limits(
        rpc in common::rpc(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = rpc.encode();
        if !bytes.is_empty() {
            for (index, byte) in flips {
                let at = index.index(bytes.len());
                bytes[at] ^= byte;
            }
        }
        let limits = small_limits();
        if let Ok(decoded) = Rpc::decode(&bytes, &limits) {
            assert_within(&decoded, &limits);
        }
    }
}
