//! Binding, dialling and accepting: ports, addresses, errors and the accept queue.
//!
//! Port numbers are process-wide and these tests run in parallel, so each test that names a
//! fixed port uses its own (all below `FIRST_EPHEMERAL_PORT`, which the transport never
//! picks by itself).

use std::collections::HashSet;
use std::time::Duration;

use hyphae_memory::{ACCEPT_BACKLOG, Error, FIRST_EPHEMERAL_PORT, Listener, dial};
use hyphae_multiaddr::Multiaddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

fn memory(port: u64) -> Multiaddr {
    addr(&format!("/memory/{port}"))
}

/// Long enough that, on the paused clock, it elapses only once nothing else can run.
const STUCK: Duration = Duration::from_secs(60);

#[tokio::test]
async fn dialled_and_accepted_streams_carry_data_both_ways() {
    let listener = Listener::bind(&memory(1001)).unwrap();
    assert_eq!(listener.port(), 1001);
    assert_eq!(listener.listen_addrs(), vec![memory(1001)]);

    let target = memory(1001);
    let (dialled, accepted) = tokio::join!(dial(&target), listener.accept());
    let mut dialled = dialled.unwrap();
    let (mut accepted, remote) = accepted.unwrap();
    assert_eq!(dialled.remote_addr(), memory(1001));
    assert_eq!(accepted.local_addr(), memory(1001));
    assert_eq!(accepted.remote_addr(), remote);
    assert_eq!(dialled.local_addr(), remote);

    dialled.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    accepted.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    accepted.write_all(b"pong").await.unwrap();
    dialled.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
}

#[tokio::test]
async fn port_zero_picks_distinct_ephemeral_ports() {
    let listeners: Vec<Listener> = (0..16)
        .map(|_| Listener::bind(&addr("/memory/0")).unwrap())
        .collect();
    let ports: HashSet<u64> = listeners.iter().map(Listener::port).collect();
    assert_eq!(ports.len(), listeners.len());
    for listener in &listeners {
        assert!(listener.port() >= FIRST_EPHEMERAL_PORT);
        assert_eq!(listener.listen_addrs(), vec![memory(listener.port())]);
    }
}

#[tokio::test]
async fn binding_a_held_port_fails_with_address_in_use() {
    let _held = Listener::bind(&memory(1002)).unwrap();
    let error = Listener::bind(&memory(1002)).unwrap_err();
    assert!(matches!(error, Error::AddressInUse(1002)), "{error:?}");
    assert_eq!(error.to_string(), "/memory/1002 is already in use");
}

#[tokio::test]
async fn dialling_a_port_nobody_listens_on_is_refused() {
    let error = dial(&memory(1003)).await.unwrap_err();
    assert!(matches!(error, Error::ConnectionRefused(1003)), "{error:?}");
    assert_eq!(error.to_string(), "nothing listens on /memory/1003");
}

#[tokio::test]
async fn dropping_the_listener_frees_its_port() {
    let listener = Listener::bind(&memory(1004)).unwrap();
    drop(listener);
    let error = dial(&memory(1004)).await.unwrap_err();
    assert!(matches!(error, Error::ConnectionRefused(1004)), "{error:?}");

    let again = Listener::bind(&memory(1004)).unwrap();
    let target = memory(1004);
    let (dialled, accepted) = tokio::join!(dial(&target), again.accept());
    dialled.unwrap();
    accepted.unwrap();
}

#[tokio::test]
async fn refuses_addresses_that_are_not_memory_ports() {
    for text in [
        "/ip4/127.0.0.1/tcp/1005",
        "/memory/1005/memory/1006",
        "/memory/1005/tcp/1",
        "/memory/1005/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/memory/1",
        "/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA/memory/1005",
    ] {
        let target = addr(text);
        let error = dial(&target).await.unwrap_err();
        assert!(
            matches!(&error, Error::UnsupportedAddress(a) if *a == target),
            "{text}: {error:?}"
        );
        let error = Listener::bind(&target).unwrap_err();
        assert!(
            matches!(&error, Error::UnsupportedAddress(a) if *a == target),
            "{text}: {error:?}"
        );
    }
    let empty = Multiaddr::empty();
    assert!(matches!(
        dial(&empty).await,
        Err(Error::UnsupportedAddress(_))
    ));
    assert!(matches!(
        Listener::bind(&empty),
        Err(Error::UnsupportedAddress(_))
    ));
    assert_eq!(
        Listener::bind(&addr("/ip4/127.0.0.1/tcp/1005"))
            .unwrap_err()
            .to_string(),
        "/ip4/127.0.0.1/tcp/1005 is not a /memory/<port> address"
    );
}

/// The peer id is for the security upgrade to check; a listener cannot check its own.
#[tokio::test]
async fn dial_ignores_a_trailing_peer_id_which_bind_refuses() {
    let with_peer = addr("/memory/1006/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
    assert!(matches!(
        Listener::bind(&with_peer),
        Err(Error::UnsupportedAddress(_))
    ));
    let listener = Listener::bind(&memory(1006)).unwrap();
    let (dialled, accepted) = tokio::join!(dial(&with_peer), listener.accept());
    assert_eq!(dialled.unwrap().remote_addr(), memory(1006));
    accepted.unwrap();
}

#[tokio::test]
async fn a_dialer_port_is_held_while_its_connection_lives() {
    let listener = Listener::bind(&memory(1007)).unwrap();
    let target = memory(1007);
    let (dialled, accepted) = tokio::join!(dial(&target), listener.accept());
    let dialled = dialled.unwrap();
    let (_accepted, remote) = accepted.unwrap();

    let error = Listener::bind(&remote).unwrap_err();
    assert!(matches!(error, Error::AddressInUse(_)), "{error:?}");
    // A dialling end is not a listener: dialling its address is refused.
    let error = dial(&remote).await.unwrap_err();
    assert!(matches!(error, Error::ConnectionRefused(_)), "{error:?}");

    drop(dialled);
    let rebound = Listener::bind(&remote).unwrap();
    assert_eq!(rebound.listen_addrs(), vec![remote]);
}

/// Three times the accept queue, all dialling at once: every dial completes and each
/// connection reaches the right peer under its own dialer port.
#[tokio::test]
async fn many_concurrent_dials_are_all_accepted() {
    const DIALS: u32 = 3 * ACCEPT_BACKLOG as u32;
    let listener = Listener::bind(&addr("/memory/0")).unwrap();
    let target = listener.listen_addrs().remove(0);

    let server = tokio::spawn(async move {
        let mut remotes = HashSet::new();
        let mut echoes = Vec::new();
        for _ in 0..DIALS {
            let (mut stream, remote) = listener.accept().await.unwrap();
            assert!(
                remotes.insert(remote),
                "two live connections share a dialer port"
            );
            echoes.push(tokio::spawn(async move {
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).await.unwrap();
                stream.write_all(&buf).await.unwrap();
            }));
        }
        for echo in echoes {
            echo.await.unwrap();
        }
    });
    let clients: Vec<_> = (0..DIALS)
        .map(|index| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut stream = dial(&target).await.unwrap();
                stream.write_all(&index.to_be_bytes()).await.unwrap();
                let mut buf = [0u8; 4];
                stream.read_exact(&mut buf).await.unwrap();
                assert_eq!(u32::from_be_bytes(buf), index);
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    server.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_dial_waits_while_the_accept_queue_is_full() {
    let listener = Listener::bind(&addr("/memory/0")).unwrap();
    let target = listener.listen_addrs().remove(0);
    let mut queued = Vec::new();
    for _ in 0..ACCEPT_BACKLOG {
        queued.push(dial(&target).await.unwrap());
    }

    let mut waiting = Box::pin(dial(&target));
    assert!(
        timeout(STUCK, &mut waiting).await.is_err(),
        "dial did not wait"
    );

    let (first, _) = listener.accept().await.unwrap();
    assert_eq!(first.remote_addr(), queued[0].local_addr());
    let last = waiting.await.unwrap();
    for _ in 1..ACCEPT_BACKLOG {
        listener.accept().await.unwrap();
    }
    let (accepted, _) = listener.accept().await.unwrap();
    assert_eq!(accepted.remote_addr(), last.local_addr());
}

#[tokio::test(start_paused = true)]
async fn a_dial_waiting_on_a_dropped_listener_is_refused() {
    let listener = Listener::bind(&addr("/memory/0")).unwrap();
    let port = listener.port();
    let target = memory(port);
    let mut queued = Vec::new();
    for _ in 0..ACCEPT_BACKLOG {
        queued.push(dial(&target).await.unwrap());
    }
    let mut waiting = Box::pin(dial(&target));
    assert!(
        timeout(STUCK, &mut waiting).await.is_err(),
        "dial did not wait"
    );

    drop(listener);
    let error = waiting.await.unwrap_err();
    assert!(
        matches!(error, Error::ConnectionRefused(p) if p == port),
        "{error:?}"
    );
}

/// Connections still in the queue when the listener goes are closed, not leaked.
#[tokio::test]
async fn dropping_the_listener_closes_connections_it_never_accepted() {
    let listener = Listener::bind(&addr("/memory/0")).unwrap();
    let mut dialled = dial(&listener.listen_addrs()[0]).await.unwrap();
    drop(listener);
    let mut buf = Vec::new();
    assert_eq!(dialled.read_to_end(&mut buf).await.unwrap(), 0);
    let error = dialled.write_all(b"anyone?").await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
}

/// `accept` is cancel-safe: a connection queued while an accept was dropped is not lost.
#[tokio::test(start_paused = true)]
async fn a_cancelled_accept_loses_no_connection() {
    let listener = Listener::bind(&addr("/memory/0")).unwrap();
    assert!(timeout(STUCK, listener.accept()).await.is_err());
    let dialled = dial(&listener.listen_addrs()[0]).await.unwrap();
    let (_, remote) = listener.accept().await.unwrap();
    assert_eq!(remote, dialled.local_addr());
}
