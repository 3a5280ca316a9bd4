//! gossipsub RPCs, framed as on a stream.

use hyphae_gossipsub::{Limits, decode_frame};

/// A framed RPC within the default limits: what decodes re-encodes to an RPC that decodes
/// to the same thing with nothing more skipped.
pub fn gossipsub_rpc(data: &[u8]) {
    let limits = Limits::default();
    let Ok(Some((decoded, consumed))) = decode_frame(data, &limits) else {
        return;
    };
    assert!(consumed <= data.len());
    let body = decoded.rpc.encode();
    let again = hyphae_gossipsub::Rpc::decode(&body, &limits).expect("an encoded RPC decodes");
    assert_eq!(again.rpc, decoded.rpc);
    assert_eq!(again.skipped, 0);
}
