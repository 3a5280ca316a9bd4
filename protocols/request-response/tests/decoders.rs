//! Every built-in decoder, fed arbitrary bytes, returns a value or an error and never
//! panics; every codec round-trips what it writes and refuses what exceeds the limit.

use std::collections::BTreeMap;

use hyphae_request_response::{Cbor, Codec, Error, Json, LengthPrefixed, Message};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    name: String,
    tags: Vec<String>,
    fields: BTreeMap<String, i32>,
    blob: Option<Vec<u8>>,
}

fn record() -> impl Strategy<Value = Record> {
    (
        any::<u64>(),
        ".{0,20}",
        prop::collection::vec(".{0,8}", 0..5),
        prop::collection::btree_map(".{0,8}", any::<i32>(), 0..5),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..64)),
    )
        .prop_map(|(id, name, tags, fields, blob)| Record {
            id,
            name,
            tags,
            fields,
            blob,
        })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// Feeds `bytes` to both decoders of `codec` with `limit`; returns nothing, panics never.
fn decode_both<C: Codec>(codec: &C, bytes: &[u8], limit: usize) {
    let _ = block_on(codec.read_request(&mut &bytes[..], limit));
    let _ = block_on(codec.read_response(&mut &bytes[..], limit));
}

/// Writes `request` and `response` with `codec` and reads them back.
fn round_trip<C>(
    codec: &C,
    request: C::Request,
    response: C::Response,
    limit: usize,
) -> (C::Request, C::Response)
where
    C: Codec,
{
    let mut wire = Vec::new();
    block_on(codec.write_request(&mut wire, request, limit)).unwrap();
    let request = block_on(codec.read_request(&mut &wire[..], limit)).unwrap();
    let mut wire = Vec::new();
    block_on(codec.write_response(&mut wire, response, limit)).unwrap();
    let response = block_on(codec.read_response(&mut &wire[..], limit)).unwrap();
    (request, response)
}

proptest! {
    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        limit in 0usize..4096,
    ) {
        decode_both(&LengthPrefixed::<Vec<u8>>::new(), &bytes, limit);
        decode_both(&LengthPrefixed::<bytes::Bytes>::new(), &bytes, limit);
        decode_both(&Json::<Record, Record>::new(), &bytes, limit);
        decode_both(&Json::<serde_json::Value, String>::new(), &bytes, limit);
        decode_both(&Cbor::<Record, Record>::new(), &bytes, limit);
        decode_both(&Cbor::<Vec<Option<u8>>, BTreeMap<String, f64>>::new(), &bytes, limit);
    }

    #[test]
    fn decoders_never_panic_on_mutated_valid_messages(
        record in record(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mutate = |mut wire: Vec<u8>| {
            if !wire.is_empty() {
                for (index, byte) in &flips {
                    let at = index.index(wire.len());
                    wire[at] ^= byte;
                }
                wire.truncate(cut.index(wire.len() + 1));
            }
            wire
        };
        let json = serde_json::to_vec(&record).unwrap();
        decode_both(&Json::<Record, Record>::new(), &mutate(json), 1 << 20);
        let cbor = cbor4ii_bytes(&Cbor::<Record, Record>::new(), record.clone());
        decode_both(&Cbor::<Record, Record>::new(), &mutate(cbor), 1 << 20);
    }

    #[test]
    fn every_codec_round_trips(
        record in record(),
        other in record(),
        payload in prop::collection::vec(any::<u8>(), 0..5000),
    ) {
        let limit = 1 << 20;
        let (request, response) = round_trip(&Json::new(), record.clone(), other.clone(), limit);
        prop_assert_eq!((&request, &response), (&record, &other));
        let (request, response) = round_trip(&Cbor::new(), record.clone(), other.clone(), limit);
        prop_assert_eq!((&request, &response), (&record, &other));
        let (request, response) =
            round_trip(&LengthPrefixed::<Vec<u8>>::new(), payload.clone(), payload.clone(), limit);
        prop_assert_eq!((&request, &response), (&payload, &payload));
    }

    #[test]
    fn a_message_one_byte_over_the_limit_is_refused_both_ways(
        record in record(),
    ) {
        let codec = Cbor::<Record, Record>::new();
        let wire = cbor4ii_bytes(&codec, record.clone());
        let limit = wire.len() - 1;
        // Writing refuses it...
        let refused = block_on(codec.write_request(&mut Vec::new(), record, limit));
        let is_too_large = matches!(
            refused,
            Err(Error::TooLarge { message: Message::Request, size: Some(size), .. }) if size == wire.len() as u64
        );
        prop_assert!(is_too_large, "{:?}", refused);
        // ...and reading does too.
        let refused = block_on(codec.read_request(&mut &wire[..], limit));
        let is_too_large = matches!(refused, Err(Error::TooLarge { size: None, .. }));
        prop_assert!(is_too_large, "{:?}", refused);
    }
}

/// What the CBOR codec writes for `record`.
fn cbor4ii_bytes(codec: &Cbor<Record, Record>, record: Record) -> Vec<u8> {
    let mut wire = Vec::new();
    block_on(codec.write_request(&mut wire, record, usize::MAX)).unwrap();
    wire
}
