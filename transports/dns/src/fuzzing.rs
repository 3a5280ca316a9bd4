//! Entry points for the fuzz targets in `fuzz/`, not a stable API: the DNS message codec is
//! private to the resolver, yet it is what reads a resolver's (or a spoofer's) datagrams.

use crate::Error;
use crate::message::{Query, Reply};

/// The TXT query for `name` with message id `id`, in wire form.
pub fn encode_txt_query(name: &str, id: u16) -> Result<Vec<u8>, Error> {
    Ok(Query::txt(name, id)?.encode())
}

/// Decodes `message` as the response to the TXT query for `name` with id `id`.
///
/// Returns the TXT records, or `None` for a message that is not an answer to the query or
/// was truncated (the resolver ignores the first and asks again over TCP for the second).
pub fn decode_txt_response(
    name: &str,
    id: u16,
    message: &[u8],
) -> Result<Option<Vec<String>>, Error> {
    match Query::txt(name, id)?.decode_response(message)? {
        Reply::Records(records) => Ok(Some(records)),
        Reply::Truncated | Reply::Unrelated => Ok(None),
    }
}
