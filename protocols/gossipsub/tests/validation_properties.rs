//! Whatever message a peer sends, validation under either policy and every message-id
//! function return a result and never panic; whatever we publish validates.

use bytes::Bytes;
use hyphae_gossipsub::{
    Message, MessageIdFn, Origin, Publisher, SignaturePolicy, author_seqno_id,
    author_seqno_text_id, data_sha256_id,
};
use hyphae_identity::Keypair;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..48)
}

/// A `from` that is sometimes a real peer id (an inlined Ed25519 key or a SHA-256 hash),
/// so that validation gets past parsing to key resolution and verification.
fn author() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(),
        any::<[u8; 32]>()
            .prop_map(|secret| Keypair::ed25519_from_secret(&secret).peer_id().to_bytes()),
        any::<[u8; 32]>().prop_map(|digest| [&[0x12, 0x20][..], &digest].concat()),
    ]
}

/// A `key` that is sometimes a well-formed Ed25519 public key protobuf.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        bytes(),
        any::<[u8; 32]>().prop_map(|data| [&[0x08, 0x01, 0x12, 0x20][..], &data].concat()),
    ]
}

fn message() -> impl Strategy<Value = Message> {
    (
        of(author()),
        of(bytes().prop_map(Bytes::from)),
        of(prop_oneof![bytes(), any::<[u8; 8]>().prop_map(Vec::from)]),
        "\\PC{0,12}",
        of(prop_oneof![bytes(), vec(any::<u8>(), 64)]),
        of(key()),
    )
        .prop_map(|(from, data, seqno, topic, signature, key)| Message {
            from,
            data,
            seqno,
            topic,
            signature,
            key,
        })
}

proptest! {
    #[test]
    fn validating_any_message_never_panics(message in message()) {
        for policy in [SignaturePolicy::StrictSign, SignaturePolicy::StrictNoSign] {
            let _ = policy.validate(&message);
        }
        let _ = author_seqno_id(&message);
        let _ = author_seqno_text_id(&message);
        let _ = data_sha256_id(&message);
    }

    #[test]
    fn strict_no_sign_accepts_exactly_the_messages_without_authenticity_fields(
        message in message()
    ) {
        let is_bare = message.from.is_none()
            && message.seqno.is_none()
            && message.signature.is_none()
            && message.key.is_none();
        prop_assert_eq!(SignaturePolicy::StrictNoSign.validate(&message).is_ok(), is_bare);
    }

    #[test]
    fn whatever_we_publish_validates_under_our_policy(
        secret in any::<[u8; 32]>(),
        first_seqno in any::<u64>(),
        topic in "\\PC{0,12}",
        data in bytes(),
        is_signing in any::<bool>(),
    ) {
        let keypair = Keypair::ed25519_from_secret(&secret);
        let mut publisher = if is_signing {
            Publisher::signing(keypair.clone(), first_seqno)
        } else {
            Publisher::anonymous()
        };
        let message = publisher.build_message(topic, data).expect("Ed25519 signing");
        let origin = publisher.policy().validate(&message).expect("valid");
        let expected = if is_signing {
            Origin::Author { peer_id: keypair.peer_id(), seqno: first_seqno }
        } else {
            Origin::Anonymous
        };
        prop_assert_eq!(origin, expected);
        let id = MessageIdFn::default_for(publisher.policy()).message_id(&message);
        prop_assert!(!id.as_bytes().is_empty());
    }
}
