//! Kademlia (`/ipfs/kad/1.0.0`) messages, framed as on a stream.

use hyphae_kad::{Limits, decode_frame, encode_frame};

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
