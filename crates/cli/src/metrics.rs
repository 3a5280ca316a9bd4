//! `hyphae node --metrics <ADDR>`: the node's metrics at `GET /metrics`, in Prometheus'
//! text format, for a Prometheus server to scrape.
//!
//! The smallest HTTP/1.1 server that serves this: one request per connection, a request
//! head of at most 8 KiB read within 5 s, and `Connection: close`.

use std::net::SocketAddr;
use std::time::Duration;

use hyphae::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

/// Longest request head read.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds `addr`; returns the bound address and the task serving it until the node stops.
pub(crate) async fn serve(addr: SocketAddr, node: Node) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let node = node.clone();
            tokio::spawn(async move {
                if let Err(error) = answer(socket, &node).await {
                    debug!(%error, "metrics request failed");
                }
            });
        }
    });
    Ok(bound)
}

/// Reads one request and answers it.
async fn answer(mut socket: TcpStream, node: &Node) -> std::io::Result<()> {
    let head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut socket))
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)??;
    let request_line = head.lines().next().unwrap_or_default();
    let (status, body) = match request_line.split(' ').take(2).collect::<Vec<_>>()[..] {
        ["GET", "/metrics"] => ("200 OK", node.metrics()),
        ["GET", _] => ("404 Not Found", "try /metrics\n".to_owned()),
        _ => ("405 Method Not Allowed", String::new()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(response.as_bytes()).await?;
    socket.shutdown().await
}

/// The request head, up to its blank line, as text (lossy).
async fn read_head(socket: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}
