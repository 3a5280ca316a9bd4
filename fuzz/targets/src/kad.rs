//! Kademlia (`/ipfs/kad/1.0.0`) messages, framed as on a stream, and the IPNS records
//! stored under `/ipns/` keys.

use std::time::{Duration, SystemTime};

use hyphae_identity::Keypair;
use hyphae_kad::{
    Clock, Ipns, IpnsRecord, Limits, Validator, decode_frame, encode_frame, ipns_key,
};

/// A framed kad message, within small limits: a decoded message keeps within them, takes
/// no more than the input, and re-encodes to a frame that decodes to the same request.
pub fn kad_message(data: &[u8]) {
    let limits = Limits {
        max_message_len: 64 * 1024,
        max_peers: 8,
        max_addrs_per_peer: 4,
        max_addr_len: 256,
    };
    let Ok(Some((message, consumed))) = decode_frame(data, &limits) else {
        return;
    };
    assert!(consumed <= data.len());
    for peers in [&message.closer_peers, &message.provider_peers] {
        assert!(peers.len() <= limits.max_peers);
        for peer in peers {
            assert!(peer.addrs.len() <= limits.max_addrs_per_peer);
            assert!(
                peer.addrs
                    .iter()
                    .all(|addr| addr.as_bytes().len() <= limits.max_addr_len)
            );
        }
    }
    let frame = encode_frame(&message, &limits).expect("a decoded message fits its limit");
    let (again, _) = decode_frame(&frame, &limits)
        .expect("an encoded message decodes")
        .expect("an encoded frame is complete");
    assert_eq!(again.kind, message.kind);
    assert_eq!(again.key, message.key);
    assert_eq!(
        again
            .record
            .as_ref()
            .map(|record| (&record.key, &record.value)),
        message
            .record
            .as_ref()
            .map(|record| (&record.key, &record.value)),
    );
}

/// When the IPNS target's validator reads its clock: before the seeds' end of life.
pub(crate) const IPNS_NOW: u64 = 1_800_000_000;

/// The name the IPNS target verifies records under (its seeds are signed by it).
pub(crate) fn ipns_name() -> Keypair {
    Keypair::ed25519_from_secret(&[3; 32])
}

/// An IPNS record (an `IpnsEntry` protobuf with its DAG-CBOR data), read and verified under
/// a fixed name: a record that verifies reads back as the same content, and `select`
/// between it and another record fails exactly when it does not read.
pub fn ipns_record(data: &[u8]) {
    let name = ipns_name().peer_id();
    let ipns = Ipns::new(Clock::from_fn(|| {
        SystemTime::UNIX_EPOCH + Duration::from_secs(IPNS_NOW)
    }));
    let read = IpnsRecord::decode(data);
    if let Ok(content) = ipns.verify(&name, data) {
        assert_eq!(read.as_ref().ok(), Some(&content));
    }
    let key = ipns_key(&name);
    let _ = ipns.validate(&key, data);
    let other = IpnsRecord {
        value: b"/ipfs/other".to_vec(),
        sequence: 1,
        validity: SystemTime::UNIX_EPOCH + Duration::from_secs(IPNS_NOW + 3600),
        ttl: Duration::from_secs(60),
    }
    .sign(&ipns_name())
    .expect("signs");
    match ipns.select(&key, &[data, &other]) {
        Ok(index) => assert!(index < 2 && read.is_ok()),
        Err(_) => assert!(read.is_err()),
    }
}
