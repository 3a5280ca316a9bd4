//! A session given a resource scope reserves its receive windows there: a stream the scope
//! cannot afford is refused, a window it cannot afford does not grow, and everything is
//! given back as streams end and when the session goes. A quiet session gives back what it
//! does not hold and reserves it again before anything can fill it; refused, it waits for
//! memory, its input unread, and tries again later.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::{Pair, Side, quiet_config};
use hyphae_core::resources::{ConnectionScope, Resource};
use hyphae_core::testing::connection_scope;
use hyphae_yamux::{
    Error, Event, IDLE_RELEASE, INITIAL_WINDOW, MAX_MEMORY_RETRY, MIN_MEMORY_RETRY, Mode,
    RESERVATION_STEP, ReadOutcome, Session, StreamId,
};

const WINDOW: u64 = INITIAL_WINDOW as u64;
const STEP: u64 = RESERVATION_STEP as u64;

/// The reservations a stepped reservation passes through on its way to `whole`: one
/// [`RESERVATION_STEP`], then twice as much each time.
fn steps_up_to(whole: u64) -> Vec<u64> {
    std::iter::successors(Some(STEP), |step| Some(2 * step))
        .take_while(|step| *step <= whole)
        .collect()
}

/// The values `reserved` takes, each once, from now and while `progress` makes progress.
fn reservations_while(mut progress: impl FnMut() -> bool, reserved: impl Fn() -> u64) -> Vec<u64> {
    let mut seen = vec![reserved()];
    while progress() {
        if seen.last() != Some(&reserved()) {
            seen.push(reserved());
        }
    }
    seen
}

/// The pair with its server reserving from `scope`; returns what the session holds whatever
/// its streams and writers do (the headroom for its answers).
fn scoped_server(pair: &mut Pair, scope: &ConnectionScope) -> u64 {
    let config = pair.server.config().clone();
    pair.server = Session::new(Mode::Server, config)
        .with_memory_scope(scope.scope().clone())
        .unwrap();
    scope.scope().usage().memory
}

#[test]
fn windows_are_reserved_as_streams_open_and_given_back_as_they_end() {
    let scope = connection_scope(u64::MAX);
    let mut pair = Pair::quiet();
    let fixed = scoped_server(&mut pair, &scope);
    assert!(
        fixed < pair.server.config().max_write_buffer as u64,
        "the write buffer is reserved as writers fill it"
    );

    let ids: Vec<StreamId> = (0..3).map(|_| pair.client.open_stream().unwrap()).collect();
    for id in &ids {
        pair.client.write(*id, b"hi").unwrap();
    }
    pair.pump();
    assert_eq!(scope.scope().usage().memory, fixed + 3 * WINDOW);

    let inbound = pair.server.accept().unwrap();
    pair.client.reset(ids[0]).unwrap();
    pair.pump();
    pair.server.release(inbound);
    assert_eq!(scope.scope().usage().memory, fixed + 2 * WINDOW);

    drop(pair);
    assert_eq!(scope.scope().usage().memory, 0);
}

#[test]
fn a_stream_the_scope_cannot_afford_is_refused_with_a_reset() {
    let mut pair = Pair::quiet();
    let probe = connection_scope(u64::MAX);
    let fixed = scoped_server(&mut pair, &probe);
    let scope = connection_scope(fixed + 2 * WINDOW);
    scoped_server(&mut pair, &scope);

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
    assert_eq!(scope.scope().usage().memory, fixed + 2 * WINDOW);
}

#[test]
fn opening_a_stream_the_scope_cannot_afford_fails_with_a_typed_error() {
    let mut pair = Pair::quiet();
    let probe = connection_scope(u64::MAX);
    let fixed = scoped_server(&mut pair, &probe);
    let scope = connection_scope(fixed + WINDOW);
    scoped_server(&mut pair, &scope);
    pair.server.open_stream().unwrap();
    match pair.server.open_stream() {
        Err(Error::ResourceLimit(refused)) => assert_eq!(refused.resource, Resource::Memory),
        other => panic!("expected a resource limit, got {other:?}"),
    }
}

/// Streams a 4 MiB transfer to the server on `streams` streams, reading as fast as it
/// arrives; returns the server's receive windows.
fn fast_transfer(pair: &mut Pair, streams: usize) -> Vec<u32> {
    pair.latency = Duration::from_millis(1);
    pair.pump();
    let ids: Vec<StreamId> = (0..streams)
        .map(|_| pair.client.open_stream().unwrap())
        .collect();
    let data = vec![1u8; 4 * 1024 * 1024];
    let mut inbound = Vec::new();
    for _ in 0..100 {
        for id in &ids {
            let _ = pair.client.write(*id, &data);
        }
        pair.pump();
        while let Some(id) = pair.server.accept() {
            inbound.push(id);
        }
        for id in &inbound {
            while let Ok(ReadOutcome::Data(_)) = pair.server.read_chunk(*id, usize::MAX) {}
        }
    }
    inbound
        .iter()
        .map(|id| pair.server.stream_stats(*id).unwrap().receive_window)
        .collect()
}

fn tuning_config() -> hyphae_yamux::Config {
    let mut config = quiet_config();
    config.rtt_interval = Some(Duration::from_secs(60));
    config.max_receive_window = 4 * 1024 * 1024;
    config
}

#[test]
fn windows_grow_only_as_far_as_the_scope_allows() {
    let mut pair = Pair::new(tuning_config(), tuning_config());
    let probe = connection_scope(u64::MAX);
    let fixed = scoped_server(&mut pair, &probe);

    let roomy = connection_scope(u64::MAX);
    scoped_server(&mut pair, &roomy);
    let windows = fast_transfer(&mut pair, 2);
    assert_eq!(windows.len(), 2);
    assert!(
        windows.iter().all(|w| *w > INITIAL_WINDOW),
        "with room, windows grow"
    );
    let held: u64 = windows.iter().map(|w| u64::from(*w)).sum();
    assert_eq!(roomy.scope().usage().memory, fixed + held);

    let mut pair = Pair::new(tuning_config(), tuning_config());
    let tight = connection_scope(fixed + 2 * WINDOW + 100_000);
    scoped_server(&mut pair, &tight);
    let windows = fast_transfer(&mut pair, 2);
    assert_eq!(
        windows,
        vec![INITIAL_WINDOW; 2],
        "no room to double a window"
    );
    assert_eq!(tight.scope().usage().memory, fixed + 2 * WINDOW);
}

/// Lets `IDLE_RELEASE` pass on the server with nothing happening.
fn stay_quiet(pair: &mut Pair) {
    pair.now += IDLE_RELEASE;
    let now = pair.now;
    pair.server.handle_timeout(now);
}

/// The client opens a stream and sends `hi`; the server accepts and reads it.
fn one_exchange(pair: &mut Pair) -> (StreamId, StreamId) {
    let id = pair.client.open_stream().unwrap();
    pair.client.write(id, b"hi").unwrap();
    pair.pump();
    let inbound = pair.server.accept().unwrap();
    assert_eq!(
        pair.server.read_chunk(inbound, 10).unwrap(),
        ReadOutcome::Data(bytes::Bytes::from_static(b"hi"))
    );
    pair.pump();
    (id, inbound)
}

#[test]
fn a_quiet_session_gives_back_what_it_does_not_hold_and_takes_it_again_before_data() {
    let scope = connection_scope(u64::MAX);
    let mut pair = Pair::quiet();
    let fixed = scoped_server(&mut pair, &scope);
    let (id, inbound) = one_exchange(&mut pair);
    assert_eq!(scope.scope().usage().memory, fixed + WINDOW);
    assert!(pair.server.poll_timeout().is_some(), "a release is due");

    stay_quiet(&mut pair);
    assert_eq!(
        scope.scope().usage().memory,
        0,
        "an idle session holds nothing"
    );
    assert_eq!(pair.server.poll_timeout(), None, "nothing left to release");

    // A step of the window is reserved again as the data arrives, before it is buffered.
    pair.client.write(id, b"again").unwrap();
    pair.pump();
    assert_eq!(scope.scope().usage().memory, fixed + STEP);
    assert_eq!(
        pair.server.read_chunk(inbound, 10).unwrap(),
        ReadOutcome::Data(bytes::Bytes::from_static(b"again"))
    );

    stay_quiet(&mut pair);
    assert_eq!(scope.scope().usage().memory, 0);
    // Our own write reserves the headroom and a step of the write buffer again; the window
    // stays given back.
    pair.server.write(inbound, b"answer").unwrap();
    assert_eq!(scope.scope().usage().memory, fixed + STEP);
    pair.pump();
    drop(pair);
    assert_eq!(scope.scope().usage().memory, 0);
}

#[test]
fn a_stream_holding_unread_data_keeps_its_window_and_the_write_buffer_reserved() {
    let scope = connection_scope(u64::MAX);
    let mut pair = Pair::quiet();
    let fixed = scoped_server(&mut pair, &scope);
    let (_, _) = one_exchange(&mut pair);
    let unread = pair.client.open_stream().unwrap();
    pair.client.write(unread, b"not read yet").unwrap();
    pair.pump();
    assert_eq!(scope.scope().usage().memory, fixed + 2 * WINDOW);

    stay_quiet(&mut pair);
    assert_eq!(
        scope.scope().usage().memory,
        fixed + WINDOW,
        "only the read stream's window is given back"
    );
}

/// A server reserving from a scope of exactly its fixed memory and one window, which has gone
/// quiet after one exchange (holding nothing), while something else took `taken` bytes of
/// the scope. Returns the pair, the scope, the fixed memory, and the client's and server's
/// ids of the stream.
fn quiet_server_of_a_crowded_scope(taken: u64) -> (Pair, ConnectionScope, u64, StreamId, StreamId) {
    let probe = connection_scope(u64::MAX);
    let mut pair = Pair::quiet();
    let fixed = scoped_server(&mut pair, &probe);
    let scope = connection_scope(fixed + WINDOW);
    scoped_server(&mut pair, &scope);
    let (id, inbound) = one_exchange(&mut pair);
    stay_quiet(&mut pair);
    assert_eq!(scope.scope().usage().memory, 0);
    scope.scope().reserve_memory(taken as usize).unwrap();
    (pair, scope, fixed, id, inbound)
}

/// What the client sends next, as the server's input.
fn client_output(pair: &mut Pair) -> BytesMut {
    let mut input = BytesMut::new();
    let now = pair.now;
    pair.client.poll_transmit(now, &mut input);
    input
}

/// Lets time pass on the server until its next timeout.
fn until_server_timeout(pair: &mut Pair) {
    let at = pair.server.poll_timeout().expect("a timeout is due");
    pair.now = pair.now.max(at);
    let now = pair.now;
    pair.server.handle_timeout(now);
}

#[test]
fn input_the_scope_cannot_wake_a_quiet_session_for_waits_for_memory() {
    let (mut pair, scope, fixed, id, inbound) = quiet_server_of_a_crowded_scope(WINDOW + 1);

    pair.client.write(id, b"wake up").unwrap();
    let mut input = client_output(&mut pair);
    let sent = input.clone();
    let now = pair.now;
    pair.server.handle_input(now, &mut input).unwrap();
    assert!(!pair.server.is_closed(), "the connection is kept");
    assert_eq!(input, sent, "the input waits, unread");
    assert!(!pair.server.wants_input(), "no more input meanwhile");
    assert!(scope.scope().usage().memory <= fixed + WINDOW);
    let first_try = pair.server.poll_timeout().unwrap();
    assert_eq!(first_try, now + MIN_MEMORY_RETRY);

    // Still no memory at the retry: the next one comes later.
    until_server_timeout(&mut pair);
    assert!(!pair.server.wants_input());
    let second_try = pair.server.poll_timeout().unwrap();
    assert_eq!(second_try, first_try + 2 * MIN_MEMORY_RETRY);

    // Memory frees: at the next retry the input is taken.
    scope.scope().release_memory(WINDOW as usize + 1);
    until_server_timeout(&mut pair);
    assert!(pair.server.wants_input());
    let now = pair.now;
    pair.server.handle_input(now, &mut input).unwrap();
    assert!(input.is_empty());
    assert_eq!(scope.scope().usage().memory, fixed + STEP);
    assert_eq!(
        pair.server.read_chunk(inbound, 10).unwrap(),
        ReadOutcome::Data(bytes::Bytes::from_static(b"wake up"))
    );
    drop(pair);
    assert_eq!(scope.scope().usage().memory, 0, "everything given back");
}

#[test]
fn a_quiet_streams_data_waits_for_its_window_without_being_read() {
    // The headroom fits, the first step of the stream's window does not.
    let taken = WINDOW - STEP + 1;
    let (mut pair, scope, fixed, id, inbound) = quiet_server_of_a_crowded_scope(taken);

    pair.client.write(id, b"data").unwrap();
    let mut input = client_output(&mut pair);
    let now = pair.now;
    pair.server.handle_input(now, &mut input).unwrap();
    assert!(!input.is_empty(), "the frame waits, unread");
    assert!(!pair.server.wants_input());
    assert_eq!(
        scope.scope().usage().memory,
        taken + fixed,
        "only the headroom"
    );
    assert_eq!(
        pair.server.stream_stats(inbound).unwrap().buffered,
        0,
        "nothing buffered without its window reserved"
    );

    scope.scope().release_memory(1);
    until_server_timeout(&mut pair);
    let now = pair.now;
    pair.server.handle_input(now, &mut input).unwrap();
    assert!(input.is_empty());
    assert_eq!(
        pair.server.read_chunk(inbound, 10).unwrap(),
        ReadOutcome::Data(bytes::Bytes::from_static(b"data"))
    );
    assert_eq!(scope.scope().usage().memory, taken - 1 + fixed + STEP);
}

#[test]
fn a_woken_streams_window_is_reserved_in_steps_as_its_data_arrives() {
    let scope = connection_scope(u64::MAX);
    let mut pair = Pair::quiet();
    let fixed = scoped_server(&mut pair, &scope);
    let (id, inbound) = one_exchange(&mut pair);
    stay_quiet(&mut pair);
    assert_eq!(scope.scope().usage().memory, 0);

    // The client fills the stream's window, the server reads none of it: the reservation
    // doubles from one step as the data arrives, up to the whole window.
    let chunk = vec![1u8; 8 * 1024];
    let seen = reservations_while(
        || {
            let sent = pair.client.write(id, &chunk).unwrap() > 0;
            pair.pump();
            sent
        },
        // Quiet, the session holds not even its headroom: it comes back with the first frame.
        || scope.scope().usage().memory.saturating_sub(fixed),
    );
    assert_eq!(seen[0], 0, "quiet");
    assert_eq!(seen[1..], steps_up_to(WINDOW));
    assert_eq!(seen.last(), Some(&WINDOW));
    // All the client could send (its window less the two bytes of the first exchange).
    let buffered = pair.server.stream_stats(inbound).unwrap().buffered as u64;
    assert_eq!(buffered, WINDOW - 2);
}

#[test]
fn a_writer_the_scope_cannot_wake_a_quiet_session_for_waits_for_memory() {
    let (mut pair, scope, fixed, _, inbound) = quiet_server_of_a_crowded_scope(WINDOW + 1);

    assert_eq!(pair.server.write(inbound, b"answer").unwrap(), 0, "blocked");
    assert!(!pair.server.has_transmit(), "nothing queued without memory");
    until_server_timeout(&mut pair);
    let mut out = BytesMut::new();
    let now = pair.now;
    pair.server.poll_transmit(now, &mut out);
    assert!(
        !pair
            .take_events(Side::Server)
            .contains(&Event::Writable(inbound)),
        "no memory yet"
    );

    scope.scope().release_memory(WINDOW as usize + 1);
    until_server_timeout(&mut pair);
    let now = pair.now;
    pair.server.poll_transmit(now, &mut out);
    assert!(
        pair.take_events(Side::Server)
            .contains(&Event::Writable(inbound))
    );
    assert_eq!(pair.server.write(inbound, b"answer").unwrap(), 6);
    assert_eq!(scope.scope().usage().memory, fixed + STEP);
}

#[test]
fn the_write_buffer_is_reserved_in_steps_as_writers_fill_it() {
    let scope = connection_scope(u64::MAX);
    let mut pair = Pair::quiet();
    let fixed = scoped_server(&mut pair, &scope);
    let (_, inbound) = one_exchange(&mut pair);
    let reserved_for_writes = || scope.scope().usage().memory - fixed - WINDOW;
    assert_eq!(reserved_for_writes(), 0, "nothing written yet");

    // A small answer reserves one step.
    pair.server.write(inbound, b"pong").unwrap();
    assert_eq!(reserved_for_writes(), STEP);

    // A writer filling the buffer doubles the reservation as it goes, up to what the buffer
    // holds.
    let max_write_buffer = pair.server.config().max_write_buffer as u64;
    let frame = vec![7u8; 16 * 1024];
    let seen = reservations_while(
        || pair.server.write(inbound, &frame).unwrap() > 0,
        reserved_for_writes,
    );
    assert_eq!(seen, steps_up_to(max_write_buffer));
    assert_eq!(seen.last(), Some(&max_write_buffer));

    // Sent, read and quiet: all of it goes back with the headroom.
    pair.pump();
    stay_quiet(&mut pair);
    assert_eq!(scope.scope().usage().memory, 0);
}

#[test]
fn a_woken_stream_read_as_fast_as_its_data_arrives_still_grows_its_window() {
    let mut pair = Pair::new(tuning_config(), tuning_config());
    let scope = connection_scope(u64::MAX);
    let fixed = scoped_server(&mut pair, &scope);
    pair.latency = Duration::from_millis(1);
    let (id, inbound) = one_exchange(&mut pair);
    stay_quiet(&mut pair);
    assert!(
        scope.scope().usage().memory < WINDOW,
        "the window is given back"
    );

    // Read at once, the stream never buffers more than a step or two of its window; it is
    // wholly reserved again at its first window update, and grows as a busy stream does.
    let data = vec![1u8; 4 * 1024 * 1024];
    for _ in 0..100 {
        let _ = pair.client.write(id, &data);
        pair.pump();
        while let Ok(ReadOutcome::Data(_)) = pair.server.read_chunk(inbound, usize::MAX) {}
    }
    let window = pair.server.stream_stats(inbound).unwrap().receive_window;
    assert!(window > INITIAL_WINDOW, "the window grew to {window}");
    assert!(scope.scope().usage().memory >= fixed + u64::from(window));
}

#[test]
fn a_writer_whose_next_step_the_scope_refuses_waits_for_memory() {
    let probe = connection_scope(u64::MAX);
    let mut pair = Pair::quiet();
    let fixed = scoped_server(&mut pair, &probe);
    // Room for the headroom, one window and one step of the write buffer.
    let scope = connection_scope(fixed + WINDOW + STEP);
    scoped_server(&mut pair, &scope);
    let (_, inbound) = one_exchange(&mut pair);
    // Three frames of 4 KiB fit in the first step, the fourth needs the next.
    let frame = vec![7u8; 4 * 1024];
    for _ in 0..3 {
        assert_eq!(pair.server.write(inbound, &frame).unwrap(), frame.len());
    }
    assert_eq!(
        pair.server.write(inbound, &frame).unwrap(),
        0,
        "the next step is refused"
    );
    assert!(!pair.server.wants_input(), "the session waits for memory");

    // The queued frames go out; once the wait is over, the writer is woken and the step
    // it needs now fits in what is reserved.
    let mut out = BytesMut::new();
    until_server_timeout(&mut pair);
    let now = pair.now;
    pair.server.poll_transmit(now, &mut out);
    assert!(
        pair.take_events(Side::Server)
            .contains(&Event::Writable(inbound))
    );
    assert_eq!(pair.server.write(inbound, &frame).unwrap(), frame.len());
    assert_eq!(scope.scope().usage().memory, fixed + WINDOW + STEP);
}

#[test]
fn waits_for_memory_grow_to_the_longest_retry_and_start_over_after_a_wake() {
    let (mut pair, scope, _, id, inbound) = quiet_server_of_a_crowded_scope(WINDOW + 1);
    pair.client.write(id, b"wake up").unwrap();
    let mut input = client_output(&mut pair);
    let now = pair.now;
    pair.server.handle_input(now, &mut input).unwrap();
    let mut waits = Vec::new();
    for _ in 0..8 {
        let before = pair.now;
        until_server_timeout(&mut pair);
        waits.push(pair.now - before);
    }
    let ms = |n| Duration::from_millis(n);
    assert_eq!(
        waits,
        [25, 50, 100, 200, 400, 800, 800, 800].map(ms),
        "from MIN_MEMORY_RETRY ({MIN_MEMORY_RETRY:?}) to MAX_MEMORY_RETRY ({MAX_MEMORY_RETRY:?})"
    );

    scope.scope().release_memory(WINDOW as usize + 1);
    until_server_timeout(&mut pair);
    let now = pair.now;
    pair.server.handle_input(now, &mut input).unwrap();
    assert!(input.is_empty());
    pair.server.read_chunk(inbound, 10).unwrap();
    // Quiet again, then crowded again: the wait starts short.
    stay_quiet(&mut pair);
    scope.scope().reserve_memory(WINDOW as usize + 1).unwrap();
    pair.client.write(id, b"again").unwrap();
    let mut input = client_output(&mut pair);
    let now = pair.now;
    pair.server.handle_input(now, &mut input).unwrap();
    assert_eq!(pair.server.poll_timeout(), Some(now + MIN_MEMORY_RETRY));
}
