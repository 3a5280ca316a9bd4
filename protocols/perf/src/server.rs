//! The server side: read the size, drain the upload, send the requested bytes (spec:
//! "Protocol", server steps 1–5).

use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::debug;

use crate::message::{self, HEADER_LEN};
use crate::{BUFFER_SIZE, Error, HEADER_TIMEOUT};

/// What the server did for one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Served {
    /// Bytes the client uploaded (excluding the 8-byte header).
    pub received_bytes: u64,
    /// Bytes sent back: the size the client asked for.
    pub sent_bytes: u64,
}

/// Reads the 8-byte size header, or reports how much of it came before the end of stream.
async fn read_header<S: AsyncRead + Unpin>(stream: &mut S) -> Result<[u8; HEADER_LEN], Error> {
    let mut header = [0u8; HEADER_LEN];
    let mut filled = 0;
    while filled < HEADER_LEN {
        let read = stream.read(&mut header[filled..]).await?;
        if read == 0 {
            return Err(Error::MissingHeader { received: filled });
        }
        filled += read;
    }
    Ok(header)
}

/// Serves one inbound perf stream to its end.
///
/// Memory stays at one [`BUFFER_SIZE`] buffer whatever the client sends or asks for. The
/// client must send the size header within [`HEADER_TIMEOUT`]; after that the transfer has
/// no time limit (perf measures it). A client that asks for more than it reads is held back
/// by the stream's flow control, and its closing or resetting the stream ends this future
/// with [`Error::Io`].
pub async fn serve<S>(mut stream: S) -> Result<Served, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let header = tokio::time::timeout(HEADER_TIMEOUT, read_header(&mut stream))
        .await
        .map_err(|_| Error::HeaderTimeout)??;
    let send_bytes = message::decode_header(header);
    debug!(send_bytes, "perf request");

    let mut buffer = vec![0u8; BUFFER_SIZE];
    let mut received_bytes: u64 = 0;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        received_bytes += read as u64;
    }
    // The upload may have left non-zero bytes in the buffer; what we send is arbitrary
    // anyway, so they need no clearing.
    let mut remaining = send_bytes;
    while remaining > 0 {
        let chunk = usize::try_from(remaining).map_or(BUFFER_SIZE, |r| r.min(BUFFER_SIZE));
        let written = stream.write(&buffer[..chunk]).await?;
        if written == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero).into());
        }
        remaining -= written as u64;
    }
    stream.shutdown().await?;
    debug!(received_bytes, send_bytes, "perf request served");
    Ok(Served {
        received_bytes,
        sent_bytes: send_bytes,
    })
}
