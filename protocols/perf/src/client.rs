//! The client side: ask for a download size, upload, close, download (spec: "Protocol",
//! client steps 1–5).

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::meter::Meter;
use crate::{BUFFER_SIZE, Error, Progress, REPORT_INTERVAL, message};

/// What one perf run transfers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Params {
    /// Bytes the client sends after the header.
    pub upload_bytes: u64,
    /// Bytes the client asks the server to send back.
    pub download_bytes: u64,
}

/// The outcome of a successful run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Bytes uploaded (excluding the 8-byte header).
    pub upload_bytes: u64,
    /// Bytes downloaded.
    pub download_bytes: u64,
    /// From the start of the run until our write side was closed.
    pub upload_duration: Duration,
    /// From closing our write side until the server closed the stream: includes the time the
    /// server needs to drain the rest of the upload before it may start sending.
    pub download_duration: Duration,
}

impl Report {
    /// The whole exchange, from the first byte written to the server's end of stream.
    pub fn duration(&self) -> Duration {
        self.upload_duration + self.download_duration
    }
}

/// Runs one perf exchange as the client over `stream`, already negotiated to
/// [`PROTOCOL_ID`](crate::PROTOCOL_ID).
///
/// `progress` is called about once per [`REPORT_INTERVAL`] with the bytes moved since the
/// previous call (it is not called for the last, partial interval; the [`Report`] covers the
/// whole run). The run has no timeout of its own: wrap it in `tokio::time::timeout` for one.
pub async fn run<S>(
    mut stream: S,
    params: Params,
    mut progress: impl FnMut(Progress),
) -> Result<Report, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let start = Instant::now();
    let mut meter = Meter::new(start, REPORT_INTERVAL);
    let mut buffer = vec![0u8; BUFFER_SIZE];

    stream
        .write_all(&message::encode_header(params.download_bytes))
        .await?;
    let mut remaining = params.upload_bytes;
    while remaining > 0 {
        let chunk = usize::try_from(remaining).map_or(BUFFER_SIZE, |r| r.min(BUFFER_SIZE));
        let written = stream.write(&buffer[..chunk]).await?;
        if written == 0 {
            return Err(io::Error::from(io::ErrorKind::WriteZero).into());
        }
        remaining -= written as u64;
        if let Some(report) = meter.record(Instant::now(), written as u64, 0) {
            progress(report);
        }
    }
    stream.shutdown().await?;
    let closed = Instant::now();

    let mut received: u64 = 0;
    loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            break;
        }
        received += read as u64;
        if received > params.download_bytes {
            return Err(Error::TooManyBytes {
                expected: params.download_bytes,
            });
        }
        if let Some(report) = meter.record(Instant::now(), 0, read as u64) {
            progress(report);
        }
    }
    if received < params.download_bytes {
        return Err(Error::TooFewBytes {
            expected: params.download_bytes,
            received,
        });
    }
    let end = Instant::now();
    Ok(Report {
        upload_bytes: params.upload_bytes,
        download_bytes: received,
        upload_duration: closed - start,
        download_duration: end - closed,
    })
}
