//! The sans-IO session, driven step by step: two sessions wired in memory, virtual time.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::{Pair, Side, quiet_config};
use hyphae_yamux::frame::{self, Flags, FrameType, Header};
use hyphae_yamux::{
    Error, Event, GoAwayCode, INITIAL_WINDOW, MAX_ACK_BACKLOG, Mode, ReadOutcome, Session, StreamId,
};

/// Writes as much of `data` as the session takes; returns how much that was.
fn write_until_blocked(session: &mut Session, id: StreamId, data: &[u8]) -> usize {
    let mut written = 0;
    while written < data.len() {
        match session.write(id, &data[written..]).unwrap() {
            0 => break,
            n => written += n,
        }
    }
    written
}

/// Reads everything available; returns the bytes and whether the stream finished.
fn read_available(session: &mut Session, id: StreamId) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    loop {
        match session.read_chunk(id, usize::MAX).unwrap() {
            ReadOutcome::Data(chunk) => received.extend_from_slice(&chunk),
            ReadOutcome::Blocked => return (received, false),
            ReadOutcome::Finished => return (received, true),
        }
    }
}

/// Frames `session` would send now, decoded.
fn transmitted_headers(session: &mut Session, pair_now: std::time::Instant) -> Vec<Header> {
    let mut buf = BytesMut::new();
    session.poll_transmit(pair_now, &mut buf);
    let mut headers = Vec::new();
    let mut rest = &buf[..];
    while let Some((frame, consumed)) = frame::decode(rest, u32::MAX).unwrap() {
        headers.push(frame.header);
        rest = &rest[consumed..];
    }
    assert!(rest.is_empty());
    headers
}

fn raw(headers_and_payloads: &[(Header, &[u8])]) -> BytesMut {
    let mut buf = BytesMut::new();
    for (header, payload) in headers_and_payloads {
        frame::encode(header, payload, &mut buf);
    }
    buf
}

#[test]
fn client_and_server_open_accept_and_echo() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    assert_eq!(id, StreamId::new(1), "the client opens odd ids");
    assert_eq!(pair.client.write(id, b"hello").unwrap(), 5);
    pair.pump();

    assert_eq!(pair.take_events(Side::Server), vec![]);
    let inbound = pair.server.accept().unwrap();
    assert_eq!(inbound, id);
    assert_eq!(
        read_available(&mut pair.server, inbound),
        (b"hello".to_vec(), false)
    );
    assert_eq!(pair.server.write(inbound, b"hello").unwrap(), 5);
    pair.pump();
    assert_eq!(
        read_available(&mut pair.client, id),
        (b"hello".to_vec(), false)
    );

    let server_opened = pair.server.open_stream().unwrap();
    assert_eq!(server_opened, StreamId::new(2), "the server opens even ids");
}

#[test]
fn accept_reports_an_incoming_stream_after_finding_none() {
    let mut pair = Pair::quiet();
    assert_eq!(pair.server.accept(), None);
    pair.client.open_stream().unwrap();
    pair.pump();
    assert_eq!(pair.take_events(Side::Server), vec![Event::IncomingStream]);
    assert!(pair.server.accept().is_some());
}

#[test]
fn syn_rides_on_the_first_data_frame_and_ack_on_the_first_answer() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"request").unwrap();
    let headers = transmitted_headers(&mut pair.client, pair.now);
    assert_eq!(headers, vec![Header::data(id, Flags::SYN, 7)]);

    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    let headers = transmitted_headers(&mut pair.client, pair.now);
    assert_eq!(
        headers,
        vec![Header::window_update(id, Flags::SYN, 0)],
        "without data the SYN goes out as a window update"
    );
    let mut input = raw(&[(headers[0], &[])]);
    pair.server.handle_input(pair.now, &mut input).unwrap();
    let inbound = pair.server.accept().unwrap();
    pair.server.write(inbound, b"response").unwrap();
    let headers = transmitted_headers(&mut pair.server, pair.now);
    assert_eq!(headers, vec![Header::data(id, Flags::ACK, 8)]);
}

#[test]
fn half_close_in_both_directions() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"request").unwrap();
    pair.client.close_write(id).unwrap();
    assert!(matches!(
        pair.client.write(id, b"more"),
        Err(Error::WriteClosed(_))
    ));
    pair.pump();

    let inbound = pair.server.accept().unwrap();
    assert_eq!(
        read_available(&mut pair.server, inbound),
        (b"request".to_vec(), true)
    );
    // The other direction is still open.
    pair.server.write(inbound, b"response").unwrap();
    pair.pump();
    assert_eq!(
        read_available(&mut pair.client, id),
        (b"response".to_vec(), false)
    );

    pair.server.close_write(inbound).unwrap();
    pair.pump();
    assert_eq!(read_available(&mut pair.client, id), (Vec::new(), true));

    pair.client.release(id);
    pair.server.release(inbound);
    pair.pump();
    assert_eq!(pair.client.stream_count(), 0);
    assert_eq!(pair.server.stream_count(), 0);
}

#[test]
fn reset_is_seen_by_the_peer_in_both_directions() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"data").unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();
    // The server is blocked reading after consuming the data.
    read_available(&mut pair.server, inbound);

    pair.client.reset(id).unwrap();
    pair.pump();
    assert_eq!(
        pair.take_events(Side::Server),
        vec![Event::Readable(inbound)]
    );
    assert!(matches!(
        pair.server.read_chunk(inbound, 10),
        Err(Error::StreamReset(_))
    ));
    assert!(matches!(
        pair.server.write(inbound, b"x"),
        Err(Error::StreamReset(_))
    ));
    assert!(matches!(
        pair.client.write(id, b"x"),
        Err(Error::StreamReset(_))
    ));

    pair.client.release(id);
    pair.server.release(inbound);
    assert_eq!(pair.client.stream_count(), 0);
    assert_eq!(pair.server.stream_count(), 0);
    // No further frames: the peer already knows.
    pair.pump();
}

#[test]
fn data_sent_before_a_reset_is_read_before_the_reset_error() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"proposal").unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();
    // A listener refusing a protocol: it answers, then resets.
    pair.server.write(inbound, b"na").unwrap();
    pair.server.reset(inbound).unwrap();
    pair.pump();
    assert!(matches!(
        pair.client.write(id, b"x"),
        Err(Error::StreamReset(_))
    ));
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.client.read(id, &mut buf).unwrap(),
        ReadOutcome::Data(2)
    );
    assert_eq!(&buf[..2], b"na");
    assert!(matches!(
        pair.client.read_chunk(id, 16),
        Err(Error::StreamReset(_))
    ));
    // Unread data does not keep a released stream alive.
    pair.client.release(id);
    pair.server.release(inbound);
    assert_eq!(pair.client.stream_count(), 0);
}

#[test]
fn our_own_reset_drops_unread_data() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"unread").unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();
    pair.server.reset(inbound).unwrap();
    assert!(matches!(
        pair.server.read_chunk(inbound, 16),
        Err(Error::StreamReset(_))
    ));
}

#[test]
fn releasing_a_stream_not_closed_for_writing_resets_it() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"partial").unwrap();
    pair.client.release(id);
    let headers = transmitted_headers(&mut pair.client, pair.now);
    assert_eq!(headers.len(), 2);
    assert_eq!(headers[1], Header::window_update(id, Flags::RST, 0));
}

#[test]
fn releasing_after_close_write_delivers_everything_and_drains_the_peer() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"fire and forget").unwrap();
    pair.client.close_write(id).unwrap();
    pair.client.release(id);
    pair.pump();
    let inbound = pair.server.accept().unwrap();
    assert_eq!(
        read_available(&mut pair.server, inbound),
        (b"fire and forget".to_vec(), true)
    );

    // The server keeps sending; the client drops the data but returns the window.
    let data = vec![7u8; 3 * INITIAL_WINDOW as usize];
    let mut sent = 0;
    for _ in 0..10 {
        sent += write_until_blocked(&mut pair.server, inbound, &data[sent..]);
        pair.pump();
    }
    assert_eq!(sent, data.len(), "credit keeps flowing back");
    pair.server.close_write(inbound).unwrap();
    pair.server.release(inbound);
    pair.pump();
    assert_eq!(pair.client.stream_count(), 0);
    assert_eq!(pair.server.stream_count(), 0);
}

#[test]
fn writes_stop_at_the_send_window_and_resume_after_a_window_update() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    let data = vec![1u8; 1024 * 1024];
    let written = write_until_blocked(&mut pair.client, id, &data);
    assert!(written <= pair.client.config().max_write_buffer + 64 * 1024);
    pair.pump();
    let written = written + write_until_blocked(&mut pair.client, id, &data[written..]);
    pair.pump();
    let written = written + write_until_blocked(&mut pair.client, id, &data[written..]);
    assert_eq!(written, INITIAL_WINDOW as usize, "exactly one window");
    assert_eq!(pair.client.stream_stats(id).unwrap().send_window, 0);
    pair.pump();
    pair.take_events(Side::Client);

    // Reading less than a quarter of the window sends no update.
    let inbound = pair.server.accept().unwrap();
    let mut buf = vec![0u8; INITIAL_WINDOW as usize / 4 - 1];
    assert_eq!(
        pair.server.read(inbound, &mut buf).unwrap(),
        ReadOutcome::Data(buf.len())
    );
    pair.pump();
    assert_eq!(pair.take_events(Side::Client), vec![]);
    assert_eq!(pair.client.write(id, &data[written..]).unwrap(), 0);

    // One more byte makes a quarter of the window: the update arrives and the writer is told.
    let mut byte = [0u8; 1];
    pair.server.read(inbound, &mut byte).unwrap();
    pair.pump();
    assert_eq!(pair.take_events(Side::Client), vec![Event::Writable(id)]);
    assert_eq!(
        pair.client.stream_stats(id).unwrap().send_window,
        INITIAL_WINDOW / 4
    );
    assert!(pair.client.write(id, &data[written..]).unwrap() > 0);
}

#[test]
fn a_slow_reader_never_buffers_more_than_its_window() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    let data = vec![3u8; 8 * 1024 * 1024];
    let mut written = 0;
    let mut received = 0;
    let mut inbound = None;
    for round in 0..2000 {
        written += write_until_blocked(&mut pair.client, id, &data[written..]);
        pair.pump();
        let inbound = *inbound.get_or_insert_with(|| pair.server.accept().unwrap());
        let stats = pair.server.stream_stats(inbound).unwrap();
        assert!(
            stats.buffered <= stats.receive_window,
            "round {round}: {stats:?}"
        );
        assert_eq!(stats.receive_window, INITIAL_WINDOW);
        // The reader takes 4 KiB per round.
        let mut buf = [0u8; 4096];
        if let ReadOutcome::Data(n) = pair.server.read(inbound, &mut buf).unwrap() {
            received += n;
        }
    }
    assert!(written - received <= INITIAL_WINDOW as usize);
    assert!(received >= 2000 * 4096 - 4096);
}

#[test]
fn data_beyond_the_window_is_a_protocol_error() {
    let mut server = Session::new(Mode::Server, quiet_config());
    let id = StreamId::new(1);
    let mut input = raw(&[(Header::window_update(id, Flags::SYN, 0), &[])]);
    server
        .handle_input(std::time::Instant::now(), &mut input)
        .unwrap();
    // Only the header of the oversized frame: it is rejected before the payload arrives.
    let mut input = BytesMut::from(&Header::data(id, Flags::NONE, INITIAL_WINDOW + 1).encode()[..]);
    let error = server
        .handle_input(std::time::Instant::now(), &mut input)
        .unwrap_err();
    assert!(matches!(
        error,
        Error::ReceiveWindowExceeded {
            len: 262145,
            window: 262144,
            ..
        }
    ));
    assert!(server.is_closed());
    let headers = transmitted_headers(&mut server, std::time::Instant::now());
    assert_eq!(headers, vec![Header::go_away(GoAwayCode::ProtocolError)]);
    let mut events = Vec::new();
    while let Some(event) = server.poll_event() {
        events.push(event);
    }
    assert_eq!(events, vec![Event::Closed]);
}

#[test]
fn a_data_frame_for_an_unknown_stream_is_bounded_by_the_largest_window() {
    let mut server = Session::new(Mode::Server, quiet_config());
    let max = server.config().max_receive_window;
    let mut input =
        BytesMut::from(&Header::data(StreamId::new(9), Flags::NONE, max + 1).encode()[..]);
    assert!(matches!(
        server.handle_input(std::time::Instant::now(), &mut input),
        Err(Error::FrameTooLarge { .. })
    ));
}

#[test]
fn malformed_frames_close_the_session_with_a_protocol_error() {
    let now = std::time::Instant::now();
    let cases: Vec<(&str, BytesMut)> = vec![
        (
            "bad version",
            BytesMut::from(&[1u8, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0][..]),
        ),
        (
            "bad type",
            BytesMut::from(&[0u8, 9, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0][..]),
        ),
        (
            "stream frame on id 0",
            raw(&[(Header::window_update(StreamId::new(0), Flags::SYN, 0), &[])]),
        ),
        (
            "server parity from the client",
            raw(&[(Header::window_update(StreamId::new(2), Flags::SYN, 0), &[])]),
        ),
        (
            "duplicate SYN",
            raw(&[
                (Header::window_update(StreamId::new(1), Flags::SYN, 0), &[]),
                (Header::window_update(StreamId::new(1), Flags::SYN, 0), &[]),
            ]),
        ),
        (
            "send window overflow",
            raw(&[
                (Header::window_update(StreamId::new(1), Flags::SYN, 0), &[]),
                (
                    Header::window_update(StreamId::new(1), Flags::NONE, u32::MAX),
                    &[],
                ),
            ]),
        ),
    ];
    for (case, mut input) in cases {
        let mut server = Session::new(Mode::Server, quiet_config());
        assert!(server.handle_input(now, &mut input).is_err(), "{case}");
        assert!(server.is_closed(), "{case}");
        assert_eq!(
            transmitted_headers(&mut server, now),
            vec![Header::go_away(GoAwayCode::ProtocolError)],
            "{case}"
        );
    }
}

#[test]
fn frames_for_unknown_streams_are_ignored() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let mut input = raw(&[
        (Header::data(StreamId::new(5), Flags::NONE, 3), b"abc"),
        (
            Header::window_update(StreamId::new(7), Flags::ACK, 100),
            &[],
        ),
        (Header::window_update(StreamId::new(9), Flags::RST, 0), &[]),
    ]);
    server.handle_input(now, &mut input).unwrap();
    assert!(!server.is_closed());
    assert_eq!(server.stream_count(), 0);
    assert!(transmitted_headers(&mut server, now).is_empty());
}

#[test]
fn the_ack_backlog_limits_unacknowledged_streams() {
    let mut pair = Pair::quiet();
    for _ in 0..MAX_ACK_BACKLOG {
        pair.client.open_stream().unwrap();
    }
    assert!(matches!(
        pair.client.open_stream(),
        Err(Error::AckBacklogFull { max: 256 })
    ));
    pair.pump();
    // The server buffers them all without acknowledging.
    assert_eq!(pair.server.stream_count(), MAX_ACK_BACKLOG);
    assert!(matches!(
        pair.client.open_stream(),
        Err(Error::AckBacklogFull { .. })
    ));

    // Accepting one acknowledges it, which frees one slot of the backlog.
    pair.server.accept().unwrap();
    pair.pump();
    assert_eq!(
        pair.take_events(Side::Client),
        vec![Event::StreamsAvailable]
    );
    pair.client.open_stream().unwrap();
    assert!(matches!(
        pair.client.open_stream(),
        Err(Error::AckBacklogFull { .. })
    ));
}

#[test]
fn streams_past_the_limit_are_refused_with_a_reset() {
    let mut server_config = quiet_config();
    server_config.max_streams = 2;
    let mut pair = Pair::new(quiet_config(), server_config);
    let ids: Vec<StreamId> = (0..3).map(|_| pair.client.open_stream().unwrap()).collect();
    for id in &ids {
        pair.client.write(*id, b"hi").unwrap();
    }
    pair.pump();
    assert_eq!(pair.server.stream_count(), 2);
    assert!(matches!(
        pair.client.read_chunk(ids[2], 10),
        Err(Error::StreamReset(_))
    ));
    assert_eq!(
        pair.client.read_chunk(ids[0], 10).unwrap(),
        ReadOutcome::Blocked
    );
}

#[test]
fn streams_the_peer_reset_stop_counting_while_the_application_holds_them() {
    // Both ends allow 2 streams: the client opens two, the server accepts and holds them,
    // the client resets both and opens two more. The reset streams have ended for the
    // client, so they must not get its new streams refused.
    let mut config = quiet_config();
    config.max_streams = 2;
    let mut pair = Pair::new(config.clone(), config);
    let mut held = Vec::new();
    for round in 0..2 {
        let ids: Vec<StreamId> = (0..2).map(|_| pair.client.open_stream().unwrap()).collect();
        assert!(matches!(
            pair.client.open_stream(),
            Err(Error::TooManyStreams { max: 2 })
        ));
        for id in &ids {
            pair.client.write(*id, b"hi").unwrap();
        }
        pair.pump();
        while let Some(id) = pair.server.accept() {
            held.push(id);
        }
        assert_eq!(held.len(), 2 * (round + 1), "round {round}: refused");
        for id in ids {
            pair.client.reset(id).unwrap();
            pair.client.release(id);
        }
        pair.pump();
    }
    // The server's application still holds all four (reset) streams. Twice the limit is
    // as many as it keeps: a fifth stream is refused although no live stream counts.
    assert_eq!(pair.server.stream_count(), 4);
    let fifth = pair.client.open_stream().unwrap();
    pair.client.write(fifth, b"hi").unwrap();
    pair.pump();
    assert!(matches!(
        pair.client.read_chunk(fifth, 10),
        Err(Error::StreamReset(_))
    ));
    // Once the application lets go of them, streams are admitted again.
    pair.client.release(fifth);
    for id in held {
        pair.server.release(id);
    }
    pair.pump();
    let sixth = pair.client.open_stream().unwrap();
    pair.client.write(sixth, b"hi").unwrap();
    pair.pump();
    assert!(pair.server.accept().is_some());
}

#[test]
fn streams_past_the_accept_backlog_are_refused_with_a_reset() {
    let mut server_config = quiet_config();
    server_config.max_pending_inbound_streams = 1;
    let mut pair = Pair::new(quiet_config(), server_config);
    let first = pair.client.open_stream().unwrap();
    let second = pair.client.open_stream().unwrap();
    pair.pump();
    assert_eq!(
        pair.client.read_chunk(first, 1).unwrap(),
        ReadOutcome::Blocked
    );
    assert!(matches!(
        pair.client.read_chunk(second, 1),
        Err(Error::StreamReset(_))
    ));
}

#[test]
fn our_own_stream_limit_makes_open_wait() {
    let mut client_config = quiet_config();
    client_config.max_streams = 1;
    let mut pair = Pair::new(client_config, quiet_config());
    let id = pair.client.open_stream().unwrap();
    assert!(matches!(
        pair.client.open_stream(),
        Err(Error::TooManyStreams { max: 1 })
    ));
    pair.client.reset(id).unwrap();
    pair.client.release(id);
    assert_eq!(
        pair.take_events(Side::Client),
        vec![Event::StreamsAvailable]
    );
    pair.client.open_stream().unwrap();
}

#[test]
fn ping_measures_the_round_trip_time() {
    let mut pair = Pair::quiet();
    pair.latency = Duration::from_millis(15);
    let opaque = pair.client.ping(pair.now).unwrap();
    pair.pump();
    assert_eq!(
        pair.take_events(Side::Client),
        vec![Event::Pong {
            opaque,
            rtt: Duration::from_millis(30)
        }]
    );
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(30)));
}

#[test]
fn a_ping_is_answered_with_ack_echoing_its_value() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let mut input = raw(&[(Header::ping(Flags::SYN, 0xdead_beef), &[])]);
    server.handle_input(now, &mut input).unwrap();
    assert_eq!(
        transmitted_headers(&mut server, now),
        vec![Header::ping(Flags::ACK, 0xdead_beef)]
    );
}

#[test]
fn rtt_pings_run_on_the_timer() {
    let mut config = quiet_config();
    config.rtt_interval = Some(Duration::from_secs(10));
    let mut pair = Pair::new(config, quiet_config());
    pair.latency = Duration::from_millis(5);
    let start = pair.now;
    pair.pump();
    assert_eq!(pair.client.rtt(), Some(Duration::from_millis(10)));
    let due = pair.client.poll_timeout().unwrap();
    assert_eq!(due, start + Duration::from_secs(10));
    pair.now = due;
    pair.client.handle_timeout(due);
    let headers = transmitted_headers(&mut pair.client, due);
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].frame_type, FrameType::Ping);
    assert!(headers[0].flags.contains(Flags::SYN));
}

#[test]
fn go_away_refuses_new_streams_but_lets_existing_ones_finish() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"before").unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();

    // The server says go away, normally: no new streams, but the session is open.
    let mut input = raw(&[(Header::go_away(GoAwayCode::Normal), &[])]);
    pair.client.handle_input(pair.now, &mut input).unwrap();
    assert_eq!(
        pair.take_events(Side::Client),
        vec![Event::GoAway(GoAwayCode::Normal)]
    );
    assert!(matches!(
        pair.client.open_stream(),
        Err(Error::GoAway(GoAwayCode::Normal))
    ));
    assert!(pair.client.peer_went_away());
    assert!(!pair.client.is_closed());
    pair.server.write(inbound, b"after").unwrap();
    pair.pump();
    assert_eq!(read_available(&mut pair.client, id).0, b"after");
}

#[test]
fn closing_sends_go_away_and_ends_every_stream() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"data").unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();

    pair.client.close(GoAwayCode::Normal);
    assert!(pair.client.is_closed());
    assert_eq!(pair.take_events(Side::Client), vec![Event::Closed]);
    assert!(matches!(
        pair.client.write(id, b"x"),
        Err(Error::ConnectionClosed)
    ));
    assert!(matches!(
        pair.client.open_stream(),
        Err(Error::ConnectionClosed)
    ));
    pair.pump();
    assert_eq!(
        pair.take_events(Side::Server),
        vec![Event::GoAway(GoAwayCode::Normal)]
    );
    assert!(matches!(pair.server.open_stream(), Err(Error::GoAway(_))));
    // Buffered data is still readable.
    assert_eq!(read_available(&mut pair.server, inbound).0, b"data");

    // A Go Away with an error code closes the receiving session too.
    let mut pair = Pair::quiet();
    pair.server.close(GoAwayCode::InternalError);
    pair.pump();
    assert!(pair.client.is_closed());
    assert_eq!(
        pair.take_events(Side::Client),
        vec![Event::GoAway(GoAwayCode::InternalError), Event::Closed]
    );
}

#[test]
fn the_end_of_the_connection_fails_open_streams_after_their_data() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"last words").unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();
    pair.server.handle_eof();
    assert!(pair.server.is_closed());
    let mut buf = [0u8; 64];
    assert_eq!(
        pair.server.read(inbound, &mut buf).unwrap(),
        ReadOutcome::Data(10)
    );
    assert!(matches!(
        pair.server.read(inbound, &mut buf),
        Err(Error::ConnectionClosed)
    ));
}

#[test]
fn data_frames_we_send_are_capped() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    let data = vec![0u8; 1024 * 1024];
    assert_eq!(pair.client.write(id, &data).unwrap(), 64 * 1024);
}

#[test]
fn the_write_buffer_grows_once_for_large_frames_and_as_needed_for_small_ones() {
    let mut pair = Pair::quiet();
    let now = pair.now;
    let config = pair.client.config().clone();
    let full = config.max_write_buffer + frame::HEADER_LEN + config.max_send_frame_size as usize;
    let id = pair.client.open_stream().unwrap();

    // A full-size frame makes room for every frame the buffer can take before it is full.
    let data = vec![7u8; 64 * 1024];
    assert_eq!(pair.client.write(id, &data).unwrap(), data.len());
    let mut taken = BytesMut::new();
    pair.client.poll_transmit(now, &mut taken);
    assert_eq!(taken.len(), frame::HEADER_LEN + data.len());
    assert!(taken.capacity() >= full, "{} < {full}", taken.capacity());

    // A small message takes what it needs.
    assert_eq!(pair.client.write(id, b"hello").unwrap(), 5);
    let mut taken = BytesMut::new();
    pair.client.poll_transmit(now, &mut taken);
    assert_eq!(taken.len(), frame::HEADER_LEN + 5);
    assert!(taken.capacity() < 1024, "{}", taken.capacity());
}

#[test]
fn a_fast_reader_grows_its_window_up_to_the_maximum() {
    let mut config = quiet_config();
    config.rtt_interval = Some(Duration::from_secs(60));
    config.max_receive_window = 4 * 1024 * 1024;
    let mut pair = Pair::new(config.clone(), config);
    pair.latency = Duration::from_millis(1);
    pair.pump(); // RTT pings: 2 ms.
    assert_eq!(pair.server.rtt(), Some(Duration::from_millis(2)));

    let id = pair.client.open_stream().unwrap();
    let data = vec![9u8; 64 * 1024 * 1024];
    let mut written = 0;
    let mut inbound = None;
    let mut received = 0;
    while written < data.len() && received < data.len() {
        written += write_until_blocked(&mut pair.client, id, &data[written..]);
        pair.pump();
        let inbound = *inbound.get_or_insert_with(|| pair.server.accept().unwrap());
        received += read_available(&mut pair.server, inbound).0.len();
        let stats = pair.server.stream_stats(inbound).unwrap();
        assert!(stats.receive_window <= 4 * 1024 * 1024);
    }
    let inbound = inbound.unwrap();
    assert_eq!(
        pair.server.stream_stats(inbound).unwrap().receive_window,
        4 * 1024 * 1024
    );
}

#[test]
fn auto_tuning_respects_the_connection_budget() {
    let mut config = quiet_config();
    config.rtt_interval = Some(Duration::from_secs(60));
    config.max_connection_receive_window = 2 * INITIAL_WINDOW as usize + 100_000;
    let mut pair = Pair::new(config.clone(), config);
    pair.latency = Duration::from_millis(1);
    pair.pump();

    let ids: Vec<StreamId> = (0..2).map(|_| pair.client.open_stream().unwrap()).collect();
    let data = vec![1u8; 4 * 1024 * 1024];
    let mut inbound = Vec::new();
    for _ in 0..200 {
        for id in &ids {
            write_until_blocked(&mut pair.client, *id, &data);
        }
        pair.pump();
        while let Some(id) = pair.server.accept() {
            inbound.push(id);
        }
        for id in &inbound {
            read_available(&mut pair.server, *id);
        }
    }
    let total: u32 = inbound
        .iter()
        .map(|id| pair.server.stream_stats(*id).unwrap().receive_window)
        .sum();
    assert_eq!(total as usize, 2 * INITIAL_WINDOW as usize + 100_000);
}

#[test]
fn the_window_never_exceeds_what_we_accept_in_one_frame() {
    // A peer that sends its whole window as one frame (as js-libp2p does) is fine.
    let mut config = quiet_config();
    config.rtt_interval = Some(Duration::from_secs(60));
    let mut pair = Pair::new(config.clone(), config);
    pair.latency = Duration::from_millis(1);
    pair.pump();
    let id = pair.client.open_stream().unwrap();
    let data = vec![1u8; 64 * 1024 * 1024];
    let mut written = 0;
    let mut inbound = None;
    while written < data.len() {
        written += write_until_blocked(&mut pair.client, id, &data[written..]);
        pair.pump();
        let inbound = *inbound.get_or_insert_with(|| pair.server.accept().unwrap());
        read_available(&mut pair.server, inbound);
    }
    let inbound = inbound.unwrap();
    let window = pair.server.stream_stats(inbound).unwrap().receive_window;
    assert!(window > INITIAL_WINDOW);
    assert!(window <= pair.server.config().max_receive_window);

    // One frame of a whole (grown) window is accepted.
    let credit = pair.client.stream_stats(id).unwrap().send_window;
    let payload = vec![0u8; credit as usize];
    let mut input = raw(&[(Header::data(id, Flags::NONE, credit), &payload)]);
    pair.server.handle_input(pair.now, &mut input).unwrap();
}

#[test]
fn streams_finished_before_the_session_closed_can_still_be_accepted_and_read() {
    let mut pair = Pair::quiet();
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"bye").unwrap();
    pair.client.close_write(id).unwrap();
    pair.client.release(id);
    pair.client.close(GoAwayCode::Normal);
    pair.pump();
    pair.server.handle_eof();
    let inbound = pair.server.accept().unwrap();
    assert_eq!(
        read_available(&mut pair.server, inbound),
        (b"bye".to_vec(), true)
    );
}

#[test]
fn a_stream_closed_both_ways_stops_counting_before_it_is_released() {
    // The client may open a new stream once it has seen an old one end, even while the
    // server's handler still holds the old one: both ends must count alike.
    let mut server_config = quiet_config();
    server_config.max_streams = 1;
    let mut client_config = quiet_config();
    client_config.max_streams = 1;
    let mut pair = Pair::new(client_config, server_config);
    let first = pair.client.open_stream().unwrap();
    pair.client.write(first, b"hi").unwrap();
    pair.client.close_write(first).unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();
    pair.server.close_write(inbound).unwrap();
    pair.pump();
    // Held by both applications, but over on the wire.
    let second = pair.client.open_stream().unwrap();
    pair.client.write(second, b"again").unwrap();
    pair.pump();
    assert!(pair.server.accept().is_some(), "the new stream was refused");
    assert_eq!(
        pair.client.read_chunk(second, 10).unwrap(),
        ReadOutcome::Blocked
    );
}

#[test]
fn each_direction_has_its_own_stream_limit() {
    // The peer's streams (say, its keepalive ping) must not take the room of ours: both
    // ends count each direction alike only if the directions are counted apart.
    let mut config = quiet_config();
    config.max_streams = 1;
    let mut pair = Pair::new(config.clone(), config);
    let from_server = pair.server.open_stream().unwrap();
    pair.server.write(from_server, b"ping").unwrap();
    pair.pump();
    assert!(pair.client.accept().is_some());
    let from_client = pair.client.open_stream().unwrap();
    pair.client.write(from_client, b"data").unwrap();
    pair.pump();
    assert!(
        pair.server.accept().is_some(),
        "the client's stream was refused"
    );
    // A second stream in the same direction is past the limit.
    assert!(matches!(
        pair.client.open_stream(),
        Err(Error::TooManyStreams { max: 1 })
    ));
}

#[test]
fn a_large_payload_read_into_its_own_buffer_arrives_like_any_other() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let id = StreamId::new(1);
    let payload: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let header = Header::data(id, Flags::SYN, payload.len() as u32);

    // The header and the first 1000 bytes: `handle_input` waits for the rest.
    let mut input = raw(&[(header, &[])]);
    input.extend_from_slice(&payload[..1000]);
    server.handle_input(now, &mut input).unwrap();
    assert_eq!(input.len(), frame::HEADER_LEN + 1000);

    // Too small to be worth a buffer of its own: left where it is.
    assert!(
        server
            .take_pending_payload(&mut input, 200_000, BytesMut::with_capacity)
            .is_none()
    );
    assert_eq!(input.len(), frame::HEADER_LEN + 1000);

    let mut pending = server
        .take_pending_payload(&mut input, 8192, BytesMut::with_capacity)
        .unwrap();
    assert!(input.is_empty());
    assert_eq!(pending.remaining(), 99_000);
    // The buffer takes no more than the frame holds.
    assert_eq!(bytes::BufMut::remaining_mut(&pending.buf_mut()), 99_000);
    bytes::BufMut::put_slice(&mut pending.buf_mut(), &payload[1000..50_000]);
    assert!(!pending.is_complete());
    bytes::BufMut::put_slice(&mut pending.buf_mut(), &payload[50_000..]);
    assert!(pending.is_complete());
    server.handle_payload(now, pending).unwrap();

    let inbound = server.accept().unwrap();
    assert_eq!(inbound, id);
    let stats = server.stream_stats(id).unwrap();
    assert_eq!(stats.buffered, 100_000);
    let (received, finished) = read_available(&mut server, id);
    assert_eq!(received, payload);
    assert!(!finished);
}

#[test]
fn only_incomplete_data_frames_are_taken_as_pending_payloads() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let id = StreamId::new(1);
    let mut input = raw(&[(Header::window_update(id, Flags::SYN, 0), &[])]);
    server.handle_input(now, &mut input).unwrap();

    // A complete frame is `handle_input`'s to process.
    let mut input = raw(&[(Header::data(id, Flags::NONE, 4), b"abcd")]);
    assert!(
        server
            .take_pending_payload(&mut input, 0, BytesMut::with_capacity)
            .is_none()
    );
    assert_eq!(input.len(), frame::HEADER_LEN + 4);

    // Only part of a header: nothing to take.
    let mut input = BytesMut::from(&Header::data(id, Flags::NONE, 9000).encode()[..5]);
    assert!(
        server
            .take_pending_payload(&mut input, 0, BytesMut::with_capacity)
            .is_none()
    );

    // Other frame types carry no payload.
    let mut input = raw(&[(Header::ping(Flags::SYN, 7), &[])]);
    assert!(
        server
            .take_pending_payload(&mut input, 0, BytesMut::with_capacity)
            .is_none()
    );

    // More than the window allows is never given a buffer.
    let mut input = BytesMut::from(&Header::data(id, Flags::NONE, INITIAL_WINDOW + 1).encode()[..]);
    assert!(
        server
            .take_pending_payload(&mut input, 0, BytesMut::with_capacity)
            .is_none()
    );
    assert_eq!(input.len(), frame::HEADER_LEN);
}

/// Reads the next chunk of a stream.
fn next_chunk(session: &mut Session, id: StreamId) -> bytes::Bytes {
    match session.read_chunk(id, usize::MAX).unwrap() {
        ReadOutcome::Data(chunk) => chunk,
        outcome => panic!("expected data, got {outcome:?}"),
    }
}

#[test]
fn a_pending_payload_reaches_the_reader_in_the_buffer_its_caller_supplied() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let id = StreamId::new(1);
    let payload = [9u8; 40 * 1024];
    let mut input = raw(&[(Header::data(id, Flags::SYN, payload.len() as u32), &[])]);
    input.extend_from_slice(&payload[..100]);
    server.handle_input(now, &mut input).unwrap();

    // A buffer kept from an earlier payload: larger than this one, and not empty.
    let mut kept = BytesMut::with_capacity(64 * 1024);
    kept.extend_from_slice(b"left over from an earlier payload");
    let memory = kept.as_ptr();
    let mut asked_for = None;
    let mut pending = server
        .take_pending_payload(&mut input, 0, |len| {
            asked_for = Some(len);
            kept
        })
        .unwrap();
    assert_eq!(asked_for, Some(payload.len()));
    // What it held is discarded; what had arrived of the payload moved in.
    assert_eq!(pending.remaining(), payload.len() - 100);
    bytes::BufMut::put_slice(&mut pending.buf_mut(), &payload[100..]);
    server.handle_payload(now, pending).unwrap();

    assert_eq!(server.accept(), Some(id));
    let chunk = next_chunk(&mut server, id);
    assert_eq!(
        chunk.as_ptr(),
        memory,
        "no copy between the buffer and the reader"
    );
    assert_eq!(&chunk[..], &payload[..]);
}

/// Pings, then SYNs past the stream limits, from a peer that never reads: every one of them
/// calls for an answer (a pong, a refusal).
fn answer_flood(pings: u32, syns: u32) -> BytesMut {
    let mut input = BytesMut::new();
    for opaque in 0..pings {
        frame::encode(&Header::ping(Flags::SYN, opaque), &[], &mut input);
    }
    for index in 0..syns {
        let id = StreamId::new(2 * index + 1);
        frame::encode(&Header::window_update(id, Flags::SYN, 0), &[], &mut input);
    }
    input
}

#[test]
fn a_peer_that_never_reads_our_answers_is_no_longer_read() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let config = server.config().clone();
    // What may be queued: a full write buffer, one frame past it, the 64 KiB control
    // headroom, and the last answer.
    let bound = config.max_write_buffer
        + frame::HEADER_LEN
        + config.max_send_frame_size as usize
        + 64 * 1024
        + frame::HEADER_LEN;
    let mut input = answer_flood(100_000, 100_000);
    let total = input.len();
    assert!(total > 4 * bound);

    server.handle_input(now, &mut input).unwrap();
    assert!(!server.wants_input());
    let consumed = total - input.len();
    assert!(
        consumed <= bound,
        "{consumed} bytes taken, more than {bound}"
    );
    // Until what is queued goes out, nothing more is taken.
    server.handle_input(now, &mut input).unwrap();
    assert_eq!(total - input.len(), consumed);

    let mut out = BytesMut::new();
    server.poll_transmit(now, &mut out);
    assert!(out.len() <= bound, "{} bytes queued", out.len());
    // No answer was dropped: one 12-byte pong per 12-byte ping.
    assert_eq!(out.len(), consumed);
    assert!(server.wants_input());
}

#[test]
fn once_the_peer_reads_every_ping_and_refused_stream_is_answered() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let (pings, syns) = (60_000, 60_000);
    let mut input = answer_flood(pings, syns);
    let mut answers = Vec::new();
    let mut pauses = 0;
    while !input.is_empty() {
        server.handle_input(now, &mut input).unwrap();
        if !server.wants_input() {
            pauses += 1;
        }
        answers.extend(transmitted_headers(&mut server, now));
    }
    assert!(pauses > 0, "the flood filled the queue");
    let pongs: Vec<u32> = answers
        .iter()
        .filter(|header| header.frame_type == FrameType::Ping)
        .map(|header| {
            assert_eq!(header.flags, Flags::ACK);
            header.length
        })
        .collect();
    assert_eq!(pongs, (0..pings).collect::<Vec<_>>());
    let refused = answers
        .iter()
        .filter(|header| header.flags == Flags::RST)
        .count();
    let kept = server.config().max_pending_inbound_streams;
    assert_eq!(refused, syns as usize - kept);
    assert_eq!(server.stream_count(), kept);
}

#[test]
fn a_syn_data_frame_larger_than_the_initial_window_is_a_protocol_error() {
    let now = std::time::Instant::now();
    // A new stream's window is the initial one, whatever the stream may grow to later;
    // only the header is here: the payload is refused before it arrives.
    let mut server = Session::new(Mode::Server, quiet_config());
    let mut input = BytesMut::from(
        &Header::data(StreamId::new(1), Flags::SYN, INITIAL_WINDOW + 1).encode()[..],
    );
    let error = server.handle_input(now, &mut input).unwrap_err();
    assert!(matches!(
        error,
        Error::ReceiveWindowExceeded {
            len: 262_145,
            window: 262_144,
            ..
        }
    ));
    assert!(server.is_closed());
    assert_eq!(server.stream_count(), 0);
    assert_eq!(
        transmitted_headers(&mut server, now),
        vec![Header::go_away(GoAwayCode::ProtocolError)]
    );

    // Exactly the initial window is fine.
    let mut server = Session::new(Mode::Server, quiet_config());
    let payload = vec![7u8; INITIAL_WINDOW as usize];
    let mut input = raw(&[(
        Header::data(StreamId::new(1), Flags::SYN, INITIAL_WINDOW),
        &payload,
    )]);
    server.handle_input(now, &mut input).unwrap();
    let id = server.accept().unwrap();
    assert_eq!(server.stream_stats(id).unwrap().buffered, INITIAL_WINDOW);
}

#[test]
fn streams_opened_and_never_read_hold_at_most_their_windows() {
    let now = std::time::Instant::now();
    let mut config = quiet_config();
    config.max_streams = 16;
    config.max_pending_inbound_streams = 8;
    let mut server = Session::new(Mode::Server, config);
    // 32 streams, each sent a whole initial window, none accepted or read.
    let payload = vec![7u8; INITIAL_WINDOW as usize];
    for index in 0..32 {
        let id = StreamId::new(2 * index + 1);
        let mut input = raw(&[(Header::data(id, Flags::SYN, INITIAL_WINDOW), &payload)]);
        server.handle_input(now, &mut input).unwrap();
    }
    // The accept backlog is kept, the rest refused.
    assert_eq!(server.stream_count(), 8);
    let buffered: u32 = (0..32)
        .filter_map(|index| server.stream_stats(StreamId::new(2 * index + 1)))
        .map(|stats| stats.buffered)
        .sum();
    assert_eq!(buffered, 8 * INITIAL_WINDOW);
    let refused = transmitted_headers(&mut server, now)
        .into_iter()
        .filter(|header| header.flags == Flags::RST)
        .count();
    assert_eq!(refused, 24);
    // Unread, a stream grants nothing more: one byte past its window ends the session.
    let mut input = raw(&[(Header::data(StreamId::new(1), Flags::NONE, 1), b"!")]);
    assert!(matches!(
        server.handle_input(now, &mut input),
        Err(Error::ReceiveWindowExceeded { .. })
    ));
}

#[test]
fn frames_trickled_one_byte_at_a_time_arrive_intact_and_are_copied_once() {
    let now = std::time::Instant::now();
    let mut server = Session::new(Mode::Server, quiet_config());
    let id = StreamId::new(1);
    let small: Vec<u8> = (0..100u8).collect();
    let large: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let wire = raw(&[
        (Header::window_update(id, Flags::SYN, 0), &[]),
        (Header::data(id, Flags::NONE, small.len() as u32), &small),
        (Header::ping(Flags::SYN, 42), &[]),
        (Header::data(id, Flags::FIN, large.len() as u32), &large),
    ]);

    // As the tokio driver does: frames through the input buffer, a large payload straight
    // into a buffer of its own.
    let mut input = BytesMut::new();
    let mut pending: Option<hyphae_yamux::PendingPayload> = None;
    let mut most_held = 0;
    for byte in wire.iter() {
        match &mut pending {
            Some(payload) => bytes::BufMut::put_u8(&mut payload.buf_mut(), *byte),
            None => input.extend_from_slice(&[*byte]),
        }
        if pending
            .as_ref()
            .is_some_and(hyphae_yamux::PendingPayload::is_complete)
        {
            server.handle_payload(now, pending.take().unwrap()).unwrap();
        } else if pending.is_none() {
            server.handle_input(now, &mut input).unwrap();
            pending = server.take_pending_payload(&mut input, hyphae_yamux::LARGE_PAYLOAD, |len| {
                BytesMut::with_capacity(len)
            });
        }
        most_held = most_held.max(input.len());
    }
    assert!(pending.is_none() && input.is_empty());
    // The input buffer never held more than a header and a small frame: the large payload
    // went to its own buffer, each byte copied once.
    assert!(most_held <= frame::HEADER_LEN + small.len(), "{most_held}");

    let stream = server.accept().unwrap();
    let (received, finished) = read_available(&mut server, stream);
    assert!(finished);
    assert_eq!(received, [small, large].concat());
    assert!(transmitted_headers(&mut server, now).contains(&Header::ping(Flags::ACK, 42)));
}
