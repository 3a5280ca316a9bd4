//! A session given a resource scope reserves what it buffers there; a data frame the scope
//! cannot hold resets its stream, and everything is given back as it is read or dropped.

use hyphae_core::testing::connection_scope;
use hyphae_mplex::{Config, Error, ReadOutcome, Session, StreamId};

fn deliver(from: &mut Session, to: &mut Session) -> Result<(), Error> {
    let mut bytes = Vec::new();
    from.poll_transmit(&mut bytes);
    to.handle_input(&bytes).map(|_| ())
}

/// What `session` holds fixed, whatever it buffers.
fn fixed_memory() -> u64 {
    let probe = connection_scope(u64::MAX);
    let _session = Session::new(Config::default())
        .with_memory_scope(probe.scope().clone())
        .unwrap();
    probe.scope().usage().memory
}

#[test]
fn buffered_data_is_reserved_until_read() {
    let fixed = fixed_memory();
    let connection = connection_scope(u64::MAX);
    let memory = connection.scope();
    let mut sender = Session::new(Config::default());
    let mut receiver = Session::new(Config::default())
        .with_memory_scope(memory.clone())
        .unwrap();
    let out = sender.open_stream().unwrap();
    sender.write(out, &[7; 1000]).unwrap();
    deliver(&mut sender, &mut receiver).unwrap();
    assert_eq!(memory.usage().memory, fixed + 1000);
    let inbound = receiver.accept().unwrap();
    assert!(matches!(
        receiver.read(inbound, 600),
        Ok(ReadOutcome::Data(_))
    ));
    assert_eq!(memory.usage().memory, fixed + 400);
    sender.write(out, &[8; 500]).unwrap();
    deliver(&mut sender, &mut receiver).unwrap();
    receiver.release(inbound);
    assert_eq!(
        memory.usage().memory,
        fixed,
        "a released stream's data is given back"
    );
    drop(receiver);
    assert_eq!(memory.usage().memory, 0);
}

#[test]
fn a_frame_the_scope_cannot_hold_resets_its_stream() {
    let fixed = fixed_memory();
    let connection = connection_scope(fixed + 1500);
    let memory = connection.scope();
    let mut sender = Session::new(Config::default());
    let mut receiver = Session::new(Config::default())
        .with_memory_scope(memory.clone())
        .unwrap();
    let first: StreamId = sender.open_stream().unwrap();
    let second = sender.open_stream().unwrap();
    sender.write(first, &[1; 1000]).unwrap();
    sender.write(second, &[2; 1000]).unwrap();
    deliver(&mut sender, &mut receiver).unwrap();
    let inbound_first = receiver.accept().unwrap();
    let inbound_second = receiver.accept().unwrap();
    assert_eq!(memory.usage().memory, fixed + 1000);
    assert!(matches!(
        receiver.read(inbound_second, 100),
        Err(Error::StreamReset(_))
    ));
    deliver(&mut receiver, &mut sender).unwrap();
    assert!(matches!(
        sender.read(second, 100),
        Err(Error::StreamReset(_))
    ));
    // The other stream and the connection go on.
    assert!(matches!(
        receiver.read(inbound_first, 2000),
        Ok(ReadOutcome::Data(data)) if data.len() == 1000
    ));
    sender.write(first, b"more").unwrap();
    deliver(&mut sender, &mut receiver).unwrap();
    assert!(matches!(
        receiver.read(inbound_first, 100),
        Ok(ReadOutcome::Data(data)) if &data[..] == b"more"
    ));
}
