//! RPCs on a pubsub stream, each behind its length as an unsigned varint.
//!
//! pubsub/README.md ("Stream management", "The RPC") says RPCs are exchanged on one outbound
//! and one inbound stream per peer but leaves their framing implicit; go-libp2p, rust-libp2p
//! and js-libp2p all write each RPC behind its length as an unsigned varint, as libp2p's
//! other protobuf protocols do.

use hyphae_encoding::varint;

use crate::Error;
use crate::decode::DecodedRpc;
use crate::limits::Limits;
use crate::rpc::Rpc;

/// Encodes `rpc` behind its length prefix, ready to write to a stream.
///
/// Fails if the RPC is longer than [`Limits::max_rpc_len`] rather than send what the peer
/// would refuse; the caller splits the RPC or drops what does not fit.
pub fn encode_frame(rpc: &Rpc, limits: &Limits) -> Result<Vec<u8>, Error> {
    let len = rpc.encoded_len();
    if len > limits.max_rpc_len {
        return Err(Error::TooLarge {
            len: len as u64,
            max: limits.max_rpc_len,
        });
    }
    let mut frame = Vec::with_capacity(varint::encoded_len(len as u64) + len);
    varint::encode_to_vec(len as u64, &mut frame);
    rpc.encode_to(&mut frame);
    Ok(frame)
}

/// Decodes the RPC framed at the front of `buf`.
///
/// Returns `Ok(None)` while `buf` holds less than a whole frame (read more and call again),
/// or the RPC and how many bytes of `buf` its frame took. A length prefix over
/// [`Limits::max_rpc_len`] is an error as soon as the prefix is complete, before the body is
/// read, so a reader never buffers more than the limit and a prefix of at most ten bytes.
pub fn decode_frame(buf: &[u8], limits: &Limits) -> Result<Option<(DecodedRpc, usize)>, Error> {
    let frame =
        hyphae_core::frame::decode(buf, limits.max_rpc_len).map_err(|error| match error {
            hyphae_core::Error::FrameTooLarge { len, max } => Error::TooLarge { len, max },
            other => Error::Frame(other),
        })?;
    let Some((body, consumed)) = frame else {
        return Ok(None);
    };
    Ok(Some((Rpc::decode(body, limits)?, consumed)))
}
