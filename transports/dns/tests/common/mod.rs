//! A fake DNS server for the tests: answers TXT queries on 127.0.0.1 over UDP and TCP
//! (same port) from a fixed zone, with hand-built responses.

// Each test binary uses a part of this module.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

/// How the server answers one name.
#[derive(Debug, Clone)]
pub enum Answer {
    /// TXT records, each a list of character-strings.
    Txt(Vec<Vec<String>>),
    /// A CNAME record first, then these TXT records (as a resolver that followed it).
    CnameThenTxt(Vec<Vec<String>>),
    /// Over UDP: an empty answer with the TC bit; over TCP: these records.
    Truncated(Vec<Vec<String>>),
    /// Over UDP: first a response with another id, then the real one.
    WrongIdFirst(Vec<Vec<String>>),
    /// RCODE 3.
    NxDomain,
    /// RCODE 2.
    ServFail,
    /// No answer at all.
    Silent,
}

/// TXT records of one string each.
pub fn txt(records: &[&str]) -> Answer {
    Answer::Txt(
        records
            .iter()
            .map(|record| vec![(*record).to_owned()])
            .collect(),
    )
}

/// A running fake server; stops when dropped.
pub struct FakeServer {
    pub addr: SocketAddr,
    udp_queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl FakeServer {
    /// Serves `zone` (lower-case names without the trailing dot); other names are NXDOMAIN.
    pub async fn start(zone: HashMap<String, Answer>) -> FakeServer {
        let zone = Arc::new(zone);
        let (udp, tcp) = bind_same_port().await;
        let addr = udp.local_addr().unwrap();
        let udp_queries = Arc::new(AtomicUsize::new(0));
        let tcp_queries = Arc::new(AtomicUsize::new(0));
        let udp_task = tokio::spawn(serve_udp(udp, zone.clone(), udp_queries.clone()));
        let tcp_task = tokio::spawn(serve_tcp(tcp, zone, tcp_queries.clone()));
        FakeServer {
            addr,
            udp_queries,
            tcp_queries,
            tasks: vec![udp_task, tcp_task],
        }
    }

    /// A server that never answers.
    pub async fn silent() -> FakeServer {
        // "*" is the catch-all entry `respond` falls back to.
        let mut zone = HashMap::new();
        zone.insert("*".to_owned(), Answer::Silent);
        FakeServer::start(zone).await
    }

    /// Queries received over UDP (retries included).
    pub fn udp_queries(&self) -> usize {
        self.udp_queries.load(Ordering::SeqCst)
    }

    /// Queries received over TCP.
    pub fn tcp_queries(&self) -> usize {
        self.tcp_queries.load(Ordering::SeqCst)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn bind_same_port() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP");
}

async fn serve_udp(socket: UdpSocket, zone: Arc<HashMap<String, Answer>>, count: Arc<AtomicUsize>) {
    let mut buffer = vec![0; 65_535];
    loop {
        let Ok((length, peer)) = socket.recv_from(&mut buffer).await else {
            return;
        };
        count.fetch_add(1, Ordering::SeqCst);
        let query = &buffer[..length];
        for response in respond(query, &zone, false) {
            let _ = socket.send_to(&response, peer).await;
        }
    }
}

async fn serve_tcp(
    listener: TcpListener,
    zone: Arc<HashMap<String, Answer>>,
    count: Arc<AtomicUsize>,
) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        count.fetch_add(1, Ordering::SeqCst);
        let zone = zone.clone();
        tokio::spawn(async move {
            let mut length = [0; 2];
            stream.read_exact(&mut length).await.unwrap();
            let mut query = vec![0; usize::from(u16::from_be_bytes(length))];
            stream.read_exact(&mut query).await.unwrap();
            for response in respond(&query, &zone, true) {
                let mut framed = (response.len() as u16).to_be_bytes().to_vec();
                framed.extend(response);
                stream.write_all(&framed).await.unwrap();
            }
        });
    }
}

/// The responses to send to `query`, built by hand.
fn respond(query: &[u8], zone: &HashMap<String, Answer>, is_tcp: bool) -> Vec<Vec<u8>> {
    let id = u16::from_be_bytes([query[0], query[1]]);
    // Read the question name (queries are never compressed).
    let mut position = 12;
    let mut labels = Vec::new();
    while query[position] != 0 {
        let length = usize::from(query[position]);
        labels
            .push(String::from_utf8(query[position + 1..position + 1 + length].to_vec()).unwrap());
        position += 1 + length;
    }
    let question = &query[12..position + 5];
    assert_eq!(
        &query[position + 1..position + 5],
        [0, 16, 0, 1],
        "a TXT IN question"
    );
    assert_eq!(query[2] & 0x01, 0x01, "RD set");
    let name = labels.join(".").to_ascii_lowercase();
    let answer = zone
        .get(&name)
        .or_else(|| zone.get("*"))
        .cloned()
        .unwrap_or(Answer::NxDomain);
    let build = |id: u16, flags: u16, records: &[Vec<u8>]| {
        let mut message = Vec::new();
        for field in [id, flags, 1, records.len() as u16, 0, 0] {
            message.extend(field.to_be_bytes());
        }
        message.extend(question);
        for record in records {
            message.extend(record);
        }
        message
    };
    let txt_records = |records: &[Vec<String>]| -> Vec<Vec<u8>> {
        records
            .iter()
            .map(|strings| {
                let mut data = Vec::new();
                for string in strings {
                    data.push(string.len() as u8);
                    data.extend(string.as_bytes());
                }
                record(16, &data)
            })
            .collect()
    };
    match answer {
        Answer::Txt(records) => vec![build(id, 0x8180, &txt_records(&records))],
        Answer::CnameThenTxt(records) => {
            let mut all = vec![record(5, b"\x05other\xc0\x0c")];
            all.extend(txt_records(&records));
            vec![build(id, 0x8180, &all)]
        }
        Answer::Truncated(records) if is_tcp => vec![build(id, 0x8180, &txt_records(&records))],
        Answer::Truncated(_) => vec![build(id, 0x8380, &[])],
        Answer::WrongIdFirst(records) => vec![
            build(id.wrapping_add(1), 0x8180, &[]),
            build(id, 0x8180, &txt_records(&records)),
        ],
        Answer::NxDomain => vec![build(id, 0x8183, &[])],
        Answer::ServFail => vec![build(id, 0x8182, &[])],
        Answer::Silent => Vec::new(),
    }
}

/// A record owned by a pointer to the question name (offset 12).
fn record(kind: u16, data: &[u8]) -> Vec<u8> {
    let mut record = vec![0xc0, 12];
    record.extend(kind.to_be_bytes());
    record.extend(1u16.to_be_bytes());
    record.extend(60u32.to_be_bytes());
    record.extend((data.len() as u16).to_be_bytes());
    record.extend(data);
    record
}

/// A zone from (name, answer) pairs.
pub fn zone(entries: impl IntoIterator<Item = (&'static str, Answer)>) -> HashMap<String, Answer> {
    entries
        .into_iter()
        .map(|(name, answer)| (name.to_owned(), answer))
        .collect()
}
