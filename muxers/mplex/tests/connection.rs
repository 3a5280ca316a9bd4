//! The tokio driver over an in-memory duplex pipe.

use hyphae_mplex::{Config, Connection};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn pair() -> (Connection, Connection) {
    let (a, b) = tokio::io::duplex(64 * 1024);
    (
        Connection::new(a, Config::default()),
        Connection::new(b, Config::default()),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_streams_echo_64_kib_each() {
    let (client, server) = pair();
    let echo = tokio::spawn(async move {
        let mut tasks = Vec::new();
        while let Some(mut stream) = server.accept().await {
            tasks.push(tokio::spawn(async move {
                let mut data = Vec::new();
                stream.read_to_end(&mut data).await.unwrap();
                stream.write_all(&data).await.unwrap();
                stream.shutdown().await.unwrap();
            }));
            if tasks.len() == 100 {
                break;
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        server
    });
    let mut tasks = Vec::new();
    for i in 0..100u32 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let payload: Vec<u8> = (0..64 * 1024u32)
                .map(|j| (i.wrapping_mul(31) ^ j) as u8)
                .collect();
            let mut stream = client.open_stream().await.unwrap();
            let (mut reader, mut writer) = tokio::io::split(&mut stream);
            let send = async {
                writer.write_all(&payload).await.unwrap();
                writer.shutdown().await.unwrap();
            };
            let mut echoed = Vec::new();
            let receive = reader.read_to_end(&mut echoed);
            let ((), received) = tokio::join!(send, receive);
            received.unwrap();
            assert_eq!(echoed, payload);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let _server = echo.await.unwrap();
    client.close().await;
    assert!(client.is_closed());
}

#[tokio::test]
async fn dropping_a_stream_resets_it() {
    let (client, server) = pair();
    let mut stream = client.open_stream().await.unwrap();
    stream.write_all(b"partial").await.unwrap();
    let mut inbound = server.accept().await.unwrap();
    drop(stream);
    let mut data = Vec::new();
    let error = inbound.read_to_end(&mut data).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset);
}

#[tokio::test]
async fn closing_ends_accept_on_both_sides() {
    let (client, server) = pair();
    client.close().await;
    assert!(client.accept().await.is_none());
    assert!(server.accept().await.is_none());
    assert!(server.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_gets_every_byte_through_a_small_buffer() {
    let mut config = Config::default();
    config.max_buffer_per_stream = 64 * 1024;
    let (a, b) = tokio::io::duplex(64 * 1024);
    let sender = Connection::new(a, Config::default());
    let receiver = Connection::new(b, config);
    let payload: Vec<u8> = (0..8 * 1024 * 1024).map(|i| (i % 251) as u8).collect();

    let expected = payload.clone();
    let reading = tokio::spawn(async move {
        let mut inbound = receiver.accept().await.unwrap();
        let mut received = Vec::new();
        let mut chunk = vec![0; 16 * 1024];
        loop {
            // A reader far slower than the sender: the connection has to wait for it.
            tokio::time::sleep(std::time::Duration::from_micros(200)).await;
            let n = inbound.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            received.extend_from_slice(&chunk[..n]);
        }
        assert!(received == expected, "bytes differ");
    });
    let mut outbound = sender.open_stream().await.unwrap();
    outbound.write_all(&payload).await.unwrap();
    outbound.shutdown().await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(60), reading)
        .await
        .expect("transfer finished")
        .unwrap();
}
