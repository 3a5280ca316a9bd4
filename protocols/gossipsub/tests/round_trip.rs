//! Every RPC survives encoding and decoding, encodes to the bytes an independent protobuf
//! encoder writes for the specs' schema, and survives framing on a stream.

mod common;

use hyphae_gossipsub::{Limits, Rpc, decode_frame, encode_frame};
use proptest::prelude::*;
use prost::Message as _;

proptest! {
    #[test]
    fn any_rpc_round_trips(rpc in common::rpc()) {
        let bytes = rpc.encode();
        prop_assert_eq!(bytes.len(), rpc.encoded_len());
        let decoded = Rpc::decode(&bytes, &Limits::default()).unwrap();
        prop_assert_eq!(decoded.skipped, 0);
        prop_assert_eq!(decoded.rpc, rpc);
    }

    #[test]
    fn encoding_matches_the_reference_schema_byte_for_byte(rpc in common::rpc()) {
        let reference = common::reference::from_ours(&rpc);
        prop_assert_eq!(rpc.encode(), reference.encode_to_vec());
        prop_assert_eq!(common::reference::Rpc::decode(&rpc.encode()[..]).unwrap(), reference);
    }

    #[test]
    fn frames_round_trip_however_the_stream_splits_them(
        rpcs in proptest::collection::vec(common::rpc(), 1..4),
        split in any::<prop::sample::Index>(),
    ) {
        let limits = Limits::default();
        let mut stream = Vec::new();
        for rpc in &rpcs {
            stream.extend_from_slice(&encode_frame(rpc, &limits).unwrap());
        }
        // Whatever arrived first, a partial frame is never mistaken for a whole one.
        let first_frame_len = encode_frame(&rpcs[0], &limits).unwrap().len();
        let arrived = split.index(stream.len() + 1);
        match decode_frame(&stream[..arrived], &limits).unwrap() {
            Some((_, consumed)) => prop_assert!(arrived >= first_frame_len && consumed == first_frame_len),
            None => prop_assert!(arrived < first_frame_len),
        }

        let mut rest = &stream[..];
        for rpc in &rpcs {
            let (decoded, consumed) = decode_frame(rest, &limits).unwrap().unwrap();
            prop_assert_eq!(&decoded.rpc, rpc);
            rest = &rest[consumed..];
        }
        prop_assert!(rest.is_empty());
    }
}
