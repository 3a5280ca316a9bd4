//! Property tests: the decoders never panic on arbitrary bytes, encoding round-trips, and a
//! byte stream survives any split into writes and any garbage after it is refused cleanly.

use hyphae_websocket::frame::{self, Header, OpCode, Role};
use hyphae_websocket::{Config, handshake, upgrade_client, upgrade_server};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    (
        any::<bool>(),
        opcode(),
        proptest::option::of(any::<[u8; 4]>()),
        prop_oneof![0u64..=125, 126u64..=65_535, 65_536u64..(1 << 63)],
    )
        .prop_map(|(fin, opcode, mask, payload_len)| {
            if opcode.is_control() {
                Header {
                    fin: true,
                    opcode,
                    mask,
                    payload_len: payload_len % 126,
                }
            } else {
                Header {
                    fin,
                    opcode,
                    mask,
                    payload_len,
                }
            }
        })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #[test]
    fn frame_decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..32), max in any::<u64>()) {
        for role in [Role::Client, Role::Server] {
            if let Ok(Some((header, len))) = frame::decode_header(&bytes, role, max) {
                prop_assert!(len <= bytes.len() && len <= frame::MAX_HEADER_LEN);
                prop_assert!(header.opcode.is_control() || header.payload_len <= max);
            }
        }
    }

    #[test]
    fn headers_round_trip(header in header()) {
        let mut out = [0; frame::MAX_HEADER_LEN];
        let len = header.encode(&mut out);
        let receiver = if header.mask.is_some() { Role::Server } else { Role::Client };
        let decoded = frame::decode_header(&out[..len], receiver, u64::MAX).unwrap();
        prop_assert_eq!(decoded, Some((header, len)));
        // Any shorter prefix is incomplete, never an error.
        for end in 0..len {
            prop_assert_eq!(frame::decode_header(&out[..end], receiver, u64::MAX), Ok(None));
        }
    }

    #[test]
    fn masking_is_an_involution_and_splits_anywhere(
        data in proptest::collection::vec(any::<u8>(), 0..200),
        key in any::<[u8; 4]>(),
        split in any::<prop::sample::Index>(),
    ) {
        let mut whole = data.clone();
        frame::apply_mask(&mut whole, key, 0);
        let at = split.index(data.len() + 1);
        let mut parts = data.clone();
        let (head, tail) = parts.split_at_mut(at);
        frame::apply_mask(head, key, 0);
        frame::apply_mask(tail, key, at);
        prop_assert_eq!(&whole, &parts);
        frame::apply_mask(&mut whole, key, 0);
        prop_assert_eq!(whole, data);
    }

    #[test]
    fn handshake_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = handshake::parse_request(&bytes, 512);
        let _ = handshake::parse_response(&bytes, "dGhlIHNhbXBsZSBub25jZQ==", 512);
    }

    #[test]
    fn handshake_parsers_never_panic_on_near_valid_heads(
        request in any::<bool>(),
        cut in 0usize..300,
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let key = handshake::make_key([5; 16]);
        let mut bytes = if request {
            handshake::write_request("h:1", "/", &key)
        } else {
            handshake::write_response(&key)
        };
        for (index, value) in flips {
            let at = index.index(bytes.len());
            bytes[at] = value;
        }
        bytes.truncate(cut.min(bytes.len()));
        let _ = handshake::parse_request(&bytes, 8192);
        let _ = handshake::parse_response(&bytes, &key, 8192);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the write sizes and frame size, the reader sees the same bytes in order.
    #[test]
    fn a_byte_stream_survives_any_write_split(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 0..20),
        write_frame_size in 1usize..5000,
        read_size in 1usize..40_000,
    ) {
        runtime().block_on(async move {
            let config = Config { write_frame_size, ..Config::default() };
            let (client_io, server_io) = tokio::io::duplex(4096);
            let server_config = config.clone();
            let server = tokio::spawn(async move {
                let (mut stream, _) = upgrade_server(server_io, &server_config).await.unwrap();
                let mut received = Vec::new();
                let mut buf = vec![0; read_size];
                loop {
                    let read = stream.read(&mut buf).await.unwrap();
                    if read == 0 {
                        break;
                    }
                    received.extend_from_slice(&buf[..read]);
                }
                received
            });
            let mut client = upgrade_client(client_io, "h:1", "/", &config).await.unwrap();
            for chunk in &chunks {
                client.write_all(chunk).await.unwrap();
            }
            client.shutdown().await.unwrap();
            let received = server.await.unwrap();
            assert_eq!(received, chunks.concat());
        });
    }

    /// Arbitrary bytes after a valid handshake end in data, an error or EOF: never a panic
    /// or a hang.
    #[test]
    fn a_stream_fed_garbage_never_panics(
        garbage in proptest::collection::vec(any::<u8>(), 0..2000),
        as_server in any::<bool>(),
    ) {
        runtime().block_on(async move {
            let config = Config { max_frame_size: 4096, ..Config::default() };
            let (ours, mut theirs) = tokio::io::duplex(1 << 16);
            let key = handshake::make_key([1; 16]);
            let reader = tokio::spawn(async move {
                let mut stream = if as_server {
                    upgrade_server(ours, &config).await.unwrap().0
                } else {
                    upgrade_client(ours, "h:1", "/", &config).await.unwrap()
                };
                let mut buf = vec![0; 1024];
                while let Ok(read) = stream.read(&mut buf).await {
                    if read == 0 {
                        break;
                    }
                }
            });
            if as_server {
                theirs.write_all(&handshake::write_request("h:1", "/", &key)).await.unwrap();
            } else {
                let mut request = vec![0; 4096];
                let read = theirs.read(&mut request).await.unwrap();
                let (parsed, _) = handshake::parse_request(&request[..read], 8192).unwrap().unwrap();
                theirs.write_all(&handshake::write_response(&parsed.key)).await.unwrap();
            }
            theirs.write_all(&garbage).await.unwrap();
            theirs.shutdown().await.unwrap();
            // Drain whatever the stream answers (pongs, close) so it never blocks writing.
            let mut sink = Vec::new();
            let _ = theirs.read_to_end(&mut sink).await;
            reader.await.unwrap();
        });
    }
}
