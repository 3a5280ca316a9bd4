//! Dialling `/dnsaddr` addresses: TXT records of `_dnsaddr.<domain>` served by a fake
//! nameserver on loopback.

use std::net::SocketAddr;

use hyphae::{DnsResolver, Multiaddr, Node};
use tokio::net::UdpSocket;

/// Answers every TXT query with one record per entry of `records`, for as long as the test
/// runs.
async fn nameserver(records: Vec<String>) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buffer = [0; 512];
        loop {
            let (len, from) = socket.recv_from(&mut buffer).await.unwrap();
            let query = &buffer[..len];
            // Header: same id, response + recursion desired/available, one question.
            let mut reply = query[..2].to_vec();
            reply.extend_from_slice(&[0x81, 0x80, 0, 1]);
            reply.extend_from_slice(&(records.len() as u16).to_be_bytes());
            reply.extend_from_slice(&[0, 0, 0, 0]);
            reply.extend_from_slice(&query[12..]); // the question, echoed
            for record in &records {
                // Name: a pointer to the question's; TXT, IN, TTL 60.
                reply.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
                reply.extend_from_slice(&((record.len() + 1) as u16).to_be_bytes());
                reply.push(record.len() as u8);
                reply.extend_from_slice(record.as_bytes());
            }
            socket.send_to(&reply, from).await.unwrap();
        }
    });
    addr
}

async fn client(nameserver: SocketAddr) -> Node {
    Node::builder()
        .dns_resolver(DnsResolver::with_nameservers(vec![nameserver]))
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dials_the_address_a_dnsaddr_resolves_to() {
    let server = Node::builder()
        .listen("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .start()
        .await
        .unwrap();
    let listen = server.listen_addrs()[0].clone();
    let dns = nameserver(vec![
        // Another peer's record, filtered out by the /p2p suffix of the dialled address.
        format!(
            "dnsaddr=/ip4/127.0.0.1/tcp/2/p2p/{}",
            hyphae::PeerId::random()
        ),
        // Nobody listens there: tried, fails, and the next record is dialled.
        format!("dnsaddr=/ip4/127.0.0.1/tcp/1/p2p/{}", server.peer_id()),
        format!("dnsaddr={listen}"),
    ])
    .await;
    let client = client(dns).await;
    let addr: Multiaddr = format!("/dnsaddr/example.test/p2p/{}", server.peer_id())
        .parse()
        .unwrap();
    assert_eq!(client.dial(&addr).await.unwrap(), server.peer_id());
    assert!(client.ping(server.peer_id()).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dnsaddr_that_resolves_to_nothing_fails_clearly() {
    let dns = nameserver(vec!["not-a-dnsaddr-record".to_owned()]).await;
    let client = client(dns).await;
    let error = client
        .dial(&"/dnsaddr/example.test".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("resolved to no address"),
        "{error}"
    );
}
