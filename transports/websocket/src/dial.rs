use hyphae_multiaddr::Multiaddr;
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::address::dial_target;
use crate::{Config, Error, Socket, WsStream, upgrade_client};

/// Connects to a WebSocket multiaddr (`…/tcp/<port>/ws`, `/wss`, `/tls/ws`,
/// `/tls/sni/<name>/ws`, optionally with `/http-path/<path>` and `/p2p/<id>`). Without
/// `/tcp/<port>` the port is 80, or 443 with TLS.
///
/// The TCP connection is made by hyphae-tcp (with its dial timeout); TLS, verified against
/// [`crate::TlsConfig::client`] for the `/sni/` name, else the `/dns*` name, else the IP
/// address, and the HTTP upgrade then share [`Config::handshake_timeout`]. A trailing
/// `/p2p/<id>` is ignored here: checking the peer's identity is the security upgrade's job.
///
/// ```no_run
/// # async fn example() -> Result<(), hyphae_websocket::Error> {
/// use tokio::io::AsyncWriteExt;
///
/// let addr = "/dns4/relay.example.com/tcp/443/wss".parse().expect("valid multiaddr");
/// let mut stream = hyphae_websocket::dial(&addr, &hyphae_websocket::Config::default()).await?;
/// stream.write_all(b"bytes, sent as one binary message").await.ok();
/// # Ok(())
/// # }
/// ```
pub async fn dial(addr: &Multiaddr, config: &Config) -> Result<WsStream<Socket>, Error> {
    let target = dial_target(addr)?;
    let tls = match &target.tls_name {
        Some(name) => {
            let server_name = ServerName::try_from(name.clone())
                .map_err(|_| Error::InvalidServerName { name: name.clone() })?;
            Some((server_name, config.tls.client_config()?))
        }
        None => None,
    };
    let tcp = hyphae_tcp::dial(&target.tcp, &config.tcp).await?;
    let upgrade = async {
        let socket = match tls {
            None => Socket::Plain(tcp),
            Some((server_name, client_config)) => {
                let tls = TlsConnector::from(client_config)
                    .connect(server_name, tcp)
                    .await
                    .map_err(Error::Tls)?;
                Socket::Tls(Box::new(tls.into()))
            }
        };
        upgrade_client(socket, &target.host_header, &target.path, config).await
    };
    tokio::time::timeout(config.handshake_timeout, upgrade)
        .await
        .map_err(|_| Error::HandshakeTimeout {
            seconds: config.handshake_timeout.as_secs_f64(),
        })?
}
