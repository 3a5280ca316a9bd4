//! The service API as a crate outside hyphae sees it: only public items, real nodes on the
//! in-process memory transport (and loopback where a test needs an IP).

use std::collections::BTreeSet;
use std::time::Duration;

use hyphae::{
    ConnectionEvent, ConnectionEvents, ConnectionId, Context, Direction, Incoming, Multiaddr, Node,
    PeerId, Service, Stream,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

const PROTOCOL: &str = "/test/svc/1.0.0";

fn memory() -> Multiaddr {
    "/memory/0".parse().unwrap()
}

/// Awaits `future`, failing the test if it takes more than 10 s (a hang, not a measure).
async fn soon<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), future)
        .await
        .expect("within 10 s")
}

/// A service that hands its context and what it accepts to the test.
struct Probe {
    backlog: usize,
    handed: mpsc::UnboundedSender<(Context, Incoming, ConnectionEvents)>,
}

impl Service for Probe {
    type Handle = ();

    fn start(self, cx: Context) {
        let incoming = cx.accept(PROTOCOL, self.backlog);
        let events = cx.connections(16);
        let _ = self.handed.send((cx, incoming, events));
    }
}

async fn probed_node(backlog: usize) -> (Node, Context, Incoming, ConnectionEvents) {
    let (handed, mut received) = mpsc::unbounded_channel();
    let node = Node::builder()
        .listen(memory())
        .service(Probe { backlog, handed })
        .start()
        .await
        .unwrap();
    let (cx, incoming, events) = received.recv().await.unwrap();
    (node, cx, incoming, events)
}

async fn connected_pair() -> (Node, Node, PeerId) {
    let server = Node::builder().listen(memory()).start().await.unwrap();
    let client = Node::builder().start().await.unwrap();
    let peer = client.dial(&server.listen_addrs()[0]).await.unwrap();
    (server, client, peer)
}

#[tokio::test]
async fn two_nodes_talk_over_the_memory_transport() {
    let (server, client, peer) = connected_pair().await;
    assert_eq!(peer, server.peer_id());
    server.handle("/echo/1.0.0", |mut stream: Stream| async move {
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await.unwrap();
        stream.write_all(&buf).await.unwrap();
        stream.shutdown().await.unwrap();
    });
    let mut stream = client.open_stream(peer, "/echo/1.0.0").await.unwrap();
    stream.write_all(b"over memory").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut reply = Vec::new();
    soon(stream.read_to_end(&mut reply)).await.unwrap();
    assert_eq!(reply, b"over memory");
    assert!(soon(client.ping(peer)).await.is_ok());
}

#[tokio::test]
async fn a_service_accepts_its_protocol_and_sees_connections_open_and_close() {
    let (server, _cx, mut incoming, mut events) = probed_node(8).await;
    let client = Node::builder().start().await.unwrap();
    let peer = client.dial(&server.listen_addrs()[0]).await.unwrap();

    let ConnectionEvent::Established(info) = soon(events.next()).await.unwrap() else {
        panic!("expected the connection first");
    };
    assert_eq!(info.peer, client.peer_id());
    assert_eq!(info.direction, Direction::Inbound);

    let mut stream = client.open_stream(peer, PROTOCOL).await.unwrap();
    stream.write_all(b"hi").await.unwrap();
    stream.shutdown().await.unwrap();
    let mut accepted = soon(incoming.next()).await.unwrap();
    assert_eq!(accepted.peer(), client.peer_id());
    assert_eq!(accepted.connection(), info.id);
    let mut received = Vec::new();
    accepted.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"hi");

    client.disconnect(peer).await;
    loop {
        match soon(events.next()).await.unwrap() {
            ConnectionEvent::Closed(closed) => break assert_eq!(closed.id, info.id),
            ConnectionEvent::Identified(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_service_opens_streams_on_a_given_connection_and_never_dials() {
    let (server, cx, _incoming, mut events) = probed_node(8).await;
    let client = Node::builder().start().await.unwrap();
    client.handle("/back/1.0.0", |mut stream: Stream| async move {
        stream.write_all(b"from the client").await.unwrap();
        stream.shutdown().await.unwrap();
    });
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    let ConnectionEvent::Established(info) = soon(events.next()).await.unwrap() else {
        panic!("expected the connection first");
    };
    let mut stream = cx.open_stream_on(info.id, "/back/1.0.0").await.unwrap();
    let mut reply = Vec::new();
    soon(stream.read_to_end(&mut reply)).await.unwrap();
    assert_eq!(reply, b"from the client");

    // A connection that is gone is an error, and no new connection is made for it.
    server.disconnect(client.peer_id()).await;
    let error = cx
        .open_stream_on(ConnectionId::new(info.id.get() + 1000), "/back/1.0.0")
        .await
        .unwrap_err();
    assert!(
        matches!(error, hyphae::Error::ConnectionClosed(_)),
        "{error}"
    );
    loop {
        if let ConnectionEvent::Closed(_) = soon(events.next()).await.unwrap() {
            break;
        }
    }
    let error = cx.open_stream_on(info.id, "/back/1.0.0").await.unwrap_err();
    assert!(matches!(error, hyphae::Error::ConnectionClosed(id) if id == info.id));
    assert!(!server.is_connected(&client.peer_id()));
}

#[tokio::test]
async fn streams_beyond_the_backlog_are_reset_and_counted() {
    let (server, _cx, incoming, _events) = probed_node(2).await;
    let client = Node::builder().start().await.unwrap();
    let peer = client.dial(&server.listen_addrs()[0]).await.unwrap();
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut stream = client.open_stream(peer, PROTOCOL).await.unwrap();
        stream.write_all(b"x").await.unwrap();
        stream.flush().await.unwrap();
        streams.push(stream);
    }
    // Nobody takes from the queue: two wait in it, three are refused.
    soon(async {
        while incoming.refused() < 3 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut reset = 0;
    for mut stream in streams {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut byte));
        if let Ok(Err(_)) = read.await {
            reset += 1;
        }
    }
    assert_eq!(reset, 3);
    assert_eq!(incoming.refused(), 3);
}

#[tokio::test]
async fn a_peer_filling_the_backlog_does_not_keep_another_peers_stream_out() {
    let (server, _cx, mut incoming, _events) = probed_node(2).await;
    let flooder = Node::builder().start().await.unwrap();
    let flooders_peer = flooder.dial(&server.listen_addrs()[0]).await.unwrap();
    let mut flood = Vec::new();
    for _ in 0..2 {
        let mut stream = flooder.open_stream(flooders_peer, PROTOCOL).await.unwrap();
        stream.write_all(b"f").await.unwrap();
        stream.flush().await.unwrap();
        flood.push(stream);
    }
    // The backlog is full when both of the flooder's streams wait in it.
    soon(async {
        while incoming.queued() < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let other = Node::builder().start().await.unwrap();
    let peer = other.dial(&server.listen_addrs()[0]).await.unwrap();
    let mut stream = other.open_stream(peer, PROTOCOL).await.unwrap();
    stream.write_all(b"o").await.unwrap();
    stream.flush().await.unwrap();
    // The newcomer displaced the flooder's newer stream.
    let mut newer = flood.pop().unwrap();
    assert!(soon(newer.read(&mut [0u8; 1])).await.is_err());
    assert_eq!(incoming.refused(), 1);
    let first = soon(incoming.next()).await.unwrap();
    let second = soon(incoming.next()).await.unwrap();
    assert_eq!(
        (first.peer(), second.peer()),
        (flooder.peer_id(), other.peer_id())
    );
}

#[tokio::test]
async fn dropping_incoming_stops_serving_the_protocol_and_tells_peers() {
    let (server, _cx, incoming, _events) = probed_node(8).await;
    let client = Node::builder().start().await.unwrap();
    let mut identify = client
        .service::<hyphae::identify::Identify>()
        .unwrap()
        .events();
    let peer = client.dial(&server.listen_addrs()[0]).await.unwrap();
    assert!(server.protocols().iter().any(|p| p == PROTOCOL));
    // The first answer lists the protocol...
    loop {
        if let hyphae::identify::Event::Received { info, .. } = soon(identify.recv()).await.unwrap()
        {
            assert!(info.protocols.iter().any(|p| p == PROTOCOL));
            break;
        }
    }
    drop(incoming);
    assert!(!server.protocols().iter().any(|p| p == PROTOCOL));
    // ...a push takes it back...
    loop {
        if let hyphae::identify::Event::Pushed { info, .. } = soon(identify.recv()).await.unwrap()
            && !info.protocols.iter().any(|p| p == PROTOCOL)
        {
            break;
        }
    }
    // ...and a stream for it is refused.
    let error = client
        .open_stream(peer, [PROTOCOL, "/other/1.0.0"])
        .await
        .unwrap_err();
    assert!(matches!(error, hyphae::Error::Negotiation(_)), "{error}");
}

#[tokio::test]
async fn shutdown_stops_service_tasks_and_contexts() {
    let (server, cx, mut incoming, mut events) = probed_node(8).await;
    let (stopped, on_stop) = oneshot::channel::<()>();
    cx.spawn(async move {
        // Held until the task is dropped: the sender's drop is our signal.
        let _stopped = stopped;
        std::future::pending::<()>().await;
    });
    server.shutdown().await;
    assert!(soon(on_stop).await.is_err(), "the task was dropped");
    assert!(cx.is_shut_down());
    let error = cx
        .open_stream(PeerId::random(), PROTOCOL)
        .await
        .unwrap_err();
    assert!(matches!(error, hyphae::Error::Shutdown), "{error}");
    // A task spawned after shutdown never runs.
    let (ran, mut did_run) = oneshot::channel();
    cx.spawn(async move {
        let _ = ran.send(());
    });
    tokio::task::yield_now().await;
    assert!(did_run.try_recv().is_err());
    drop(server);
    assert!(soon(incoming.next()).await.is_none());
    assert!(soon(events.next()).await.is_none());
}

#[tokio::test]
async fn a_context_does_not_keep_its_node_alive() {
    let (server, cx, mut incoming, _events) = probed_node(8).await;
    drop(server);
    assert!(cx.is_shut_down());
    assert!(soon(incoming.next()).await.is_none());
    let error = cx
        .open_stream(PeerId::random(), PROTOCOL)
        .await
        .unwrap_err();
    assert!(matches!(error, hyphae::Error::Shutdown), "{error}");
}

#[tokio::test]
async fn a_lagging_subscriber_is_resynchronised() {
    let (server, cx, _incoming, _events) = probed_node(8).await;
    let mut slow = cx.connections(1);
    let mut clients = Vec::new();
    for _ in 0..3 {
        let client = Node::builder().start().await.unwrap();
        client.dial(&server.listen_addrs()[0]).await.unwrap();
        clients.push(client);
    }
    let ConnectionEvent::Resync(open) = soon(slow.next()).await.unwrap() else {
        panic!("expected a resync after overflowing a queue of one");
    };
    // The snapshot plus what follows it is the whole picture (the server may register the
    // last inbound connection after the client's dial returned).
    let mut peers: BTreeSet<PeerId> = open.iter().map(|info| info.peer).collect();
    let expected: BTreeSet<PeerId> = clients.iter().map(Node::peer_id).collect();
    while peers != expected {
        match soon(slow.next()).await.unwrap() {
            ConnectionEvent::Established(info) => assert!(peers.insert(info.peer)),
            ConnectionEvent::Resync(open) => {
                peers = open.iter().map(|info| info.peer).collect();
            }
            ConnectionEvent::Identified(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn add_connection_upgrades_any_byte_stream() {
    let (server, server_cx, _incoming, _events) = probed_node(8).await;
    let (client, client_cx, _client_incoming, _client_events) = probed_node(8).await;
    let (a, b) = tokio::io::duplex(64 * 1024);
    let remote: Multiaddr = "/memory/424242".parse().unwrap();
    let server_id = server.peer_id();
    let (dialled, accepted) = tokio::join!(
        client_cx.add_connection(a, remote.clone(), Direction::Outbound, Some(server_id)),
        server_cx.add_connection(b, remote.clone(), Direction::Inbound, None),
    );
    assert_eq!(dialled.unwrap(), server_id);
    assert_eq!(accepted.unwrap(), client.peer_id());
    assert!(client.is_connected(&server_id));
    assert!(soon(client.ping(server_id)).await.is_ok());
}

#[tokio::test]
async fn add_connection_refuses_the_wrong_peer() {
    let (server, server_cx, _incoming, _events) = probed_node(8).await;
    let (_client, client_cx, _client_incoming, _client_events) = probed_node(8).await;
    let (a, b) = tokio::io::duplex(64 * 1024);
    let remote: Multiaddr = "/memory/424243".parse().unwrap();
    let stranger = PeerId::random();
    let (dialled, _) = tokio::join!(
        client_cx.add_connection(a, remote.clone(), Direction::Outbound, Some(stranger)),
        server_cx.add_connection(b, remote, Direction::Inbound, None),
    );
    let error = dialled.unwrap_err();
    assert!(
        matches!(
            error,
            hyphae::Error::PeerIdMismatch { .. } | hyphae::Error::Noise(_)
        ),
        "{error}"
    );
    drop(server);
}

/// The signed peer record a client hears from `server` in its identify answer.
async fn record_heard_from(server: &Node) -> hyphae_core::PeerRecord {
    let client = Node::builder().start().await.unwrap();
    let mut identify = client
        .service::<hyphae::identify::Identify>()
        .unwrap()
        .events();
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    loop {
        if let hyphae::identify::Event::Received { info, .. } = soon(identify.recv()).await.unwrap()
        {
            client.shutdown().await;
            return info.signed_peer_record.expect("a signed peer record");
        }
    }
}

#[tokio::test]
async fn identify_signs_a_new_peer_record_only_when_the_addresses_change() {
    let server = Node::builder().start().await.unwrap();
    server
        .listen(&"/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .await
        .unwrap();
    let first = record_heard_from(&server).await;
    let again = record_heard_from(&server).await;
    assert_eq!(again, first, "the same addresses, the same record");
    server
        .listen(&"/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .await
        .unwrap();
    let changed = record_heard_from(&server).await;
    assert!(changed.seq() > first.seq());
    // The node's addresses end in its `/p2p`; the record's do not.
    let listening = server.listen_addrs();
    assert_eq!(changed.addresses().len(), listening.len());
    for (certified, listened) in changed.addresses().iter().zip(&listening) {
        assert!(listened.to_string().starts_with(&certified.to_string()));
    }
}
