//! The resource manager in a running node: what each scope holds follows connections and
//! streams, and a full scope refuses the connection or stream, not the process.

use std::time::Duration;

use hyphae::resources::{Resource, ScopeKind, ScopeLimits};
use hyphae::{Event, Limit, Limits, Multiaddr, Node, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ECHO: &str = "/echo/1.0.0";

async fn server(edit: impl FnOnce(&mut Limits)) -> Node {
    let mut limits = Limits::default();
    edit(&mut limits);
    let node = Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .limits(limits)
        .start()
        .await
        .unwrap();
    node.handle(ECHO, echo);
    node
}

/// Echoes a stream until the peer half-closes it.
async fn echo(mut stream: Stream) {
    let (mut reader, mut writer) = tokio::io::split(&mut stream);
    if tokio::io::copy(&mut reader, &mut writer).await.is_ok() {
        let _ = writer.shutdown().await;
    }
}

/// Sends `hello` on a new echo stream and reads it back; the stream stays open.
async fn echoed(client: &Node, server: &Node) -> Result<Stream, String> {
    let mut stream = client
        .open_stream(server.peer_id(), ECHO)
        .await
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"hello")
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = [0u8; 5];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer));
    match read.await {
        Ok(Ok(_)) if &answer == b"hello" => Ok(stream),
        Ok(Ok(_)) => Err("wrong echo".to_owned()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("timed out".to_owned()),
    }
}

/// Waits until `done` holds, polling.
async fn eventually(mut done: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the condition in time");
}

/// Memory a connection with an open echo stream reserves while active, at least: Yamux's
/// headroom (64 KiB), the first step of its write buffer, and a receive window per new
/// stream. (The secured channel's read buffer is reserved only while a message is being
/// read.)
const ACTIVE_MEMORY: u64 = 64 * 1024 + hyphae::yamux::RESERVATION_STEP as u64 + 256 * 1024;

/// Memory a quiet connection reserves again when an echo wakes it, at least: the headroom, and
/// the first steps of its write buffer and of the echo stream's window.
const WOKEN_MEMORY: u64 = 64 * 1024 + 2 * hyphae::yamux::RESERVATION_STEP as u64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_follows_connections_and_streams_through_their_scopes() {
    let server = server(|_| {}).await;
    let client = Node::builder().start().await.unwrap();
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    let stream = echoed(&client, &server).await.unwrap();

    let resources = server.resources();
    let at_peer = resources.peer_usage(&client.peer_id()).unwrap();
    assert_eq!(at_peer.inbound_connections, 1);
    assert_eq!(at_peer.file_descriptors, 1);
    assert!(at_peer.memory >= ACTIVE_MEMORY, "{at_peer:?}");
    let snapshot = resources.snapshot();
    assert!(snapshot.transient.is_empty(), "{:?}", snapshot.transient);
    let echo = snapshot.protocols.iter().find(|(id, _)| &**id == ECHO);
    assert_eq!(echo.unwrap().1.inbound_streams, 1);
    assert!(
        snapshot
            .services
            .iter()
            .any(|(name, _)| &**name == "identify")
    );
    let metrics = server.metrics();
    assert!(
        metrics.contains("hyphae_resource_memory_bytes{scope=\"system\"}"),
        "{metrics}"
    );

    drop(stream);
    let protocol_streams = || {
        let snapshot = resources.snapshot();
        let echo = snapshot.protocols.iter().find(|(id, _)| &**id == ECHO);
        echo.map_or(0, |(_, usage)| usage.streams)
    };
    eventually(|| protocol_streams() == 0).await;

    client.shutdown().await;
    eventually(|| resources.system().usage().is_empty()).await;
    assert_eq!(resources.peer_usage(&client.peer_id()), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_reserves_no_memory_until_it_wakes() {
    let server = server(|_| {}).await;
    let client = Node::builder().start().await.unwrap();
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    let stream = echoed(&client, &server).await.unwrap();
    let resources = server.resources();
    let at_peer = || resources.peer_usage(&client.peer_id()).unwrap().memory;
    // Active: the headroom, the write buffer's first step and the open streams' windows are
    // reserved.
    assert!(at_peer() >= ACTIVE_MEMORY);

    // Quiet for a while (the echo and ping streams stay open): the muxer gives back its
    // write buffer and windows, the secured channel its read buffer.
    tokio::time::sleep(hyphae::yamux::IDLE_RELEASE).await;
    eventually(|| at_peer() == 0).await;

    // The connection wakes as it is used, with its reservations back.
    let mut stream = stream;
    stream.write_all(b"again").await.unwrap();
    let mut answer = [0u8; 5];
    stream.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"again");
    assert!(at_peer() >= WOKEN_MEMORY);
}

/// System memory of the servers whose system scope a test fills.
const SMALL_SYSTEM_MEMORY: u64 = 64 * 1024 * 1024;

/// A server whose system scope allows [`SMALL_SYSTEM_MEMORY`].
async fn small_server() -> Node {
    server(|limits| {
        limits.resources.system = limits.resources.system.with_memory(SMALL_SYSTEM_MEMORY);
    })
    .await
}

/// Something else fills the system scope of a [`small_server`] to 80 %: past the three
/// quarters a newcomer may find. Returns how much it took.
fn crowd(server: &Node) -> usize {
    let system = server.resources().system();
    let filler = (SMALL_SYSTEM_MEMORY * 8 / 10 - system.usage().memory) as usize;
    system.reserve_memory(filler).unwrap();
    filler
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn newcomers_are_refused_before_the_last_quarter_of_memory_that_held_connections_wake_into() {
    let server = small_server().await;
    let held = Node::builder().start().await.unwrap();
    held.dial(&server.listen_addrs()[0]).await.unwrap();
    let filler = crowd(&server);

    let newcomer = Node::builder().start().await.unwrap();
    assert!(newcomer.dial(&server.listen_addrs()[0]).await.is_err());
    // The held connection still opens streams (their windows come from the last quarter).
    echoed(&held, &server).await.unwrap();
    server.resources().system().release_memory(filler);
    newcomer.dial(&server.listen_addrs()[0]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_waits_briefly_for_memory_before_it_is_refused() {
    let server = small_server().await;
    let filler = crowd(&server);

    // Memory frees while the newcomer waits: it is admitted.
    let newcomer = Node::builder().start().await.unwrap();
    let addr = server.listen_addrs()[0].clone();
    let dial = tokio::spawn(async move {
        let result = newcomer.dial(&addr).await;
        (newcomer, result)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!dial.is_finished(), "the newcomer waits");
    server.resources().system().release_memory(filler);
    let (newcomer, result) = dial.await.unwrap();
    result.expect("admitted once memory freed");
    echoed(&newcomer, &server).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_transient_scope_refuses_handshakes_until_one_ends() {
    let server = server(|limits| {
        limits.resources.transient = limits.resources.transient.with_connections(1, 8, 8);
    })
    .await;
    let mut events = server.events();
    let addr = server.listen_addrs()[0].clone();
    let socket_addr = tcp_socket_addr(&addr);

    // A silent connection holds the only handshake slot.
    let silent = tokio::net::TcpStream::connect(socket_addr).await.unwrap();
    eventually(|| server.resources().transient().usage().inbound_connections == 1).await;
    let client = Node::builder().start().await.unwrap();
    assert!(client.dial(&addr).await.is_err());
    let limit = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(Event::IncomingConnectionRefused { limit, .. }) = events.recv().await {
                return limit;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(
        limit,
        Limit::Resource {
            scope: ScopeKind::Transient,
            resource: Resource::InboundConnections,
            limit: 1,
        }
    );
    assert!(
        server
            .metrics()
            .contains("reason=\"resource_inbound_connections\"")
    );

    drop(silent);
    eventually(|| server.resources().transient().usage().is_empty()).await;
    client.dial(&addr).await.unwrap();
    echoed(&client, &server).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protocol_at_its_stream_limit_refuses_more_streams() {
    let server = server(|limits| {
        limits.resources.protocols.insert(
            ECHO.to_owned(),
            ScopeLimits::UNLIMITED.with_streams(2, 2, 4),
        );
    })
    .await;
    let client = Node::builder().start().await.unwrap();
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    let first = echoed(&client, &server).await.unwrap();
    let _second = echoed(&client, &server).await.unwrap();
    assert!(
        echoed(&client, &server).await.is_err(),
        "a third is refused"
    );
    assert!(
        server
            .metrics()
            .contains("hyphae_streams_refused_total{reason=\"resource_inbound_streams\"} 1")
    );
    // The connection is fine, and a stream ending makes room.
    drop(first);
    let mut attempts = 0;
    while echoed(&client, &server).await.is_err() {
        attempts += 1;
        assert!(attempts < 50, "room was never made");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_at_its_memory_limit_gets_no_more_streams() {
    const PEER_MEMORY: u64 = 3 * 1024 * 1024;
    let server = server(|limits| {
        limits.resources.peer = limits.resources.peer.with_memory(PEER_MEMORY);
    })
    .await;
    let client = Node::builder().start().await.unwrap();
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..16 {
        match echoed(&client, &server).await {
            Ok(stream) => held.push(stream),
            Err(_) => refused += 1,
        }
    }
    assert!(
        refused > 0,
        "the peer's memory limit refused none of 16 streams"
    );
    assert!(held.len() >= 4, "only {} streams fit in 3 MiB", held.len());
    let at_peer = server.resources().peer_usage(&client.peer_id()).unwrap();
    assert!(at_peer.memory <= PEER_MEMORY, "{at_peer:?}");
    let metrics = server.metrics();
    assert!(
        metrics.contains("hyphae_resource_refusals{scope=\"peer\",resource=\"memory\"}"),
        "{metrics}"
    );
    assert!(server.is_connected(&client.peer_id()));
    // Other peers are served.
    let other = Node::builder().start().await.unwrap();
    other.dial(&server.listen_addrs()[0]).await.unwrap();
    echoed(&other, &server).await.unwrap();
}

fn tcp_socket_addr(addr: &Multiaddr) -> std::net::SocketAddr {
    let mut ip = None;
    let mut port = None;
    for protocol in addr.iter() {
        match protocol {
            hyphae::Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            hyphae::Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    std::net::SocketAddr::new(ip.unwrap(), port.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gets_at_most_two_identify_pushes_read_at_once() {
    let server = server(|_| {}).await;
    let client = Node::builder().start().await.unwrap();
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    let mut pushes = Vec::new();
    for _ in 0..6 {
        let mut stream = client
            .open_stream(server.peer_id(), hyphae::identify::PUSH_PROTOCOL)
            .await
            .unwrap();
        // Negotiation is optimistic: a byte of a push makes the proposal go out. A push the
        // server refused at once may fail this write already.
        let _ = stream.write_all(&[0]).await;
        pushes.push(stream);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The client's own identify push may hold one of the two places for a moment, so
    // count: at most two pushes are still being read, the others were reset.
    let mut buf = [0u8; 1];
    let mut still_read = 0;
    for stream in &mut pushes {
        let read = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buf)).await;
        match read {
            Err(_) => still_read += 1,
            Ok(Err(_) | Ok(0)) => {}
            Ok(Ok(_)) => panic!("identify push answered"),
        }
    }
    assert!(
        (1..=2).contains(&still_read),
        "{still_read} pushes read at once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_filling_every_handshake_slot_do_not_lock_out_a_peer() {
    // Default limits: the pending table (128 slots) and the default resource scopes. Twice
    // as many silent sockets as slots: a newcomer must evict one, not be refused by a scope.
    let server = server(|_| {}).await;
    let socket_addr = tcp_socket_addr(&server.listen_addrs()[0]);
    let mut silent = Vec::new();
    for _ in 0..256 {
        silent.push(tokio::net::TcpStream::connect(socket_addr).await.unwrap());
    }
    eventually(|| server.resources().transient().usage().inbound_connections >= 128).await;
    let client = Node::builder().start().await.unwrap();
    client.dial(&server.listen_addrs()[0]).await.unwrap();
    echoed(&client, &server).await.unwrap();
    drop(silent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_arriving_behind_a_slow_peer_do_not_evict_it_within_its_grace() {
    // Four handshake slots, held by silent sockets; then a peer whose first bytes come 50 ms
    // after it connects (a relay holds them back), with twenty more silent sockets right
    // behind it. Evicting the oldest handshake for each newcomer at once, the node evicted
    // the slow peer before its bytes came.
    let server = server(|limits| limits.max_pending_inbound = 4).await;
    let server_addr = tcp_socket_addr(&server.listen_addrs()[0]);
    let mut silent = Vec::new();
    for _ in 0..4 {
        silent.push(tokio::net::TcpStream::connect(server_addr).await.unwrap());
    }
    eventually(|| server.resources().transient().usage().inbound_connections >= 4).await;

    let relay = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = relay.local_addr().unwrap().port();
    let relaying = tokio::spawn(async move {
        let (mut from_client, _) = relay.accept().await.unwrap();
        let mut to_server = tokio::net::TcpStream::connect(server_addr).await.unwrap();
        let mut behind = Vec::new();
        for _ in 0..20 {
            behind.push(tokio::net::TcpStream::connect(server_addr).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = tokio::io::copy_bidirectional(&mut from_client, &mut to_server).await;
        drop(behind);
    });
    let client = Node::builder().start().await.unwrap();
    let via_relay: Multiaddr = format!("/ip4/127.0.0.1/tcp/{relay_port}").parse().unwrap();
    client.dial(&via_relay).await.unwrap();
    echoed(&client, &server).await.unwrap();
    drop(silent);
    relaying.abort();
}

async fn quic_server(system_memory: u64) -> Node {
    let mut limits = Limits::default();
    limits.resources.system = limits.resources.system.with_memory(system_memory);
    Node::builder()
        .listen("/ip4/127.0.0.1/udp/0/quic-v1".parse().unwrap())
        .limits(limits)
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quic_connection_holds_the_receive_window_it_could_reserve() {
    let wanted = u64::from(hyphae::quic::Config::default().connection_receive_window);
    let client = Node::builder().start().await.unwrap();

    // Room for the whole window.
    let roomy = quic_server(1 << 30).await;
    client.dial(&roomy.listen_addrs()[0]).await.unwrap();
    client.ping(roomy.peer_id()).await.unwrap();
    let held = roomy
        .resources()
        .peer_usage(&client.peer_id())
        .unwrap()
        .memory;
    assert!(held >= wanted, "{held} < {wanted}");

    // A budget of 40 MiB: a window of 36 MB would take it past half, so a smaller one.
    let tight = quic_server(40 << 20).await;
    client.dial(&tight.listen_addrs()[0]).await.unwrap();
    client.ping(tight.peer_id()).await.unwrap();
    let held = tight
        .resources()
        .peer_usage(&client.peer_id())
        .unwrap()
        .memory;
    assert!(held < wanted, "{held}");
    assert!(held >= u64::from(hyphae::quic::MIN_WINDOW));

    client.shutdown().await;
    eventually(|| tight.resources().system().usage().memory == 0).await;
}
