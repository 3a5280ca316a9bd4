//! Seed inputs for every target, built with the crates' own encoders from real values (and,
//! for TLS, the certificates of the test vectors), so that a fuzzer starts past the first
//! checks of each decoder. `examples/seeds.rs` writes them to `fuzz/corpus/<target>/`.

use std::time::Instant;

use bytes::BytesMut;
use hyphae_core::{PeerRecord, frame, multistream};
use hyphae_encoding::varint;
use hyphae_gossipsub as gossipsub;
use hyphae_identify::Info;
use hyphae_identity::{KeyType, Keypair};
use hyphae_kad as kad;
use hyphae_multiaddr::Multiaddr;
use hyphae_websocket::frame::{Header, OpCode, apply_mask};
use hyphae_websocket::handshake::{write_request, write_response};

use crate::gossipsub_router::JOINED as ROUTER_TOPIC;
use crate::kad::{IPNS_NOW, ipns_name};
use crate::kad_dht::{known_peer, limits as kad_limits};
use crate::noise::{NOISE_INITIATOR_SEED, NOISE_RESPONDER_SEED, TRANSPORT_KEY, config, identity};
use crate::rng::FixedRng;
use crate::{DNS_NAME, identify_peer};

/// A seed: the target it is for, a file name saying what it is, and its bytes.
pub type Seed = (&'static str, String, Vec<u8>);

/// Chunked targets read a control byte first: 63 delivers 64-byte chunks, 0 one byte at a
/// time (see `chunked`).
const BULK: u8 = 63;
const TRICKLE: u8 = 0;

/// Every seed of every target.
pub fn all() -> Vec<Seed> {
    let mut seeds = Vec::new();
    encoding(&mut seeds);
    addresses(&mut seeds);
    identities(&mut seeds);
    negotiation(&mut seeds);
    noise(&mut seeds);
    muxers(&mut seeds);
    websocket(&mut seeds);
    dns(&mut seeds);
    protocols(&mut seeds);
    cores(&mut seeds);
    seeds
}

/// The seed of `target` called `name`, for tests that check a seed reaches what it is for.
#[cfg(test)]
pub(crate) fn named(target: &str, name: &str) -> Vec<u8> {
    all()
        .into_iter()
        .find(|(t, n, _)| *t == target && n == name)
        .map(|(_, _, data)| data)
        .unwrap_or_else(|| panic!("no seed {target}/{name}"))
}

fn push(seeds: &mut Vec<Seed>, target: &'static str, name: impl Into<String>, data: Vec<u8>) {
    seeds.push((target, name.into(), data));
}

/// A chunked target's input: the control byte, then `data`.
fn with_control(control: u8, data: &[u8]) -> Vec<u8> {
    let mut input = vec![control];
    input.extend_from_slice(data);
    input
}

fn keypairs() -> Vec<(&'static str, Keypair)> {
    let mut keys = vec![("ed25519", Keypair::ed25519_from_secret(&[1; 32]))];
    for (name, kind) in [
        ("secp256k1", KeyType::Secp256k1),
        ("ecdsa", KeyType::Ecdsa),
        ("rsa", KeyType::Rsa),
    ] {
        keys.push((name, Keypair::generate(kind).expect("key generation")));
    }
    keys
}

fn encoding(seeds: &mut Vec<Seed>) {
    for value in [
        0,
        1,
        127,
        128,
        300,
        16_383,
        16_384,
        u64::from(u32::MAX),
        u64::MAX,
    ] {
        let mut out = Vec::new();
        varint::encode_to_vec(value, &mut out);
        push(seeds, "varint", format!("{value}"), out);
    }
    for (name, payload) in [
        ("empty", &b""[..]),
        ("header", b"/multistream/1.0.0\n"),
        ("large", &[0x5a; 300]),
    ] {
        let mut out = Vec::new();
        frame::encode(payload, &mut out);
        push(seeds, "frame", name, out);
    }
}

const ADDRESSES: &[&str] = &[
    "/ip4/127.0.0.1/tcp/4001",
    "/ip6/::1/udp/4001/quic-v1",
    "/ip4/10.0.0.1/udp/4001/quic-v1/webtransport",
    "/dns4/example.com/tcp/443/wss",
    "/dns6/example.com/tcp/80/ws",
    "/dnsaddr/bootstrap.libp2p.io",
    "/ip4/1.2.3.4/tcp/80/http-path/a%2Fb",
    "/ip4/192.0.2.1/udp/9090/webrtc-direct",
    "/unix/%2Ftmp%2Fp2p.sock",
    "/memory/42",
];

fn addresses(seeds: &mut Vec<Seed>) {
    let peer = Keypair::ed25519_from_secret(&[2; 32]).peer_id();
    let relayed = format!("/ip4/1.2.3.4/tcp/4001/p2p/{peer}/p2p-circuit/p2p/{peer}");
    for (index, text) in ADDRESSES
        .iter()
        .map(|text| (*text).to_owned())
        .chain([relayed])
        .enumerate()
    {
        let Ok(address) = text.parse::<Multiaddr>() else {
            continue;
        };
        push(
            seeds,
            "multiaddr_text",
            format!("{index}"),
            text.into_bytes(),
        );
        push(
            seeds,
            "multiaddr_binary",
            format!("{index}"),
            address.to_vec(),
        );
    }
}

fn identities(seeds: &mut Vec<Seed>) {
    for (name, keypair) in keypairs() {
        let public = keypair.public();
        let peer = keypair.peer_id();
        push(seeds, "public_key", name, public.encode_protobuf());
        push(seeds, "peer_id", format!("{name}-bytes"), peer.to_bytes());
        push(
            seeds,
            "peer_id",
            format!("{name}-base58"),
            peer.to_base58().into_bytes(),
        );
        push(
            seeds,
            "peer_id",
            format!("{name}-cid"),
            peer.to_cid_string().into_bytes(),
        );
        let addresses = vec!["/ip4/127.0.0.1/tcp/4001".parse().expect("address")];
        let record = PeerRecord::new(&keypair, addresses, 7).expect("record");
        push(seeds, "peer_record", name, record.encode());
        push(seeds, "signed_envelope", name, record.encode());
    }
}

/// A negotiation line as `multistream` frames it.
fn line(text: &str) -> Vec<u8> {
    let mut line = text.as_bytes().to_vec();
    line.push(b'\n');
    let mut out = Vec::new();
    frame::encode(&line, &mut out);
    out
}

fn lines(texts: &[&str]) -> Vec<u8> {
    texts.iter().flat_map(|text| line(text)).collect()
}

fn negotiation(seeds: &mut Vec<Seed>) {
    let header = multistream::PROTOCOL_ID;
    let answers = [
        ("accepts-first", lines(&[header, "/yamux/1.0.0"])),
        ("accepts-second", lines(&[header, "na", "/mplex/6.7.0"])),
        ("refuses-all", lines(&[header, "na", "na"])),
    ];
    for (name, bytes) in answers {
        push(
            seeds,
            "multistream_dialer",
            name,
            with_control(BULK, &bytes),
        );
    }
    let proposals = [
        ("proposes-supported", lines(&[header, "/noise"])),
        (
            "lists-then-proposes",
            lines(&[header, "ls", "/tls/1.0.0", "/yamux/1.0.0"]),
        ),
    ];
    for (name, bytes) in proposals {
        push(
            seeds,
            "multistream_listener",
            name,
            with_control(BULK, &bytes),
        );
        push(
            seeds,
            "multistream_listener",
            format!("{name}-trickled"),
            with_control(TRICKLE, &bytes),
        );
    }
}

/// The messages of a complete handshake between the targets' own initiator and responder,
/// so a seed is a valid peer for the very state the target starts in.
fn noise(seeds: &mut Vec<Seed>) {
    use hyphae_noise::Handshake;
    let peer = Keypair::ed25519_from_secret(&[3; 32]);
    let mut initiator = Handshake::initiator(
        &identity(),
        &config(),
        None,
        &mut FixedRng::new(NOISE_INITIATOR_SEED),
    )
    .expect("initiator");
    let mut peer_responder =
        Handshake::responder(&peer, &config(), None, &mut FixedRng::new(9)).expect("responder");
    let (to_initiator, _) = run(&mut initiator, &mut peer_responder);
    push(
        seeds,
        "noise_initiator",
        "message-2",
        with_control(BULK, &to_initiator),
    );
    push(
        seeds,
        "noise_initiator",
        "message-2-trickled",
        with_control(TRICKLE, &to_initiator),
    );

    let mut peer_initiator =
        Handshake::initiator(&peer, &config(), None, &mut FixedRng::new(10)).expect("initiator");
    let mut responder = Handshake::responder(
        &identity(),
        &config(),
        None,
        &mut FixedRng::new(NOISE_RESPONDER_SEED),
    )
    .expect("responder");
    let (_, to_responder) = run(&mut peer_initiator, &mut responder);
    push(
        seeds,
        "noise_responder",
        "messages-1-and-3",
        with_control(BULK, &to_responder),
    );

    let static_key = [4; 32];
    for (name, keypair) in keypairs() {
        let payload =
            hyphae_noise::fuzzing::encode_payload(&keypair, &static_key).expect("payload");
        let mut input = static_key.to_vec();
        input.extend_from_slice(&payload);
        push(seeds, "noise_payload", name, input);
    }
}

/// Runs a handshake to its end; returns what the first party received and what the
/// second did.
fn run(
    first: &mut hyphae_noise::Handshake,
    second: &mut hyphae_noise::Handshake,
) -> (Vec<u8>, Vec<u8>) {
    let (mut to_first, mut to_second) = (Vec::new(), Vec::new());
    let (mut first_in, mut second_in) = (BytesMut::new(), BytesMut::new());
    while !(first.is_finished() && second.is_finished()) {
        while let Some(message) = first.poll_transmit() {
            to_second.extend_from_slice(&message);
            second_in.extend_from_slice(&message);
        }
        second.handle_input(&mut second_in).expect("handshake");
        while let Some(message) = second.poll_transmit() {
            to_first.extend_from_slice(&message);
            first_in.extend_from_slice(&message);
        }
        first.handle_input(&mut first_in).expect("handshake");
    }
    (to_first, to_second)
}

fn muxers(seeds: &mut Vec<Seed>) {
    use hyphae_mplex as mplex;
    use hyphae_yamux as yamux;

    // A yamux client (the peer of the target's default server role) opening two streams,
    // writing, pinging, half-closing one and resetting the other.
    let now = Instant::now();
    let mut client = yamux::Session::new(yamux::Mode::Client, yamux::Config::default());
    let first = client.open_stream().expect("stream");
    let second = client.open_stream().expect("stream");
    client.write(first, b"/multistream/1.0.0\n").expect("write");
    client.write(second, &[0x42; 600]).expect("write");
    let _ = client.ping(now);
    client.close_write(first).expect("close");
    client.reset(second).expect("reset");
    let mut bytes = BytesMut::new();
    client.poll_transmit(now, &mut bytes);
    push(
        seeds,
        "yamux_session",
        "client-streams",
        with_control(BULK, &bytes),
    );
    push(
        seeds,
        "yamux_session",
        "client-streams-trickled",
        with_control(TRICKLE, &bytes),
    );
    // The same with the target as the client (high control bit) and left unread.
    let mut server = yamux::Session::new(yamux::Mode::Server, yamux::Config::default());
    let stream = server.open_stream().expect("stream");
    server.write(stream, &[0x17; 2000]).expect("write");
    server.close(yamux::GoAwayCode::Normal);
    let mut bytes = BytesMut::new();
    server.poll_transmit(now, &mut bytes);
    push(
        seeds,
        "yamux_session",
        "server-stream-unread",
        with_control(0x80 | 0x40 | BULK, &bytes),
    );

    let mut peer = mplex::Session::new(mplex::Config::default());
    let first = peer.open_stream().expect("stream");
    let second = peer.open_stream().expect("stream");
    peer.write(first, b"/multistream/1.0.0\n").expect("write");
    peer.write(second, &[0x42; 600]).expect("write");
    peer.close_write(first).expect("close");
    peer.reset(second).expect("reset");
    let mut bytes = Vec::new();
    peer.poll_transmit(&mut bytes);
    push(
        seeds,
        "mplex_session",
        "streams",
        with_control(BULK, &bytes),
    );
    push(
        seeds,
        "mplex_session",
        "streams-unread",
        with_control(0x40 | TRICKLE, &bytes),
    );
}

/// A frame as `masked` (a client) or not sends it.
fn ws_frame(opcode: OpCode, fin: bool, payload: &[u8], masked: bool) -> Vec<u8> {
    let mask = masked.then_some([0x12, 0x34, 0x56, 0x78]);
    let header = Header {
        fin,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    let mut head = [0; hyphae_websocket::frame::MAX_HEADER_LEN];
    let len = header.encode(&mut head);
    let mut out = head[..len].to_vec();
    let mut body = payload.to_vec();
    if let Some(key) = mask {
        apply_mask(&mut body, key, 0);
    }
    out.extend_from_slice(&body);
    out
}

fn websocket(seeds: &mut Vec<Seed>) {
    // The target reads as a server (masked frames) with the high control bit clear.
    for (control, masked, role) in [(BULK, true, "server"), (0x80 | BULK, false, "client")] {
        let frames = [
            ws_frame(OpCode::Binary, true, b"/multistream/1.0.0\n", masked),
            ws_frame(OpCode::Binary, false, &[1; 200], masked),
            ws_frame(OpCode::Ping, true, b"ping", masked),
            ws_frame(OpCode::Continuation, true, &[2; 4000], masked),
            ws_frame(OpCode::Close, true, &[0x03, 0xe8, b'o', b'k'], masked),
        ]
        .concat();
        push(
            seeds,
            "websocket_frames",
            format!("{role}-messages"),
            with_control(control, &frames),
        );
    }
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    push(
        seeds,
        "websocket_handshake",
        "request",
        write_request("example.com:443", "/", key),
    );
    push(
        seeds,
        "websocket_handshake",
        "response",
        write_response(key),
    );
}

fn dns(seeds: &mut Vec<Seed>) {
    let id = 0x1d2e;
    let query = hyphae_dns::fuzzing::encode_txt_query(DNS_NAME, id).expect("query");
    let answers = [
        "dnsaddr=/dnsaddr/am6.bootstrap.libp2p.io/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
        "dnsaddr=/ip4/147.75.83.83/tcp/4001/p2p/QmbLHAnMoJPWSCR5Zhtx6BHJX9KiKNN6tpvbUcqanj75Nb",
    ];
    let mut response = query.clone();
    // QR, RD and RA set; one question, two answers.
    response[2..4].copy_from_slice(&0x8180u16.to_be_bytes());
    response[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
    for text in answers {
        // The owner name points back at the question's (offset 12); TXT, IN, TTL 60.
        response.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        let data = [&[text.len() as u8][..], text.as_bytes()].concat();
        response.extend_from_slice(&(data.len() as u16).to_be_bytes());
        response.extend_from_slice(&data);
    }
    push(seeds, "dns_response", "two-txt-records", response);
    let mut nxdomain = query;
    nxdomain[2..4].copy_from_slice(&0x8183u16.to_be_bytes());
    push(seeds, "dns_response", "nxdomain", nxdomain);
}

fn protocols(seeds: &mut Vec<Seed>) {
    let identity = identify_peer();
    let address: Multiaddr = "/ip4/192.0.2.7/tcp/4001".parse().expect("address");
    let info = Info {
        public_key: Some(identity.public()),
        protocol_version: Some("ipfs/0.1.0".to_owned()),
        agent_version: Some("hyphae/0.1.0".to_owned()),
        listen_addrs: vec![
            address.clone(),
            "/ip6/::1/udp/4001/quic-v1".parse().expect("address"),
        ],
        protocols: vec!["/ipfs/id/1.0.0".to_owned(), "/ipfs/kad/1.0.0".to_owned()],
        observed_addr: Some(address.clone()),
        signed_peer_record: PeerRecord::new(&identity, vec![address.clone()], 1).ok(),
    };
    push(seeds, "identify", "full", info.encode());
    push(seeds, "identify", "empty", Info::default().encode());

    let limits = kad::Limits::default();
    let peer = kad::PeerInfo::new(identity.peer_id(), vec![address.clone()]);
    let mut response = kad::Message::new(kad::MessageType::FindNode, identity.peer_id().to_bytes());
    response.closer_peers = vec![peer.clone(); 3];
    let mut put = kad::Message::new(kad::MessageType::PutValue, b"/pk/key".to_vec());
    put.record = Some(kad::Record::new(b"/pk/key".to_vec(), b"value".to_vec()));
    let mut providers = kad::Message::new(kad::MessageType::GetProviders, b"cid".to_vec());
    providers.provider_peers = vec![peer];
    for (name, message) in [
        (
            "find-node-request",
            kad::Message::new(kad::MessageType::FindNode, b"key".to_vec()),
        ),
        ("find-node-response", response),
        ("put-value", put),
        ("get-providers-response", providers),
        (
            "ping",
            kad::Message::new(kad::MessageType::Ping, Vec::new()),
        ),
    ] {
        push(
            seeds,
            "kad_message",
            name,
            kad::encode_frame(&message, &limits).expect("frame"),
        );
    }

    let limits = gossipsub::Limits::default();
    let id = gossipsub::MessageId::new(b"message-id".to_vec());
    let rpc = gossipsub::Rpc {
        subscriptions: vec![gossipsub::SubOpts {
            subscribe: true,
            topic: "blocks".to_owned(),
        }],
        publish: vec![gossipsub::Message {
            from: Some(identity.peer_id().to_bytes()),
            data: Some(bytes::Bytes::from_static(b"hello")),
            seqno: Some(1u64.to_be_bytes().to_vec()),
            topic: "blocks".to_owned(),
            ..gossipsub::Message::default()
        }],
        control: Some(gossipsub::ControlMessage {
            ihave: vec![gossipsub::ControlIHave {
                topic: "blocks".to_owned(),
                message_ids: vec![id.clone()],
            }],
            iwant: vec![gossipsub::ControlIWant {
                message_ids: vec![id.clone()],
            }],
            graft: vec![gossipsub::ControlGraft {
                topic: "blocks".to_owned(),
            }],
            prune: vec![gossipsub::ControlPrune {
                topic: "tx".to_owned(),
                peers: vec![gossipsub::PeerInfo {
                    peer_id: Some(identity.peer_id().to_bytes()),
                    signed_peer_record: None,
                }],
                backoff: Some(60),
            }],
            idontwant: vec![gossipsub::ControlIDontWant {
                message_ids: vec![id],
            }],
            extensions: None,
        }),
        test_extension: false,
    };
    push(
        seeds,
        "gossipsub_rpc",
        "full",
        gossipsub::encode_frame(&rpc, &limits).expect("frame"),
    );
    let empty = gossipsub::Rpc::default();
    push(
        seeds,
        "gossipsub_rpc",
        "empty",
        gossipsub::encode_frame(&empty, &limits).expect("frame"),
    );
}

/// A step of a sequence target: its step byte, then the framed message.
fn step(byte: u8, frame: Vec<u8>) -> Vec<u8> {
    let mut input = vec![byte];
    input.extend(frame);
    input
}

/// The sans-IO cores fed sequences of messages (Kademlia, gossipsub), the IPNS record, the
/// Noise transport phase and the request-response codecs.
fn cores(seeds: &mut Vec<Seed>) {
    request_response(seeds);
    noise_transport(seeds);
    ipns(seeds);
    dht(seeds);
    router(seeds);
}

fn noise_transport(seeds: &mut Vec<Seed>) {
    let mut encryptor = hyphae_noise::fuzzing::encryptor(&TRANSPORT_KEY);
    let mut frames = BytesMut::new();
    for len in [5, 0, 1500, 16 * 1024] {
        let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        encryptor.encrypt(&plaintext, &mut frames).expect("seals");
    }
    // High bits: the read size (1, 100, 4096 or 70,000 bytes).
    push(
        seeds,
        "noise_transport",
        "frames-bulk",
        with_control(BULK | 0xc0, &frames),
    );
    push(
        seeds,
        "noise_transport",
        "frames-small-reads",
        with_control(BULK | 0x40, &frames),
    );
    push(
        seeds,
        "noise_transport",
        "frames-trickle",
        with_control(TRICKLE | 0x80, &frames[..2000]),
    );
    // The connection closes inside the second frame.
    push(
        seeds,
        "noise_transport",
        "cut-short",
        with_control(BULK | 0x80, &frames[..30]),
    );
}

fn ipns(seeds: &mut Vec<Seed>) {
    let at = |secs| std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
    for (name, validity, sequence) in [
        ("valid", at(IPNS_NOW + 86_400), 7),
        ("expired", at(IPNS_NOW - 1), 1),
    ] {
        let record = kad::IpnsRecord {
            value: b"/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi".to_vec(),
            sequence,
            validity,
            ttl: std::time::Duration::from_secs(3600),
        };
        push(
            seeds,
            "ipns_record",
            name,
            record.sign(&ipns_name()).expect("signs"),
        );
    }
}

fn dht(seeds: &mut Vec<Seed>) {
    let limits = kad_limits();
    let frame = |message: &kad::Message| kad::encode_frame(message, &limits).expect("frame");
    let address: Multiaddr = "/ip4/192.0.2.9/tcp/4001".parse().expect("address");
    let stranger = Keypair::ed25519_from_secret(&[42; 32]).peer_id();
    let closer = vec![
        kad::PeerInfo::new(stranger, vec![address.clone()]),
        kad::PeerInfo::new(known_peer(1), vec![address]),
    ];
    let mut put = kad::Message::new(kad::MessageType::PutValue, b"/example/key".to_vec());
    put.record = Some(kad::Record::new(
        b"/example/key".to_vec(),
        b"value".to_vec(),
    ));
    let mut add_provider = kad::Message::new(kad::MessageType::AddProvider, b"cid".to_vec());
    add_provider.provider_peers = vec![kad::PeerInfo::new(known_peer(2), Vec::new())];
    let find_node = kad::Message::new(kad::MessageType::FindNode, b"target".to_vec());
    let answer = kad::Message::find_node_response(closer);
    let ping = kad::Message::new(kad::MessageType::Ping, Vec::new());
    // Step bytes: peer in bits 0-1; 0 serve, 1 answer, 2 fail, 3 time (high bits x 10 s).
    let session = [
        step(0, frame(&find_node)),
        step(1, frame(&put)),
        step(2, frame(&add_provider)),
        step(
            3,
            frame(&kad::Message::new(
                kad::MessageType::GetValue,
                b"/example/key".to_vec(),
            )),
        ),
        step(4, frame(&answer)),
        step(5, frame(&answer)),
        step(8, frame(&ping)),
        step(0x3c, frame(&ping)),
        step(0xfc, frame(&ping)),
    ]
    .concat();
    push(seeds, "kad_dht", "session", session);
    push(
        seeds,
        "kad_dht",
        "answers",
        [step(4, frame(&answer)), step(5, frame(&answer))].concat(),
    );
}

fn router(seeds: &mut Vec<Seed>) {
    let limits = gossipsub::Limits::default();
    let frame = |rpc: &gossipsub::Rpc| gossipsub::encode_frame(rpc, &limits).expect("frame");
    let subscribe = gossipsub::Rpc {
        subscriptions: vec![gossipsub::SubOpts {
            subscribe: true,
            topic: ROUTER_TOPIC.to_owned(),
        }],
        control: Some(gossipsub::ControlMessage {
            graft: vec![gossipsub::ControlGraft {
                topic: ROUTER_TOPIC.to_owned(),
            }],
            ..gossipsub::ControlMessage::default()
        }),
        ..gossipsub::Rpc::default()
    };
    // Unsigned, as the router's anonymous policy wants; the first data byte is the verdict.
    let publish = |data: &'static [u8]| gossipsub::Rpc {
        publish: vec![gossipsub::Message {
            data: Some(bytes::Bytes::from_static(data)),
            topic: ROUTER_TOPIC.to_owned(),
            ..gossipsub::Message::default()
        }],
        ..gossipsub::Rpc::default()
    };
    let id = gossipsub::MessageId::new(b"id".to_vec());
    let gossip = gossipsub::Rpc {
        control: Some(gossipsub::ControlMessage {
            ihave: vec![gossipsub::ControlIHave {
                topic: ROUTER_TOPIC.to_owned(),
                message_ids: vec![id.clone()],
            }],
            iwant: vec![gossipsub::ControlIWant {
                message_ids: vec![id.clone()],
            }],
            idontwant: vec![gossipsub::ControlIDontWant {
                message_ids: vec![id],
            }],
            prune: vec![gossipsub::ControlPrune {
                topic: ROUTER_TOPIC.to_owned(),
                peers: Vec::new(),
                backoff: Some(1),
            }],
            ..gossipsub::ControlMessage::default()
        }),
        ..gossipsub::Rpc::default()
    };
    // Step bytes: peer in bits 0-1; 0 send, 1 send and heartbeat unread, 2 send and
    // heartbeat read, 3 the peer leaves and returns; high bits x 100 ms before the heartbeat.
    let session = [
        step(0, frame(&subscribe)),
        step(1, frame(&subscribe)),
        step(0xa2, frame(&subscribe)),
        step(0, frame(&publish(b"\x03accept"))),
        step(1, frame(&publish(b"\x00reject"))),
        step(2, frame(&publish(b"\x02late"))),
        step(0xf8, frame(&gossip)),
        step(0xf5, frame(&gossip)),
        step(0x0f, frame(&gossipsub::Rpc::default())),
    ]
    .concat();
    push(seeds, "gossipsub_router", "session", session);
}

fn request_response(seeds: &mut Vec<Seed>) {
    use hyphae_request_response::{Cbor, Codec, Json, LengthPrefixed};

    use crate::request_response::{Document, MAX_SIZE, ready};

    let document: Document = [
        ("peers".to_owned(), vec![1, 2, 3]),
        ("empty".to_owned(), vec![]),
    ]
    .into_iter()
    .collect();
    let mut wires = Vec::new();
    let mut wire = Vec::new();
    let bytes = LengthPrefixed::<Vec<u8>>::new();
    ready(bytes.write_request(&mut wire, b"hello".to_vec(), MAX_SIZE)).expect("writes");
    wires.push(("bytes", 0, wire));
    let mut wire = Vec::new();
    let json = Json::<Document, Document>::default();
    ready(json.write_response(&mut wire, document.clone(), MAX_SIZE)).expect("writes");
    wires.push(("json", 3, wire));
    let mut wire = Vec::new();
    let cbor = Cbor::<Document, Document>::default();
    ready(cbor.write_request(&mut wire, document, MAX_SIZE)).expect("writes");
    wires.push(("cbor", 4, wire));
    // The first byte: bit 0 response, the rest picks the codec (0 bytes, 1 JSON, 2 CBOR).
    for (name, control, wire) in wires {
        push(
            seeds,
            "request_response",
            name,
            with_control(control, &wire),
        );
    }
}
