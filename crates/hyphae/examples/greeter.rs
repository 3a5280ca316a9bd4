//! A service written with the public API only: it greets the peer of every new connection on
//! that connection, prints greetings, counts open connections, and stops with its node.
//! `cargo run -p hyphae-p2p --example greeter`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hyphae::{ConnectionEvent, ConnectionId, Context, Node, Service, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PROTOCOL: &str = "/example/greet/1.0.0";

/// What users install with `Builder::service`.
struct Greeter {
    name: String,
}

/// What `node.service::<Greeter>()` returns.
#[derive(Clone)]
struct Handle {
    open_connections: Arc<AtomicUsize>,
}

impl Service for Greeter {
    type Handle = Handle;

    fn start(self, cx: Context) -> Handle {
        let open_connections = Arc::new(AtomicUsize::new(0));
        let handle = Handle { open_connections };
        // Inbound greetings: at most 16 wait; more are reset.
        let mut incoming = cx.accept(PROTOCOL, 16);
        cx.spawn(async move {
            while let Some(stream) = incoming.next().await {
                tokio::spawn(print_greeting(stream));
            }
        });
        // Every connection, opened or closed; greet each new one on that very connection.
        let mut connections = cx.connections(64);
        let (open, greeter) = (handle.open_connections.clone(), cx.clone());
        cx.spawn(async move {
            while let Some(event) = connections.next().await {
                match event {
                    ConnectionEvent::Established(info) => {
                        open.fetch_add(1, Ordering::Relaxed);
                        greeter.spawn(greet(greeter.clone(), info.id, self.name.clone()));
                    }
                    ConnectionEvent::Closed(_) => _ = open.fetch_sub(1, Ordering::Relaxed),
                    ConnectionEvent::Resync(now) => open.store(now.len(), Ordering::Relaxed),
                    _ => {}
                }
            }
        });
        handle
    }
}

/// Greets the peer of connection `id`, on that connection (never dialling).
async fn greet(cx: Context, id: ConnectionId, name: String) {
    if let Ok(mut stream) = cx.open_stream_on(id, PROTOCOL).await {
        let _ = stream
            .write_all(format!("hello from {name}").as_bytes())
            .await;
        let _ = stream.shutdown().await;
    }
}

async fn print_greeting(mut stream: Stream) {
    let mut greeting = String::new();
    let _ = stream.read_to_string(&mut greeting).await;
    println!("{} says: {greeting}", stream.peer());
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), hyphae::Error> {
    let alice = Node::builder()
        .listen("/memory/0".parse().expect("a memory address"))
        .service(Greeter {
            name: "alice".into(),
        })
        .start()
        .await?;
    let bob = Node::builder()
        .service(Greeter { name: "bob".into() })
        .start()
        .await?;
    bob.dial(&alice.listen_addrs()[0]).await?;
    // Let the greetings cross (a real application would await its own event instead).
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let greeter = bob.service::<Greeter>().expect("installed");
    let open = greeter.open_connections.load(Ordering::Relaxed);
    println!("bob has {open} open connection(s)");
    bob.shutdown().await;
    alice.shutdown().await;
    Ok(())
}
