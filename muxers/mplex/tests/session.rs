//! The sans-IO session, step by step: two sessions joined by moving bytes by hand.

use hyphae_mplex::frame::{self, Flag};
use hyphae_mplex::{Config, Error, ReadOutcome, Session, StreamId};

/// Moves every queued byte from `from` to `to`.
fn deliver(from: &mut Session, to: &mut Session) -> Result<(), Error> {
    let mut bytes = Vec::new();
    from.poll_transmit(&mut bytes);
    let used = to.handle_input(&bytes)?;
    assert_eq!(used, bytes.len());
    Ok(())
}

fn read_all(session: &mut Session, id: StreamId) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(ReadOutcome::Data(chunk)) = session.read(id, usize::MAX) {
        out.extend_from_slice(&chunk);
    }
    out
}

fn pair() -> (Session, Session) {
    (
        Session::new(Config::default()),
        Session::new(Config::default()),
    )
}

#[test]
fn opens_accepts_and_echoes() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    assert_eq!(a.write(out, b"ping").unwrap(), 4);
    deliver(&mut a, &mut b).unwrap();
    let inbound = b.accept().unwrap();
    assert!(!inbound.is_outbound);
    assert_eq!(inbound.number, out.number);
    assert_eq!(read_all(&mut b, inbound), b"ping");
    b.write(inbound, b"pong").unwrap();
    deliver(&mut b, &mut a).unwrap();
    assert_eq!(read_all(&mut a, out), b"pong");
}

#[test]
fn both_sides_may_use_the_same_stream_number() {
    let (mut a, mut b) = pair();
    let from_a = a.open_stream().unwrap();
    let from_b = b.open_stream().unwrap();
    assert_eq!(from_a.number, from_b.number);
    a.write(from_a, b"from a").unwrap();
    b.write(from_b, b"from b").unwrap();
    deliver(&mut a, &mut b).unwrap();
    deliver(&mut b, &mut a).unwrap();
    let at_b = b.accept().unwrap();
    let at_a = a.accept().unwrap();
    assert_eq!(read_all(&mut b, at_b), b"from a");
    assert_eq!(read_all(&mut a, at_a), b"from b");
    assert_eq!(a.read(from_a, 100).unwrap(), ReadOutcome::Blocked);
}

#[test]
fn half_close_each_way() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    a.write(out, b"request").unwrap();
    a.close_write(out).unwrap();
    assert!(matches!(a.write(out, b"x"), Err(Error::WriteClosed(_))));
    deliver(&mut a, &mut b).unwrap();
    let inbound = b.accept().unwrap();
    assert_eq!(read_all(&mut b, inbound), b"request");
    assert_eq!(b.read(inbound, 10).unwrap(), ReadOutcome::Finished);
    // The other direction is still open.
    b.write(inbound, b"response").unwrap();
    b.close_write(inbound).unwrap();
    deliver(&mut b, &mut a).unwrap();
    assert_eq!(read_all(&mut a, out), b"response");
    assert_eq!(a.read(out, 10).unwrap(), ReadOutcome::Finished);
}

#[test]
fn reset_ends_both_directions_with_an_error() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    a.write(out, b"unread").unwrap();
    deliver(&mut a, &mut b).unwrap();
    let inbound = b.accept().unwrap();
    b.reset(inbound).unwrap();
    assert!(matches!(b.read(inbound, 10), Err(Error::StreamReset(_))));
    deliver(&mut b, &mut a).unwrap();
    assert!(matches!(a.read(out, 10), Err(Error::StreamReset(_))));
    assert!(matches!(a.write(out, b"x"), Err(Error::StreamReset(_))));
}

#[test]
fn data_sent_before_a_reset_is_read_before_the_reset_error() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    deliver(&mut a, &mut b).unwrap();
    let inbound = b.accept().unwrap();
    // A listener refusing a protocol: it answers, then resets.
    b.write(inbound, b"na").unwrap();
    b.reset(inbound).unwrap();
    deliver(&mut b, &mut a).unwrap();
    assert!(matches!(a.write(out, b"x"), Err(Error::StreamReset(_))));
    assert_eq!(
        a.read(out, 10).unwrap(),
        ReadOutcome::Data(b"na"[..].into())
    );
    assert!(matches!(a.read(out, 10), Err(Error::StreamReset(_))));
}

#[test]
fn our_own_reset_drops_unread_data() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    a.write(out, b"unread").unwrap();
    deliver(&mut a, &mut b).unwrap();
    let inbound = b.accept().unwrap();
    b.reset(inbound).unwrap();
    assert!(matches!(b.read(inbound, 10), Err(Error::StreamReset(_))));
}

#[test]
fn dropping_an_open_stream_resets_it() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    deliver(&mut a, &mut b).unwrap();
    let inbound = b.accept().unwrap();
    a.release(out);
    deliver(&mut a, &mut b).unwrap();
    assert!(matches!(b.read(inbound, 10), Err(Error::StreamReset(_))));
}

#[test]
fn rejects_oversized_frame_and_closes() {
    let (mut a, mut b) = pair();
    a.open_stream().unwrap();
    deliver(&mut a, &mut b).unwrap();
    let mut bytes = Vec::new();
    frame::encode(
        0,
        Flag::MessageInitiator,
        &vec![0; frame::MAX_FRAME_DATA + 1],
        &mut bytes,
    );
    assert!(matches!(
        b.handle_input(&bytes),
        Err(Error::FrameTooLarge { .. })
    ));
    assert!(b.is_closed());
    assert!(matches!(b.open_stream(), Err(Error::ConnectionClosed)));
}

#[test]
fn rejects_unknown_flag_and_closes() {
    let mut b = Session::new(Config::default());
    assert!(matches!(
        b.handle_input(&[0x0f, 0x00]),
        Err(Error::UnknownFlag(7))
    ));
    assert!(b.is_closed());
}

#[test]
fn rejects_data_after_close() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    a.close_write(out).unwrap();
    deliver(&mut a, &mut b).unwrap();
    let mut bytes = Vec::new();
    frame::encode(out.number, Flag::MessageInitiator, b"late", &mut bytes);
    assert!(matches!(
        b.handle_input(&bytes),
        Err(Error::WriteAfterClose(0))
    ));
}

#[test]
fn rejects_duplicate_new_stream() {
    let mut b = Session::new(Config::default());
    let mut bytes = Vec::new();
    frame::encode(3, Flag::NewStream, b"", &mut bytes);
    frame::encode(3, Flag::NewStream, b"", &mut bytes);
    assert!(matches!(
        b.handle_input(&bytes),
        Err(Error::DuplicateStream(3))
    ));
}

#[test]
fn a_full_stream_buffer_pauses_receiving_until_it_is_read() {
    let mut config = Config::default();
    config.max_buffer_per_stream = 10;
    let mut a = Session::new(Config::default());
    let mut b = Session::new(config);
    let flooded = a.open_stream().unwrap();
    a.write(flooded, b"0123456789").unwrap();
    deliver(&mut a, &mut b).unwrap();
    let flooded_in = b.accept().unwrap();

    // One more byte for the full stream, then a frame for another stream behind it.
    a.write(flooded, b"!").unwrap();
    let calm = a.open_stream().unwrap();
    a.write(calm, b"fine").unwrap();
    let mut bytes = Vec::new();
    a.poll_transmit(&mut bytes);
    let used = b.handle_input(&bytes).unwrap();
    assert!(used < bytes.len(), "took a frame past the buffer limit");
    assert!(b.is_read_blocked());
    assert!(
        b.accept().is_none(),
        "frames behind the blocked one were taken"
    );

    // Reading makes room: receiving goes on from where it stopped, nothing lost.
    let ReadOutcome::Data(first) = b.read(flooded_in, 4).unwrap() else {
        panic!("no data buffered");
    };
    assert_eq!(&first[..], b"0123");
    assert!(!b.is_read_blocked());
    assert_eq!(b.handle_input(&bytes[used..]).unwrap(), bytes.len() - used);
    assert_eq!(read_all(&mut b, flooded_in), b"456789!");
    let calm_in = b.accept().unwrap();
    assert_eq!(read_all(&mut b, calm_in), b"fine");
    assert!(!b.is_closed());
}

#[test]
fn resetting_the_full_stream_also_lets_receiving_go_on() {
    let mut config = Config::default();
    config.max_buffer_per_stream = 4;
    let mut a = Session::new(Config::default());
    let mut b = Session::new(config);
    let flooded = a.open_stream().unwrap();
    a.write(flooded, b"0123").unwrap();
    a.write(flooded, b"4567").unwrap();
    let mut bytes = Vec::new();
    a.poll_transmit(&mut bytes);
    let used = b.handle_input(&bytes).unwrap();
    assert!(b.is_read_blocked());
    let flooded_in = b.accept().unwrap();
    b.reset(flooded_in).unwrap();
    assert!(!b.is_read_blocked());
    // The rest is for a stream we reset: dropped, not buffered.
    assert_eq!(b.handle_input(&bytes[used..]).unwrap(), bytes.len() - used);
}

#[test]
fn a_frame_larger_than_the_limit_still_reaches_an_empty_buffer() {
    let mut config = Config::default();
    config.max_buffer_per_stream = 2;
    let mut a = Session::new(Config::default());
    let mut b = Session::new(config);
    let stream = a.open_stream().unwrap();
    a.write(stream, b"larger than two").unwrap();
    deliver(&mut a, &mut b).unwrap();
    let inbound = b.accept().unwrap();
    assert_eq!(read_all(&mut b, inbound), b"larger than two");
}

#[test]
fn enforces_stream_limit_both_ways() {
    let mut config = Config::default();
    config.max_streams = 2;
    let mut a = Session::new(Config::default());
    let mut b = Session::new(config.clone());
    let mut limited = Session::new(config);
    limited.open_stream().unwrap();
    limited.open_stream().unwrap();
    assert!(matches!(
        limited.open_stream(),
        Err(Error::TooManyStreams { max: 2 })
    ));

    let streams: Vec<_> = (0..3).map(|_| a.open_stream().unwrap()).collect();
    deliver(&mut a, &mut b).unwrap();
    assert!(b.accept().is_some());
    assert!(b.accept().is_some());
    assert!(b.accept().is_none());
    deliver(&mut b, &mut a).unwrap();
    assert!(matches!(a.read(streams[2], 1), Err(Error::StreamReset(_))));
    assert_eq!(a.read(streams[0], 1).unwrap(), ReadOutcome::Blocked);
}

#[test]
fn limits_pending_inbound_streams() {
    let mut config = Config::default();
    config.max_pending_inbound = 1;
    let mut a = Session::new(Config::default());
    let mut b = Session::new(config);
    let first = a.open_stream().unwrap();
    let second = a.open_stream().unwrap();
    deliver(&mut a, &mut b).unwrap();
    deliver(&mut b, &mut a).unwrap();
    assert_eq!(a.read(first, 1).unwrap(), ReadOutcome::Blocked);
    assert!(matches!(a.read(second, 1), Err(Error::StreamReset(_))));
}

#[test]
fn partial_frames_wait_for_the_rest() {
    let (mut a, mut b) = pair();
    let out = a.open_stream().unwrap();
    a.write(out, b"split across reads").unwrap();
    let mut bytes = Vec::new();
    a.poll_transmit(&mut bytes);
    let mut pending = Vec::new();
    for byte in bytes {
        pending.push(byte);
        let used = b.handle_input(&pending).unwrap();
        pending.drain(..used);
    }
    assert!(pending.is_empty());
    let inbound = b.accept().unwrap();
    assert_eq!(read_all(&mut b, inbound), b"split across reads");
}

#[test]
fn a_peer_that_opens_streams_without_reading_is_no_longer_read() {
    let mut b = Session::new(Config::default());
    let limit = Config::default().max_outbound_buffer;
    // Streams past the limits, each refused with a reset we owe the peer.
    let mut flood = Vec::new();
    for number in 0..1_000_000 {
        frame::encode(number, Flag::NewStream, b"", &mut flood);
    }
    let used = b.handle_input(&flood).unwrap();
    assert!(used < flood.len());
    assert!(b.is_read_blocked());
    // Until what is queued goes out, nothing more is taken.
    assert_eq!(b.handle_input(&flood[used..]).unwrap(), 0);
    let mut answers = Vec::new();
    b.poll_transmit(&mut answers);
    // Our answers fill the queue past the limit of our own writes by at most the 64 KiB
    // headroom (and one reset).
    assert!(answers.len() <= limit + 64 * 1024 + 16, "{}", answers.len());
    assert!(!b.is_read_blocked());

    // Once the peer reads, the rest is taken and every refused stream is reset.
    let mut rest = &flood[used..];
    while !rest.is_empty() {
        let used = b.handle_input(rest).unwrap();
        rest = &rest[used..];
        b.poll_transmit(&mut answers);
    }
    let mut resets = 0;
    let mut at = &answers[..];
    while let Some((frame, consumed)) = frame::decode(at, usize::MAX).unwrap() {
        assert_eq!(frame.flag, Flag::ResetReceiver);
        resets += 1;
        at = &at[consumed..];
    }
    assert_eq!(resets + b.stream_count(), 1_000_000);
}
