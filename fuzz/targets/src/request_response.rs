//! The request-response codecs: a request or response read from a stream holding arbitrary
//! bytes, by each built-in codec.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use hyphae_request_response::{Cbor, Codec, Json, LengthPrefixed};

/// The size limit the target reads with: small, so that inputs reach it.
pub(crate) const MAX_SIZE: usize = 1024;

/// A typed message, as an application would define one (JSON and CBOR decode into it).
pub(crate) type Document = BTreeMap<String, Vec<u32>>;

/// One message read by the codec the first byte picks (length-prefixed bytes, JSON or
/// CBOR, as a request or a response) from a stream holding the rest, within [`MAX_SIZE`]:
/// what it reads is within the limit, and re-encodes to something it reads back the same.
pub fn request_response(data: &[u8]) {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let is_request = control & 1 == 0;
    match (control >> 1) % 3 {
        0 => {
            let codec = LengthPrefixed::<Vec<u8>>::new();
            if let Some(bytes) = read(&codec, stream, is_request) {
                assert!(bytes.len() <= MAX_SIZE);
                assert_eq!(round_trip(&codec, bytes.clone(), is_request), Some(bytes));
            }
        }
        1 => {
            let codec = Json::<Document, Document>::default();
            if let Some(document) = read(&codec, stream, is_request) {
                assert_eq!(
                    round_trip(&codec, document.clone(), is_request),
                    Some(document)
                );
            }
        }
        _ => {
            let codec = Cbor::<Document, Document>::default();
            if let Some(document) = read(&codec, stream, is_request) {
                assert_eq!(
                    round_trip(&codec, document.clone(), is_request),
                    Some(document)
                );
            }
        }
    }
}

/// Reads a request or a response from `stream`.
fn read<C, M>(codec: &C, mut stream: &[u8], is_request: bool) -> Option<M>
where
    C: Codec<Request = M, Response = M>,
{
    if is_request {
        ready(codec.read_request(&mut stream, MAX_SIZE)).ok()
    } else {
        ready(codec.read_response(&mut stream, MAX_SIZE)).ok()
    }
}

/// Writes `message` and reads it back; `None` if it no longer fits the limit (a JSON
/// re-encoding may be longer than the input).
fn round_trip<C, M>(codec: &C, message: M, is_request: bool) -> Option<M>
where
    C: Codec<Request = M, Response = M>,
{
    let mut wire = Vec::new();
    let written = if is_request {
        ready(codec.write_request(&mut wire, message, MAX_SIZE))
    } else {
        ready(codec.write_response(&mut wire, message, MAX_SIZE))
    };
    written.ok()?;
    Some(read(codec, &wire, is_request).expect("what a codec writes, it reads"))
}

/// The output of a future over in-memory streams, which never wait.
pub(crate) fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory stream never waits"),
    }
}
