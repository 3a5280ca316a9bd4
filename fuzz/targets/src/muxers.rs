//! yamux and mplex sessions fed arbitrary bytes as the peer's side of the connection.
//!
//! The first input byte sets the chunk size (see [`crate::chunked`]) and how we behave: which
//! side we are, and whether we read what arrives or let it pile up (a slow reader, where the
//! windows and buffer limits must hold memory down).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use hyphae_mplex as mplex;
use hyphae_yamux as yamux;

/// Time that passes between two chunks: long enough for timers (pings, ack deadlines).
const TICK: Duration = Duration::from_millis(250);

/// A yamux session. Checks that a session that failed is closed, and that the data it
/// buffers for streams stays within its connection receive window.
pub fn yamux_session(data: &[u8]) {
    let (control, chunks) = crate::chunked(data);
    let mode = if control & 0x80 == 0 {
        yamux::Mode::Server
    } else {
        yamux::Mode::Client
    };
    let is_reading = control & 0x40 == 0;
    let config = yamux::Config::default();
    let max_buffered = config.max_connection_receive_window;
    let mut session = yamux::Session::new(mode, config);
    let start = Instant::now();
    let mut streams = Vec::new();
    // A stream of our own, so the peer's window updates and data for it have a target.
    if let Ok(id) = session.open_stream() {
        let _ = session.write(id, b"hello");
        streams.push(id);
    }
    let (mut input, mut output) = (BytesMut::new(), BytesMut::new());
    let mut now = start;
    for chunk in chunks {
        now += TICK;
        input.extend_from_slice(chunk);
        let result = session.handle_input(now, &mut input);
        while session.poll_event().is_some() {}
        while let Some(id) = session.accept() {
            streams.push(id);
        }
        let mut buffered = 0;
        for &id in &streams {
            if is_reading {
                let mut buf = [0; 4096];
                while let Ok(yamux::ReadOutcome::Data(len @ 1..)) = session.read(id, &mut buf) {
                    assert!(len <= buf.len());
                }
            }
            if let Some(stats) = session.stream_stats(id) {
                buffered += stats.buffered as usize;
            }
        }
        assert!(
            buffered <= max_buffered,
            "{buffered} bytes buffered, window {max_buffered}"
        );
        session.poll_transmit(now, &mut output);
        output.clear();
        if result.is_err() {
            assert!(
                session.is_closed(),
                "a protocol error leaves the session open"
            );
            break;
        }
    }
    session.handle_eof();
    while session.poll_event().is_some() {}
    assert!(session.is_closed());
}

/// An mplex session. Checks that a session that failed is closed and refuses more input,
/// and that no stream buffers past its limit.
pub fn mplex_session(data: &[u8]) {
    let (control, chunks) = crate::chunked(data);
    let is_reading = control & 0x40 == 0;
    let config = mplex::Config::default();
    let max_buffered = config.max_buffer_per_stream;
    let mut session = mplex::Session::new(config);
    let mut streams = Vec::new();
    if let Ok(id) = session.open_stream() {
        let _ = session.write(id, b"hello");
        streams.push(id);
    }
    let mut input = Vec::new();
    let mut output = Vec::new();
    for chunk in chunks {
        input.extend_from_slice(chunk);
        match session.handle_input(&input) {
            Ok(used) => {
                assert!(used <= input.len());
                input.drain(..used);
            }
            Err(_) => {
                assert!(
                    session.is_closed(),
                    "a protocol error leaves the session open"
                );
                assert!(session.handle_input(&input).is_err());
                return;
            }
        }
        while let Some(id) = session.accept() {
            streams.push(id);
        }
        if is_reading {
            for &id in &streams {
                let mut taken = 0;
                while let Ok(mplex::ReadOutcome::Data(bytes)) = session.read(id, 4096) {
                    assert!(!bytes.is_empty() && bytes.len() <= 4096);
                    taken += bytes.len();
                    assert!(taken <= max_buffered + mplex::MAX_FRAME_DATA);
                }
            }
        }
        session.poll_transmit(&mut output);
        output.clear();
    }
}
