//! WebSocket: the upgrade handshake's HTTP heads, and the frame reader of an upgraded
//! connection (fragmentation, control frames, close) fed arbitrary bytes.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use hyphae_websocket::handshake::{parse_request, parse_response};
use hyphae_websocket::{Config, Role, fuzzing};
use tokio::io::{AsyncRead, ReadBuf};

use crate::socket::Replay;

/// The request key of RFC 6455 section 1.3's example.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// Largest head accepted, as `Config::max_head_size` bounds it.
const MAX_HEAD: usize = 8 * 1024;
/// Most payload bytes one frame may carry in the target: small, so the fuzzer finds it.
const MAX_FRAME: usize = 4 * 1024;

/// A server reading an upgrade request and a client reading the answer to [`KEY`]: a head
/// they accept lies within the bytes and the limit.
pub fn websocket_handshake(data: &[u8]) {
    if let Ok(Some((_, len))) = parse_request(data, MAX_HEAD) {
        assert!(len <= data.len() && len <= MAX_HEAD);
    }
    if let Ok(Some(len)) = parse_response(data, KEY, MAX_HEAD) {
        assert!(len <= data.len() && len <= MAX_HEAD);
    }
}

/// The frame reader of either role reading `data` to its end: it must end (data, end of
/// stream or an error), and never hand out more than the bytes that arrived.
pub fn websocket_frames(data: &[u8]) {
    let (control, chunks) = crate::chunked(data);
    let role = if control & 0x80 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let config = Config {
        max_frame_size: MAX_FRAME,
        ..Config::default()
    };
    let mut stream = fuzzing::stream(Replay::ready(chunks), role, &[], &config);
    let mut context = Context::from_waker(Waker::noop());
    let mut delivered = 0;
    // Every read consumes at least one byte of input or ends the stream.
    for _ in 0..=data.len() + 1 {
        let mut buf = [0; 1024];
        let mut read = ReadBuf::new(&mut buf);
        match Pin::new(&mut stream).poll_read(&mut context, &mut read) {
            Poll::Ready(Ok(())) if read.filled().is_empty() => return,
            Poll::Ready(Ok(())) => {
                delivered += read.filled().len();
                assert!(delivered <= data.len());
            }
            Poll::Ready(Err(_)) => return,
            Poll::Pending => panic!("a reader over a ready connection is pending"),
        }
    }
    panic!("the reader went on past its input");
}
