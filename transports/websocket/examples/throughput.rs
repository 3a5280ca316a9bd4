//! Rough loopback throughput: raw TCP, `/ws` and `/wss`, one direction, one connection.
//!
//! `cargo run --release -p hyphae-websocket --example throughput [MiB]`. The machine is
//! shared, so compare the numbers of one run with each other, not across runs.

use std::time::Instant;

use hyphae_websocket::{Config, Listener, TlsConfig, dial};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const CHUNK: usize = 64 * 1024;

async fn pump<W: AsyncWrite + Unpin, R: AsyncRead + Unpin + Send + 'static>(
    mut writer: W,
    mut reader: R,
    total: usize,
) -> f64 {
    let start = Instant::now();
    let receiving = tokio::spawn(async move {
        let mut buf = vec![0; CHUNK];
        let mut got = 0;
        while got < total {
            let read = reader.read(&mut buf).await?;
            if read == 0 {
                break;
            }
            got += read;
        }
        Ok::<usize, std::io::Error>(got)
    });
    let data = vec![0x5a; CHUNK];
    let mut sent = 0;
    while sent < total {
        writer
            .write_all(&data)
            .await
            .map_err(|e| e.to_string())
            .ok();
        sent += CHUNK;
    }
    writer.flush().await.ok();
    let got = receiving.await.ok().and_then(Result::ok).unwrap_or(0);
    assert_eq!(got, total, "receiver ended early");
    total as f64 / (1024.0 * 1024.0) / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let mib: usize = std::env::args()
        .nth(1)
        .map(|arg| arg.parse())
        .transpose()?
        .unwrap_or(512);
    let total = mib * 1024 * 1024;

    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = tcp.local_addr()?.port();
    let accepting = tokio::spawn(async move { tcp.accept().await.map(|(s, _)| s) });
    let client = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    client.set_nodelay(true)?;
    let server = accepting.await??;
    println!("raw TCP: {:>8.0} MiB/s", pump(client, server, total).await);

    let config = Config::default();
    let listener = Listener::bind(&"/ip4/127.0.0.1/tcp/0/ws".parse()?, &config)?;
    let target = listener.listen_addrs()[0].clone();
    let client = dial(&target, &config).await?;
    let (server, _) = listener.accept().await?;
    println!(
        "ws client->server: {:>8.0} MiB/s",
        pump(client, server, total).await
    );
    let client = dial(&target, &config).await?;
    let (server, _) = listener.accept().await?;
    println!(
        "ws server->client: {:>8.0} MiB/s",
        pump(server, client, total).await
    );

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()])?;
    let cert = certified.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone())?;
    let config = Config {
        tls: TlsConfig {
            client: Some(TlsConfig::client_with_roots(roots)?),
            server: Some(TlsConfig::server_with_cert(vec![cert], key)?),
        },
        ..Config::default()
    };
    let listener = Listener::bind(&"/ip4/127.0.0.1/tcp/0/wss".parse()?, &config)?;
    let port = listener.local_addr().port();
    let target = format!("/dns4/localhost/tcp/{port}/wss").parse()?;
    let client = dial(&target, &config).await?;
    let (server, _) = listener.accept().await?;
    println!(
        "wss client->server: {:>8.0} MiB/s",
        pump(client, server, total).await
    );
    Ok(())
}
