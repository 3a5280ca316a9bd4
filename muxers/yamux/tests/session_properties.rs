//! Property tests: nothing a peer sends makes a session panic or outgrow its windows.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use hyphae_core::resources::{Opener, ResourceLimits, ResourceManager, ScopeLimits};
use hyphae_yamux::frame::{self, Flags, FrameType, Header};
use hyphae_yamux::{Config, GoAwayCode, Mode, ReadOutcome, Session, StreamId};
use proptest::prelude::*;

/// Something that happens to a session: input from the peer or a call of the application.
#[derive(Debug, Clone)]
enum Step {
    /// Raw bytes from the peer.
    Bytes(Vec<u8>),
    /// A well-formed frame from the peer (a Data payload of `length` bytes, cut at 200 000:
    /// the rest of a longer one never arrives), on the peer's `n`th stream id if `Some(n)`.
    /// With `Some(k)` as the last field, a Data frame arrives as its header and `k` payload
    /// bytes, and the rest goes into the buffer of [`Session::take_pending_payload`]: one
    /// made from a chunk read earlier when there is one (of any size, and not empty), as a
    /// driver that recycles buffers would hand in.
    Frame(Header, Option<u32>, Option<usize>),
    Open,
    Accept,
    Write(u32, usize),
    Read(u32, usize),
    CloseWrite(u32),
    Reset(u32),
    Release(u32),
    Ping,
    Close,
    Eof,
    Transmit,
    Wait(u64),
}

/// Frames a peer might send: mostly on stream ids of the peer's parity (the `Option` is the
/// index among those, mapped to an id once the session's mode is known), with lengths a
/// window allows; sometimes anything.
fn header() -> impl Strategy<Value = (Header, Option<u32>)> {
    // Go Away is rare: it ends the session (with an error code) or all new streams.
    let kind = prop_oneof![200 => 0u8..2, 10 => Just(2), 1 => Just(3)];
    let flags = prop_oneof![
        12 => Just(0u16),
        2 => Just(1),
        2 => Just(2),
        2 => Just(4),
        1 => Just(8),
        1 => 0u16..16,
    ];
    let peer_index = prop_oneof![20 => (0u32..4).prop_map(Some), 1 => Just(None)];
    let length = prop_oneof![40 => 0u32..20_000, 2 => 0u32..300_000, 1 => any::<u32>()];
    (kind, flags, 0u32..10, peer_index, length).prop_map(|(kind, flags, id, peer, length)| {
        let header = Header {
            frame_type: FrameType::from_u8(kind).unwrap(),
            flags: Flags::from_bits(flags),
            stream_id: StreamId::new(id),
            length,
        };
        (header, peer)
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        // Rare: raw bytes almost always break the protocol, which ends the session.
        1 => (proptest::collection::vec(any::<u8>(), 0..64), 0u8..20)
            .prop_map(|(bytes, n)| if n == 0 { Step::Bytes(bytes) } else { Step::Transmit }),
        16 => (header(), prop_oneof![1 => Just(None), 1 => (0usize..30_000).prop_map(Some)])
            .prop_map(|((header, peer), split)| Step::Frame(header, peer, split)),
        2 => Just(Step::Open),
        2 => Just(Step::Accept),
        3 => (0u32..10, 0usize..200_000).prop_map(|(id, len)| Step::Write(id, len)),
        3 => (0u32..10, 0usize..200_000).prop_map(|(id, len)| Step::Read(id, len)),
        1 => (0u32..10).prop_map(Step::CloseWrite),
        1 => (0u32..10).prop_map(Step::Reset),
        1 => (0u32..10).prop_map(Step::Release),
        1 => Just(Step::Ping),
        3 => Just(Step::Transmit),
        1 => (0u64..5_000).prop_map(Step::Wait),
        // Rare: they end the session.
        1 => (0u8..40).prop_map(|n| match n {
            0 => Step::Close,
            1 => Step::Eof,
            _ => Step::Transmit,
        }),
    ]
}

fn config() -> Config {
    let mut config = Config::default();
    config.max_streams = 4;
    config.max_pending_inbound_streams = 2;
    config.rtt_interval = Some(Duration::from_millis(100));
    config
}

/// Runs `steps` against a session; with `memory`, one reserving from a connection scope of
/// that many bytes, which it must never pass and must give back in full when dropped.
fn run(mode: Mode, steps: Vec<Step>, memory: Option<u64>) {
    let scope = memory.map(|memory| {
        let mut limits = ResourceLimits::scaled(1 << 30, 1024);
        limits.connection = ScopeLimits::UNLIMITED.with_memory(memory);
        ResourceManager::new(limits)
            .open_connection(Opener::Remote, false)
            .unwrap()
    });
    let mut session = Session::new(mode, config());
    if let Some(scope) = &scope {
        session = session.with_memory_scope(scope.scope().clone()).unwrap();
    }
    let mut now = Instant::now();
    let mut input = BytesMut::new();
    let mut output = BytesMut::new();
    let data = vec![0x5a; 200_000];
    let mut buf = vec![0u8; 200_000];
    // Chunks read with `read_chunk`, to supply as payload buffers.
    let mut spare: Vec<Bytes> = Vec::new();
    for step in steps {
        match step {
            Step::Bytes(bytes) => {
                input.extend_from_slice(&bytes);
                let _ = session.handle_input(now, &mut input);
            }
            Step::Frame(mut header, peer, split) => {
                if let Some(index) = peer {
                    let first = match mode {
                        Mode::Server => 1,
                        Mode::Client => 2,
                    };
                    header.stream_id = StreamId::new(first + 2 * index);
                }
                // Garbage from an earlier step would misalign this frame: start afresh.
                input.clear();
                let payload_len = if header.frame_type == FrameType::Data {
                    header.length.min(data.len() as u32) as usize
                } else {
                    0
                };
                match split {
                    Some(prefix) if prefix < payload_len => {
                        frame::encode(&header, &data[..prefix], &mut input);
                        let _ = session.handle_input(now, &mut input);
                        let buffer_for = |len| {
                            spare
                                .pop()
                                .and_then(|chunk| chunk.try_into_mut().ok())
                                .unwrap_or_else(|| BytesMut::with_capacity(len))
                        };
                        if let Some(mut pending) =
                            session.take_pending_payload(&mut input, 0, buffer_for)
                        {
                            let rest = pending.remaining().min(payload_len - prefix);
                            pending.buf_mut().put_slice(&data[..rest]);
                            if pending.is_complete() {
                                let _ = session.handle_payload(now, pending);
                            }
                        }
                    }
                    _ => {
                        frame::encode(&header, &data[..payload_len], &mut input);
                        let _ = session.handle_input(now, &mut input);
                    }
                }
            }
            Step::Open => {
                let _ = session.open_stream();
            }
            Step::Accept => {
                let _ = session.accept();
            }
            Step::Write(id, len) => {
                let _ = session.write(StreamId::new(id), &data[..len]);
            }
            Step::Read(id, len) if len % 2 == 0 => {
                let _ = session.read(StreamId::new(id), &mut buf[..len]);
            }
            Step::Read(id, len) => {
                // Chunks kept may hold later payloads.
                if let Ok(ReadOutcome::Data(chunk)) = session.read_chunk(StreamId::new(id), len)
                    && spare.len() < 4
                {
                    spare.push(chunk);
                }
            }
            Step::CloseWrite(id) => {
                let _ = session.close_write(StreamId::new(id));
            }
            Step::Reset(id) => {
                let _ = session.reset(StreamId::new(id));
            }
            Step::Release(id) => session.release(StreamId::new(id)),
            Step::Ping => {
                let _ = session.ping(now);
            }
            Step::Close => session.close(GoAwayCode::Normal),
            Step::Eof => session.handle_eof(),
            Step::Transmit => {
                output.clear();
                session.poll_transmit(now, &mut output);
                // Whatever we send must itself be well formed.
                let mut rest = &output[..];
                while let Some((_, consumed)) =
                    frame::decode(rest, u32::MAX).expect("we send valid frames")
                {
                    rest = &rest[consumed..];
                }
                assert!(rest.is_empty(), "we send whole frames");
            }
            Step::Wait(ms) => {
                now += Duration::from_millis(ms);
                session.handle_timeout(now);
            }
        }
        while session.poll_event().is_some() {}
        // max_streams (4) in each direction.
        assert!(session.live_stream_count() <= 8);
        for id in 0..10 {
            if let Some(stats) = session.stream_stats(StreamId::new(id)) {
                assert!(stats.buffered <= stats.receive_window, "{stats:?}");
                assert!(stats.receive_window <= session.config().max_receive_window);
            }
        }
        if let (Some(scope), Some(limit)) = (&scope, memory) {
            assert!(scope.scope().usage().memory <= limit);
        }
    }
    drop(session);
    if let Some(scope) = &scope {
        assert_eq!(
            scope.scope().usage().memory,
            0,
            "everything reserved is given back"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..128), 0..16)) {
        for mode in [Mode::Client, Mode::Server] {
            let mut session = Session::new(mode, config());
            let mut input = BytesMut::new();
            let now = Instant::now();
            for chunk in &chunks {
                input.extend_from_slice(chunk);
                let _ = session.handle_input(now, &mut input);
            }
            let mut output = BytesMut::new();
            session.poll_transmit(now, &mut output);
            while session.poll_event().is_some() {}
        }
    }

    #[test]
    fn arbitrary_frames_and_calls_never_panic_or_outgrow_windows(
        steps in proptest::collection::vec(step(), 0..128),
        server in any::<bool>(),
    ) {
        run(if server { Mode::Server } else { Mode::Client }, steps, None);
    }

    #[test]
    fn a_scoped_session_stays_within_its_scope_and_gives_everything_back(
        steps in proptest::collection::vec(step(), 0..128),
        server in any::<bool>(),
        streams_that_fit in 0u64..6,
    ) {
        // The write buffer and control headroom (320 KiB), and some initial windows.
        let memory = 320 * 1024 + streams_that_fit * 256 * 1024 + 100_000;
        run(if server { Mode::Server } else { Mode::Client }, steps, Some(memory));
    }
}
