//! Record validation: the namespace registry, `/pk` records, and IPNS records built here,
//! tampered with through an independent protobuf model, and taken from the spec's vectors.

use std::time::{Duration, SystemTime};

use hyphae_identity::{KeyType, Keypair, PeerId};
use hyphae_kad::{
    AcceptAll, Clock, Ipns, IpnsRecord, MAX_IPNS_RECORD_LEN, RecordError, Validator, Validators,
    ipns_key, parse_rfc3339, pk_key,
};
use proptest::prelude::*;
use prost::Message as _;

/// The `IpnsEntry` protobuf of ipfs/specs `src/ipns/ipns-record.md`.
#[derive(Clone, PartialEq, prost::Message)]
struct IpnsEntry {
    #[prost(bytes = "vec", optional, tag = "1")]
    value: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "2")]
    signature_v1: Option<Vec<u8>>,
    #[prost(int32, optional, tag = "3")]
    validity_type: Option<i32>,
    #[prost(bytes = "vec", optional, tag = "4")]
    validity: Option<Vec<u8>>,
    #[prost(uint64, optional, tag = "5")]
    sequence: Option<u64>,
    #[prost(uint64, optional, tag = "6")]
    ttl: Option<u64>,
    #[prost(bytes = "vec", optional, tag = "7")]
    public_key: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "8")]
    signature_v2: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "9")]
    data: Option<Vec<u8>>,
}

fn keypair(seed: u8) -> Keypair {
    Keypair::ed25519_from_secret(&[seed; 32])
}

fn time(text: &str) -> SystemTime {
    parse_rfc3339(text).unwrap()
}

/// Validators whose clock reads 2030-01-01.
fn validators() -> Validators {
    Validators::new(Clock::fixed(time("2030-01-01T00:00:00Z")))
}

fn content(sequence: u64, validity: &str) -> IpnsRecord {
    IpnsRecord {
        value: b"/ipfs/bafkqaddwgevxmmraojswg33smq".to_vec(),
        sequence,
        validity: time(validity),
        ttl: Duration::from_secs(300),
    }
}

/// A record of `keypair`'s name, valid until 2030-01-02.
fn signed(keypair: &Keypair, sequence: u64) -> Vec<u8> {
    content(sequence, "2030-01-02T00:00:00.5Z")
        .sign(keypair)
        .unwrap()
}

/// Re-encodes `record` after `change` edits its protobuf.
fn edited(record: &[u8], change: impl FnOnce(&mut IpnsEntry)) -> Vec<u8> {
    let mut entry = IpnsEntry::decode(record).unwrap();
    change(&mut entry);
    entry.encode_to_vec()
}

#[test]
fn keys_with_no_namespace_or_an_unknown_one_are_refused() {
    let validators = validators();
    for key in [&b"pk"[..], b"/pk", b"", b"//x", b"no/slash"] {
        assert!(matches!(
            validators.validate(key, b"v"),
            Err(RecordError::NoNamespace)
        ));
        assert!(matches!(
            validators.select(key, &[b"v"]),
            Err(RecordError::NoNamespace)
        ));
    }
    assert!(matches!(
        validators.validate(b"/example/key", b"v"),
        Err(RecordError::UnknownNamespace { namespace }) if namespace == "example"
    ));
    let mut names: Vec<&str> = validators.namespaces().collect();
    names.sort_unstable();
    assert_eq!(names, ["ipns", "pk"]);
    assert!(
        Validators::empty()
            .validate(&pk_key(&keypair(1).peer_id()), b"")
            .is_err()
    );
}

#[test]
fn accept_all_accepts_anything_and_selects_the_first() {
    let mut validators = validators();
    validators.insert("example", AcceptAll);
    assert!(
        validators
            .validate(b"/example/anything", &[0xff; 10])
            .is_ok()
    );
    assert_eq!(validators.select(b"/example/k", &[b"b", b"a"]).unwrap(), 0);
    assert!(matches!(
        validators.select(b"/example/k", &[]),
        Err(RecordError::NoValues)
    ));
}

#[test]
fn a_validator_selecting_past_the_values_is_an_error_not_a_panic() {
    struct Broken;
    impl Validator for Broken {
        fn validate(&self, _key: &[u8], _value: &[u8]) -> Result<(), RecordError> {
            Ok(())
        }
        fn select(&self, _key: &[u8], _values: &[&[u8]]) -> Result<usize, RecordError> {
            Ok(5)
        }
    }
    let mut validators = Validators::empty();
    validators.insert("broken", Broken);
    assert!(matches!(
        validators.select(b"/broken/k", &[b"a", b"b"]),
        Err(RecordError::SelectionOutOfRange { index: 5, len: 2 })
    ));
}

#[test]
fn a_public_key_record_is_valid_under_its_own_peer_id_only() {
    let validators = validators();
    for keypair in [keypair(1), Keypair::generate(KeyType::Secp256k1).unwrap()] {
        let value = keypair.public().encode_protobuf();
        validators
            .validate(&pk_key(&keypair.peer_id()), &value)
            .unwrap();
        assert!(matches!(
            validators.validate(&pk_key(&self::keypair(2).peer_id()), &value),
            Err(RecordError::PeerIdMismatch)
        ));
        assert_eq!(
            validators
                .select(&pk_key(&keypair.peer_id()), &[&value, &value])
                .unwrap(),
            0
        );
    }
}

#[test]
fn a_pk_record_that_is_not_a_key_or_not_under_a_peer_id_is_refused() {
    let validators = validators();
    let peer = keypair(1).peer_id();
    assert!(matches!(
        validators.validate(&pk_key(&peer), b"not a key"),
        Err(RecordError::InvalidPublicKey(_))
    ));
    let value = keypair(1).public().encode_protobuf();
    assert!(matches!(
        validators.validate(b"/pk/nonsense", &value),
        Err(RecordError::InvalidPeerId)
    ));
}

#[test]
fn a_signed_ipns_record_is_valid_until_its_end_of_life() {
    let owner = keypair(3);
    let key = ipns_key(&owner.peer_id());
    let record = signed(&owner, 1);
    validators().validate(&key, &record).unwrap();
    assert_eq!(
        IpnsRecord::decode(&record).unwrap(),
        content(1, "2030-01-02T00:00:00.5Z")
    );

    let at = |now: &str| Ipns::new(Clock::fixed(time(now)));
    assert!(at("2030-01-02T00:00:00.5Z").validate(&key, &record).is_ok());
    assert!(matches!(
        at("2030-01-02T00:00:00.500000001Z").validate(&key, &record),
        Err(RecordError::Expired)
    ));
}

#[test]
fn an_ipns_record_names_its_key_when_the_name_cannot_inline_it() {
    let owner = Keypair::generate(KeyType::Ecdsa).unwrap();
    let record = signed(&owner, 1);
    let entry = IpnsEntry::decode(&record[..]).unwrap();
    assert_eq!(entry.public_key, Some(owner.public().encode_protobuf()));
    validators()
        .validate(&ipns_key(&owner.peer_id()), &record)
        .unwrap();

    let without_key = edited(&record, |entry| entry.public_key = None);
    assert!(matches!(
        validators().validate(&ipns_key(&owner.peer_id()), &without_key),
        Err(RecordError::NoPublicKey)
    ));
    // Ed25519 names inline their key, so the record leaves it out.
    let entry = IpnsEntry::decode(&signed(&keypair(3), 1)[..]).unwrap();
    assert_eq!(entry.public_key, None);
}

#[test]
fn a_tampered_ipns_record_is_refused() {
    let owner = keypair(3);
    let key = ipns_key(&owner.peer_id());
    let record = signed(&owner, 1);
    let tampered = edited(&record, |entry| {
        let data = entry.data.as_mut().unwrap();
        let at = data
            .windows(5)
            .position(|window| window == b"/ipfs")
            .unwrap();
        data[at + 1] = b'x';
    });
    assert!(matches!(
        validators().validate(&key, &tampered),
        Err(RecordError::InvalidSignature)
    ));
    let resigned_by_another = edited(&record, |entry| {
        entry.signature_v2 = IpnsEntry::decode(&signed(&keypair(4), 1)[..])
            .unwrap()
            .signature_v2;
    });
    assert!(matches!(
        validators().validate(&key, &resigned_by_another),
        Err(RecordError::InvalidSignature)
    ));
}

#[test]
fn an_ipns_record_of_another_key_is_refused() {
    let owner = keypair(3);
    let other = keypair(4);
    let key = ipns_key(&owner.peer_id());
    assert!(matches!(
        validators().validate(&key, &signed(&other, 1)),
        Err(RecordError::InvalidSignature)
    ));
    // Carrying its own key does not help: the key must be the name's.
    let with_its_key = edited(&signed(&other, 1), |entry| {
        entry.public_key = Some(other.public().encode_protobuf());
    });
    assert!(matches!(
        validators().validate(&key, &with_its_key),
        Err(RecordError::PeerIdMismatch)
    ));
}

#[test]
fn legacy_v1_fields_must_match_the_signed_data() {
    let owner = keypair(3);
    let key = ipns_key(&owner.peer_id());
    let record = signed(&owner, 7);
    let with_v1 = |value: &[u8], sequence: u64| {
        edited(&record, |entry| {
            entry.value = Some(value.to_vec());
            entry.signature_v1 = Some(vec![0xff; 64]); // never checked
            entry.validity_type = Some(0);
            entry.validity = Some(b"2030-01-02T00:00:00.5Z".to_vec());
            entry.sequence = Some(sequence);
            entry.ttl = Some(300_000_000_000);
        })
    };
    let value = b"/ipfs/bafkqaddwgevxmmraojswg33smq";
    validators().validate(&key, &with_v1(value, 7)).unwrap();
    assert!(matches!(
        validators().validate(&key, &with_v1(b"/ipfs/other", 7)),
        Err(RecordError::V1Mismatch("Value"))
    ));
    assert!(matches!(
        validators().validate(&key, &with_v1(value, 8)),
        Err(RecordError::V1Mismatch("Sequence"))
    ));
    let value_only = edited(&record, |entry| entry.value = Some(value.to_vec()));
    assert!(matches!(
        validators().validate(&key, &value_only),
        Err(RecordError::V1Mismatch("Validity"))
    ));
}

#[test]
fn an_ipns_record_without_signed_data_or_signature_is_refused() {
    let owner = keypair(3);
    let key = ipns_key(&owner.peer_id());
    let record = signed(&owner, 1);
    let unsigned = edited(&record, |entry| entry.signature_v2 = None);
    assert!(matches!(
        validators().validate(&key, &unsigned),
        Err(RecordError::MissingSignature)
    ));
    let no_data = edited(&record, |entry| entry.data = Some(Vec::new()));
    assert!(matches!(
        validators().validate(&key, &no_data),
        Err(RecordError::MissingData)
    ));
    assert!(matches!(
        validators().validate(&key, &[0xff]),
        Err(RecordError::Protobuf(_))
    ));
}

#[test]
fn an_ipns_record_over_10_kib_is_refused() {
    let owner = keypair(3);
    let mut big = content(1, "2030-01-02T00:00:00Z");
    big.value = vec![b'x'; MAX_IPNS_RECORD_LEN];
    let record = big.sign(&owner).unwrap();
    assert!(matches!(
        validators().validate(&ipns_key(&owner.peer_id()), &record),
        Err(RecordError::TooLarge {
            max: MAX_IPNS_RECORD_LEN,
            ..
        })
    ));
}

#[test]
fn selection_prefers_the_higher_sequence_then_the_later_end_of_life() {
    let owner = keypair(3);
    let key = ipns_key(&owner.peer_id());
    let validators = validators();
    let old = content(1, "2030-06-01T00:00:00Z").sign(&owner).unwrap();
    let new = content(2, "2030-01-02T00:00:00Z").sign(&owner).unwrap();
    let new_longer = content(2, "2030-01-03T00:00:00Z").sign(&owner).unwrap();
    assert_eq!(validators.select(&key, &[&old, &new]).unwrap(), 1);
    assert_eq!(validators.select(&key, &[&new, &old]).unwrap(), 0);
    assert_eq!(
        validators.select(&key, &[&old, &new, &new_longer]).unwrap(),
        2
    );
    assert_eq!(
        validators.select(&key, &[&new_longer, &new, &old]).unwrap(),
        0
    );
    assert_eq!(validators.select(&key, &[&new, &new]).unwrap(), 0);
    assert!(matches!(
        validators.select(&key, &[&new, b"junk"]),
        Err(RecordError::Protobuf(_))
    ));
}

/// The spec's test vectors and two real names (an Ed25519 and an RSA one); see
/// `tests/vectors/ipns/README.md`.
#[test]
fn the_spec_test_vectors_validate_as_the_spec_says() {
    use RecordError::*;
    /// `Ok` holds the value a valid record points at; `Err` recognises the expected error.
    type Expected = Result<&'static str, fn(&RecordError) -> bool>;
    let vectors: [(&str, &[u8], Expected); 8] = [
        (
            "k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku",
            include_bytes!(
                "vectors/ipns/k51qzi5uqu5dm4tm0wt8srkg9h9suud4wuiwjimndrkydqm81cqtlb5ak6p7ku_v1.ipns-record"
            ),
            Err(|error| matches!(error, MissingData)),
        ),
        (
            "k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w",
            include_bytes!(
                "vectors/ipns/k51qzi5uqu5dlkw8pxuw9qmqayfdeh4kfebhmreauqdc6a7c3y7d5i9fi8mk9w_v1-v2.ipns-record"
            ),
            Ok("/ipfs/bafkqaddwgevxmmraojswg33smq"),
        ),
        (
            "k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw",
            include_bytes!(
                "vectors/ipns/k51qzi5uqu5dlmit2tuwdvnx4sbnyqgmvbxftl0eo3f33wwtb9gr7yozae9kpw_v1-v2-broken-v1-value.ipns-record"
            ),
            Err(|error| matches!(error, V1Mismatch("Value"))),
        ),
        (
            "k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c",
            include_bytes!(
                "vectors/ipns/k51qzi5uqu5diamp7qnnvs1p1gzmku3eijkeijs3418j23j077zrkok63xdm8c_v1-v2-broken-signature-v2.ipns-record"
            ),
            Err(|error| matches!(error, InvalidSignature)),
        ),
        (
            "k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y",
            include_bytes!(
                "vectors/ipns/k51qzi5uqu5dilgf7gorsh9vcqqq4myo6jd4zmqkuy9pxyxi5fua3uf7axph4y_v1-v2-broken-signature-v1.ipns-record"
            ),
            Ok("/ipfs/bafkqahtwgevxmmrao5uxi2bamjzg623fnyqhg2lhnzqxi5lsmuqhmmi"),
        ),
        (
            "k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f",
            include_bytes!(
                "vectors/ipns/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2.ipns-record"
            ),
            Ok("/ipfs/bafkqadtwgiww63tmpeqhezldn5zgi"),
        ),
        (
            "12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d",
            include_bytes!(
                "vectors/ipns/12D3KooWLQzUv2FHWGVPXTXSZpdHs7oHbXub2G5WC8Tx4NQhyd2d.ipns-record"
            ),
            Ok("/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"),
        ),
        (
            "QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3",
            include_bytes!(
                "vectors/ipns/QmVujd5Vb7moysJj8itnGufN7MEtPRCNHkKpNuA4onsRa3.ipns-record"
            ),
            Ok("/ipfs/bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am"),
        ),
    ];
    let validators = validators();
    for (name, record, expected) in vectors {
        let name: PeerId = name.parse().unwrap();
        let outcome = validators.validate(&ipns_key(&name), record);
        match expected {
            Ok(value) => {
                assert!(outcome.is_ok(), "{name}: {outcome:?}");
                assert_eq!(IpnsRecord::decode(record).unwrap().value, value.as_bytes());
            }
            Err(is_expected) => {
                let error = outcome.expect_err(&name.to_string());
                assert!(is_expected(&error), "{name}: {error:?}");
            }
        }
    }
}

#[test]
fn records_we_sign_encode_their_data_as_boxo_does() {
    let vector = include_bytes!(
        "vectors/ipns/k51qzi5uqu5dit2ku9mutlfgwyz8u730on38kd10m97m36bjt66my99hb6103f_v2.ipns-record"
    );
    let ours = IpnsRecord::decode(vector)
        .unwrap()
        .sign(&keypair(5))
        .unwrap();
    let data = |record: &[u8]| IpnsEntry::decode(record).unwrap().data.unwrap();
    assert_eq!(data(&ours), data(vector));
}

proptest! {
    #[test]
    fn validating_and_selecting_arbitrary_bytes_never_panics(
        value in proptest::collection::vec(any::<u8>(), 0..600),
        name in 0u8..3,
    ) {
        let validators = validators();
        let key = ipns_key(&keypair(name).peer_id());
        let _ = validators.validate(&key, &value);
        let _ = validators.select(&key, &[&value]);
        let _ = validators.validate(&pk_key(&keypair(name).peer_id()), &value);
    }

    #[test]
    fn a_corrupted_ipns_record_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let owner = keypair(3);
        let mut record = signed(&owner, 1);
        for (index, byte) in flips {
            let at = index.index(record.len());
            record[at] ^= byte;
        }
        let _ = validators().validate(&ipns_key(&owner.peer_id()), &record);
        let _ = IpnsRecord::decode(&record);
    }

    #[test]
    fn arbitrary_signed_data_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        // Data with a valid signature reaches the CBOR reader's every path.
        let owner = keypair(3);
        let signature = owner.sign(&[&b"ipns-signature:"[..], &data].concat()).unwrap();
        let record = IpnsEntry {
            signature_v2: Some(signature),
            data: Some(data),
            ..IpnsEntry::default()
        }
        .encode_to_vec();
        let _ = validators().validate(&ipns_key(&owner.peer_id()), &record);
    }
}
