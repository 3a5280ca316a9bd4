//! multistream-select over Yamux streams: an optimistic dialer (one protocol, data written
//! right behind the proposal) whose protocol the listener refuses learns that it was refused,
//! not merely that the stream was reset.

use std::io;

use hyphae_core::negotiated;
use hyphae_yamux::{Config, Connection, Mode, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a request-response protocol such as ping writes right behind its proposal. Read by
/// the listener as its next proposal it is malformed (5 bytes, no newline), so the listener
/// gives up after answering `na`.
const REQUEST: &[u8] = b"\x05hello";

fn pair() -> (Connection, Connection) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    (
        Connection::new(a, Mode::Client, Config::default()),
        Connection::new(b, Mode::Server, Config::default()),
    )
}

fn protocols(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

/// The protocols a refusal names, if `error` is one.
fn refused_protocols(error: &io::Error) -> Option<Vec<String>> {
    match error.get_ref()?.downcast_ref::<hyphae_core::Error>()? {
        hyphae_core::Error::NegotiationFailed { proposed } => Some(proposed.clone()),
        _ => None,
    }
}

/// Accepts one stream and refuses its protocol, then resets the stream as go-libp2p does
/// when negotiation fails: our `listen` answers `na` and closes its side first.
fn spawn_refusing_listener(server: Connection) -> tokio::task::JoinHandle<Connection> {
    tokio::spawn(async move {
        let mut stream: Stream = server.accept().await.unwrap();
        assert!(
            negotiated::listen(&mut stream, protocols(&["/other"]))
                .await
                .is_err()
        );
        stream.reset();
        server
    })
}

/// An optimistic stream to the server, with the request written behind the proposal.
async fn open_optimistic(client: &Connection) -> negotiated::Negotiated<Stream> {
    let raw = client.open_stream().await.unwrap();
    let mut stream = negotiated::dial(raw, protocols(&["/echo/1"]))
        .await
        .unwrap();
    stream.write_all(REQUEST).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

#[tokio::test]
async fn a_refused_optimistic_stream_reads_the_refusal_not_a_reset() {
    let (client, server) = pair();
    let listening = spawn_refusing_listener(server);
    let mut stream = open_optimistic(&client).await;
    let error = stream.read(&mut [0u8; 8]).await.unwrap_err();
    assert_eq!(
        refused_protocols(&error),
        Some(protocols(&["/echo/1"])),
        "{error}"
    );
    let _server = listening.await.unwrap();
}

#[tokio::test]
async fn a_write_after_the_refusal_reports_it_not_the_reset() {
    let (client, server) = pair();
    let listening = spawn_refusing_listener(server);
    let mut stream = open_optimistic(&client).await;
    let _server = listening.await.unwrap();
    // The `na` and the reset have both reached the client's session by the time the next
    // write fails; ping a round trip to be sure.
    client.ping().await.unwrap();
    let error = stream.write_all(b"more").await.unwrap_err();
    assert_eq!(
        refused_protocols(&error),
        Some(protocols(&["/echo/1"])),
        "{error}"
    );
}

#[tokio::test]
async fn our_listener_refuses_without_a_reset() {
    let (client, server) = pair();
    let listening = tokio::spawn(async move {
        let stream = server.accept().await.unwrap();
        // The failed stream is dropped inside `listen`, as the node does.
        assert!(
            negotiated::listen(stream, protocols(&["/other"]))
                .await
                .is_err()
        );
        server
    });
    let mut stream = open_optimistic(&client).await;
    let _server = listening.await.unwrap();
    client.ping().await.unwrap();
    // Its side was closed, not reset: further writes are taken (and discarded).
    stream.write_all(b"more").await.unwrap();
    let error = stream.read(&mut [0u8; 8]).await.unwrap_err();
    assert_eq!(
        refused_protocols(&error),
        Some(protocols(&["/echo/1"])),
        "{error}"
    );
}
