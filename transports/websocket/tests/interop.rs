//! Interoperability with tokio-tungstenite, an independent RFC 6455 implementation, in
//! both directions: binary data, pings, fragmented messages and the close handshake.

use futures::{SinkExt, StreamExt};
use hyphae_multiaddr::Multiaddr;
use hyphae_websocket::{Config, Listener, dial};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

#[tokio::test]
async fn hyphae_client_against_a_tungstenite_server() {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (socket, _) = tcp.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(socket).await.unwrap();
        let mut received = Vec::new();
        // Echo every binary message; note our client's close.
        let mut saw_close = false;
        while let Some(message) = ws.next().await {
            match message.unwrap() {
                Message::Binary(data) => {
                    received.extend_from_slice(&data);
                    ws.send(Message::Binary(data)).await.unwrap();
                }
                Message::Close(frame) => {
                    assert_eq!(frame.unwrap().code, CloseCode::Normal);
                    saw_close = true;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(saw_close);
        received
    });
    let target = addr(&format!("/ip4/127.0.0.1/tcp/{port}/ws"));
    let stream = dial(&target, &Config::default()).await.unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let data = pattern(400_000);
    let sent = data.clone();
    let writing = tokio::spawn(async move {
        writer.write_all(&sent).await.unwrap();
        writer.flush().await.unwrap();
        writer
    });
    let mut echoed = vec![0; data.len()];
    reader.read_exact(&mut echoed).await.unwrap();
    assert!(echoed == data);
    let mut writer = writing.await.unwrap();
    writer.shutdown().await.unwrap();
    // tungstenite answers our close; we then see EOF.
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    assert!(server.await.unwrap() == data);
}

#[tokio::test]
async fn tungstenite_client_against_a_hyphae_listener() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &Config::default()).unwrap();
    let port = listener.local_addr().port();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut received = Vec::new();
        let mut buf = vec![0; 8192];
        loop {
            let read = stream.read(&mut buf).await.unwrap();
            if read == 0 {
                break;
            }
            received.extend_from_slice(&buf[..read]);
            stream.write_all(&buf[..read]).await.unwrap();
        }
        received
    });
    let url = format!("ws://127.0.0.1:{port}/");
    let (mut ws, response) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(response.status(), 101);

    // Binary messages of several sizes, echoed back byte for byte (message boundaries are
    // not kept: the server sees a byte stream).
    let mut sent = Vec::new();
    for len in [1, 125, 126, 65_535, 65_536, 200_000] {
        let data = pattern(len);
        sent.extend_from_slice(&data);
        ws.send(Message::binary(data)).await.unwrap();
    }
    // Text messages carry bytes like binary ones.
    ws.send(Message::text("text too")).await.unwrap();
    sent.extend_from_slice(b"text too");
    // A fragmented message: three frames, reassembled into the byte stream.
    let pieces = [b"frag".to_vec(), b"mented".to_vec(), b"!".to_vec()];
    ws.send(Message::Frame(Frame::message(
        pieces[0].clone(),
        OpCode::Data(Data::Binary),
        false,
    )))
    .await
    .unwrap();
    ws.send(Message::Frame(Frame::message(
        pieces[1].clone(),
        OpCode::Data(Data::Continue),
        false,
    )))
    .await
    .unwrap();
    // A ping between fragments is allowed and answered.
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    ws.send(Message::Frame(Frame::message(
        pieces[2].clone(),
        OpCode::Data(Data::Continue),
        true,
    )))
    .await
    .unwrap();
    sent.extend_from_slice(b"fragmented!");

    let mut echoed = Vec::new();
    let mut saw_pong = false;
    while echoed.len() < sent.len() || !saw_pong {
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(data) => echoed.extend_from_slice(&data),
            Message::Pong(payload) => {
                assert_eq!(&payload[..], b"are you there");
                saw_pong = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(echoed == sent);

    // Close handshake: our listener echoes the close and its reads end.
    ws.close(None).await.unwrap();
    while let Some(message) = ws.next().await {
        match message {
            Ok(Message::Close(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(error) => panic!("close handshake failed: {error}"),
        }
    }
    assert!(server.await.unwrap() == sent);
}

#[tokio::test]
async fn tungstenite_rejects_nothing_we_send_and_sees_our_close_code() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0/ws"), &Config::default()).unwrap();
    let port = listener.local_addr().port();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        stream.write_all(&pattern(70_000)).await.unwrap();
        stream.shutdown().await.unwrap();
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    });
    let socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://127.0.0.1:{port}/"), socket)
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut close = None;
    while let Some(message) = ws.next().await {
        match message.unwrap() {
            Message::Binary(data) => received.extend_from_slice(&data),
            Message::Close(frame) => close = frame,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(received == pattern(70_000));
    assert_eq!(close.unwrap().code, CloseCode::Normal);
    server.await.unwrap();
}
