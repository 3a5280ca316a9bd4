//! Hostile and broken peers: the listener answers with an HTTP error and keeps accepting;
//! streams refuse frames that break RFC 6455 or our limits with a close code and an error.

use std::time::Duration;

use hyphae_multiaddr::Multiaddr;
use hyphae_websocket::frame::{self, Header, OpCode, Role};
use hyphae_websocket::{
    Config, Error, FrameError, HandshakeError, Listener, dial, handshake, upgrade_client,
    upgrade_server,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::TcpStream;

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

/// The messages of `error` and its sources, joined as `anyhow`'s `{:#}` prints them.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Sends `request` over raw TCP and returns the server's whole answer.
async fn raw_exchange(port: u16, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    socket.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A dial still succeeds and carries data, so the listener is alive.
async fn assert_still_accepting(listener: &Listener) {
    let target = listener.listen_addrs()[0].clone();
    let dialing = tokio::spawn(async move {
        let mut stream = dial(&target, &Config::default()).await.unwrap();
        stream.write_all(b"still here").await.unwrap();
        stream.shutdown().await.unwrap();
    });
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"still here");
    dialing.await.unwrap();
}

#[tokio::test]
async fn rejects_a_non_http_request_and_keeps_accepting() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &Config::default()).unwrap();
    let port = listener.local_addr().port();
    let answer = raw_exchange(port, b"\x13/multistream/1.0.0\n\x00\x00\x00\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    let error = listener.accept().await.unwrap_err();
    assert!(
        matches!(error, Error::Handshake(HandshakeError::Malformed(_))),
        "{error}"
    );
    assert_still_accepting(&listener).await;
}

#[tokio::test]
async fn rejects_a_bad_key_and_a_wrong_version_with_clear_errors() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &Config::default()).unwrap();
    let port = listener.local_addr().port();
    let bad_key = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-base64!\r\n\r\n";
    let answer = raw_exchange(port, bad_key).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    let error = listener.accept().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Handshake(HandshakeError::BadHeader {
                name: "Sec-WebSocket-Key",
                ..
            })
        ),
        "{error}"
    );
    // Each layer says its part once: the handshake failed, because of this header.
    assert_eq!(
        chain(&error),
        "the WebSocket handshake failed: bad Sec-WebSocket-Key header: \"not-base64!\""
    );

    let old_version = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let answer = raw_exchange(port, old_version).await;
    assert!(answer.starts_with("HTTP/1.1 426"), "{answer}");
    assert!(answer.contains("Sec-WebSocket-Version: 13"), "{answer}");
    assert!(matches!(
        listener.accept().await.unwrap_err(),
        Error::Handshake(HandshakeError::UnsupportedVersion(_))
    ));
    assert_still_accepting(&listener).await;
}

#[tokio::test]
async fn a_silent_client_does_not_block_others_and_times_out() {
    let config = Config {
        handshake_timeout: Duration::from_secs(2),
        ..Config::default()
    };
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &config).unwrap();
    let port = listener.local_addr().port();
    // Connects and says nothing.
    let _silent = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // Another client is served while the silent one waits.
    assert_still_accepting(&listener).await;
    // The silent one's upgrade then times out, reported as one failed connection.
    let error = listener.accept().await.unwrap_err();
    assert!(matches!(error, Error::HandshakeTimeout { .. }), "{error}");
}

#[tokio::test]
async fn a_client_refuses_a_server_that_does_not_upgrade() {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut socket, _) = tcp.accept().await.unwrap();
        let mut buf = [0; 1024];
        let _ = socket.read(&mut buf).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
    });
    let result = dial(
        &addr(&format!("/ip4/127.0.0.1/tcp/{port}/ws")),
        &Config::default(),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(Error::Handshake(HandshakeError::Status { code: 404, .. }))
        ),
        "{result:?}"
    );
}

/// A server-side stream over an in-memory pipe, and the raw client end of the pipe.
async fn server_with_raw_client(
    config: &Config,
) -> (hyphae_websocket::WsStream<DuplexStream>, DuplexStream) {
    let (server_io, mut client_io) = tokio::io::duplex(1 << 20);
    let key = handshake::make_key([3; 16]);
    client_io
        .write_all(&handshake::write_request("test:80", "/", &key))
        .await
        .unwrap();
    let (stream, request) = upgrade_server(server_io, config).await.unwrap();
    assert_eq!(request.path, "/");
    let mut head = vec![0; handshake::write_response(&key).len()];
    client_io.read_exact(&mut head).await.unwrap();
    assert_eq!(
        handshake::parse_response(&head, &key, 8192),
        Ok(Some(head.len()))
    );
    (stream, client_io)
}

/// Writes one masked client frame.
async fn send_frame(
    io: &mut DuplexStream,
    fin: bool,
    opcode: OpCode,
    payload: &[u8],
    declared: u64,
) {
    let key = [9, 8, 7, 6];
    let header = Header {
        fin,
        opcode,
        mask: Some(key),
        payload_len: declared,
    };
    let mut head = [0; frame::MAX_HEADER_LEN];
    let len = header.encode(&mut head);
    let mut masked = payload.to_vec();
    frame::apply_mask(&mut masked, key, 0);
    io.write_all(&head[..len]).await.unwrap();
    io.write_all(&masked).await.unwrap();
}

/// Reads one unmasked server frame.
async fn receive_frame(io: &mut DuplexStream) -> (Header, Vec<u8>) {
    let mut buf = Vec::new();
    loop {
        if let Some((header, len)) = frame::decode_header(&buf, Role::Client, 1 << 20).unwrap() {
            let end = len + header.payload_len as usize;
            while buf.len() < end {
                buf.push(io.read_u8().await.unwrap());
            }
            return (header, buf[len..end].to_vec());
        }
        buf.push(io.read_u8().await.unwrap());
    }
}

#[tokio::test]
async fn refuses_an_oversized_frame_with_close_1009() {
    let config = Config {
        max_frame_size: 1000,
        ..Config::default()
    };
    let (mut stream, mut client) = server_with_raw_client(&config).await;
    send_frame(&mut client, true, OpCode::Binary, &[1; 1000], 1000).await;
    send_frame(&mut client, true, OpCode::Binary, &[], 1001).await;
    let mut received = vec![0; 1000];
    stream.read_exact(&mut received).await.unwrap();
    assert_eq!(received, vec![1; 1000]);
    let error = stream.read(&mut [0; 10]).await.unwrap_err();
    let inner = error.into_inner().unwrap().downcast::<Error>().unwrap();
    assert!(matches!(
        *inner,
        Error::Frame(FrameError::TooLarge {
            len: 1001,
            max: 1000
        })
    ));
    let (header, payload) = receive_frame(&mut client).await;
    assert_eq!(header.opcode, OpCode::Close);
    assert_eq!(payload, 1009u16.to_be_bytes());
    // Reads keep failing; writes are refused after the close.
    assert!(stream.read(&mut [0; 10]).await.is_err());
    assert!(stream.write_all(b"x").await.is_err());
}

#[tokio::test]
async fn answers_pings_while_only_reading_and_rejects_protocol_errors() {
    let (mut stream, mut client) = server_with_raw_client(&Config::default()).await;
    send_frame(&mut client, false, OpCode::Binary, b"ab", 2).await;
    send_frame(&mut client, true, OpCode::Ping, b"ping!", 5).await;
    send_frame(&mut client, true, OpCode::Continuation, b"cd", 2).await;
    // An unmasked frame from a client breaks the protocol.
    client.write_all(&[0x82, 0x01, b'x']).await.unwrap();
    let mut received = [0; 4];
    stream.read_exact(&mut received).await.unwrap();
    assert_eq!(&received, b"abcd");
    let (header, payload) = receive_frame(&mut client).await;
    assert_eq!((header.opcode, header.mask), (OpCode::Pong, None));
    assert_eq!(payload, b"ping!");
    let error = stream.read(&mut [0; 10]).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert_eq!(
        chain(&error),
        "invalid WebSocket frame: unmasked frame from a client"
    );
    let (header, payload) = receive_frame(&mut client).await;
    assert_eq!(header.opcode, OpCode::Close);
    assert_eq!(payload, 1002u16.to_be_bytes());
}

#[tokio::test]
async fn rejects_fragmentation_errors_and_truncation() {
    let (mut stream, mut client) = server_with_raw_client(&Config::default()).await;
    send_frame(&mut client, true, OpCode::Continuation, b"x", 1).await;
    let error = stream.read(&mut [0; 10]).await.unwrap_err();
    assert!(chain(&error).contains("continuation"), "{error}");

    let (mut stream, mut client) = server_with_raw_client(&Config::default()).await;
    send_frame(&mut client, false, OpCode::Binary, b"x", 1).await;
    send_frame(&mut client, true, OpCode::Binary, b"y", 1).await;
    let mut first = [0; 1];
    stream.read_exact(&mut first).await.unwrap();
    let error = stream.read(&mut [0; 10]).await.unwrap_err();
    assert!(chain(&error).contains("unfinished"), "{error}");

    let (mut stream, mut client) = server_with_raw_client(&Config::default()).await;
    send_frame(&mut client, true, OpCode::Binary, b"abc", 10).await;
    drop(client);
    let mut received = [0; 3];
    stream.read_exact(&mut received).await.unwrap();
    let error = stream.read(&mut [0; 10]).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
}

#[tokio::test]
async fn handshake_head_size_is_bounded() {
    let config = Config {
        max_head_size: 512,
        ..Config::default()
    };
    let (server_io, mut client_io) = tokio::io::duplex(1 << 16);
    let server = tokio::spawn(async move { upgrade_server(server_io, &config).await.map(|_| ()) });
    client_io.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    client_io.write_all(&[b'a'; 600]).await.unwrap();
    let result = server.await.unwrap();
    assert!(matches!(
        result,
        Err(Error::Handshake(HandshakeError::HeadTooLarge {
            limit: 512
        }))
    ));

    // A client likewise refuses an endless response head.
    let config = Config {
        max_head_size: 512,
        ..Config::default()
    };
    let (client_io, mut server_io) = tokio::io::duplex(1 << 16);
    let client = tokio::spawn(async move {
        upgrade_client(client_io, "h:1", "/", &config)
            .await
            .map(|_| ())
    });
    let mut request = [0; 64];
    let _ = server_io.read(&mut request).await.unwrap();
    server_io.write_all(b"HTTP/1.1 101 OK\r\n").await.unwrap();
    server_io.write_all(&[b'a'; 600]).await.unwrap();
    assert!(matches!(
        client.await.unwrap(),
        Err(Error::Handshake(HandshakeError::HeadTooLarge { .. }))
    ));
}

#[tokio::test]
async fn written_bytes_leave_without_a_flush_once_the_writer_reads() {
    // A pipe smaller than one frame: writes are accepted into the stream's buffer.
    let (client_io, server_io) = tokio::io::duplex(64);
    let config = Config::default();
    let server_config = config.clone();
    let server = tokio::spawn(async move {
        let (mut stream, _) = upgrade_server(server_io, &server_config).await.unwrap();
        let mut request = vec![0; 10_000];
        stream.read_exact(&mut request).await.unwrap();
        stream.write_all(b"answer").await.unwrap();
        stream.flush().await.unwrap();
        request
    });
    let mut client = upgrade_client(client_io, "h:1", "/", &config)
        .await
        .unwrap();
    client.write_all(&[7; 10_000]).await.unwrap();
    // No flush: waiting for the answer must still send the request.
    let mut answer = [0; 6];
    tokio::time::timeout(Duration::from_secs(10), client.read_exact(&mut answer))
        .await
        .expect("request stuck in the write buffer")
        .unwrap();
    assert_eq!(&answer, b"answer");
    assert_eq!(server.await.unwrap(), vec![7; 10_000]);
}
