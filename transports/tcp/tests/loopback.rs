//! Listening and dialling over real loopback sockets.

use hyphae_multiaddr::Multiaddr;
use hyphae_tcp::{Config, Error, Listener, dial};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn addr(text: &str) -> Multiaddr {
    text.parse().unwrap()
}

async fn echo_once(listener: Listener) {
    let (mut stream, _) = listener.accept().await.unwrap();
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).await.unwrap();
    stream.write_all(&buf).await.unwrap();
}

async fn round_trip(target: &Multiaddr) {
    let mut stream = dial(target, &Config::default()).await.unwrap();
    assert!(stream.nodelay().unwrap());
    stream.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello");
}

#[tokio::test]
async fn port_zero_reports_the_real_port_and_accepts_ipv4() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0"), &Config::default()).unwrap();
    assert_ne!(listener.local_addr().port(), 0);
    let listen_addrs = listener.listen_addrs();
    assert_eq!(listen_addrs.len(), 1);
    let target = listen_addrs[0].clone();
    let server = tokio::spawn(echo_once(listener));
    round_trip(&target).await;
    server.await.unwrap();
}

/// Both ends get the configured TCP_NOTSENT_LOWAT; with `None` the socket keeps 0, which
/// means the system-wide `net.ipv4.tcp_notsent_lowat` (unlimited by default).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn both_ends_limit_unsent_bytes_as_configured() {
    let lowat = |stream: &tokio::net::TcpStream| {
        socket2::SockRef::from(stream).tcp_notsent_lowat().unwrap()
    };
    for (setting, expected) in [(Some(64 * 1024), 64 * 1024), (None, 0)] {
        let config = Config {
            notsent_lowat: setting,
            ..Config::default()
        };
        let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0"), &config).unwrap();
        let target = listener.listen_addrs()[0].clone();
        let (dialed, accepted) = tokio::join!(dial(&target, &config), listener.accept());
        assert_eq!(lowat(&dialed.unwrap()), expected);
        assert_eq!(lowat(&accepted.unwrap().0), expected);
    }
    assert_eq!(Config::default().notsent_lowat, Some(128 * 1024));
}

#[tokio::test]
async fn accepts_ipv6() {
    let Ok(listener) = Listener::bind(&addr("/ip6/::1/tcp/0"), &Config::default()) else {
        // Hosts without an IPv6 loopback cannot run this test; the bind error is the check.
        assert!(std::net::TcpListener::bind("[::1]:0").is_err());
        return;
    };
    let target = listener.listen_addrs()[0].clone();
    assert!(target.to_string().starts_with("/ip6/::1/tcp/"));
    let server = tokio::spawn(echo_once(listener));
    round_trip(&target).await;
    server.await.unwrap();
}

#[tokio::test]
async fn dials_dns_names() {
    let listener = Listener::bind(&addr("/ip4/127.0.0.1/tcp/0"), &Config::default()).unwrap();
    let port = listener.local_addr().port();
    let server = tokio::spawn(echo_once(listener));
    round_trip(&addr(&format!("/dns4/localhost/tcp/{port}"))).await;
    server.await.unwrap();
}

#[tokio::test]
async fn unspecified_listen_address_expands_to_interfaces() {
    let listener = Listener::bind(&addr("/ip4/0.0.0.0/tcp/0"), &Config::default()).unwrap();
    let port = listener.local_addr().port();
    let addrs = listener.listen_addrs();
    assert!(
        addrs.contains(&addr(&format!("/ip4/127.0.0.1/tcp/{port}"))),
        "{addrs:?}"
    );
}

#[tokio::test]
async fn refused_connection_is_an_io_error_naming_the_address() {
    // Bind then drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let target = addr(&format!("/ip4/127.0.0.1/tcp/{port}"));
    let error = dial(&target, &Config::default()).await.unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error}");
    assert!(error.to_string().contains(&target.to_string()));
}
