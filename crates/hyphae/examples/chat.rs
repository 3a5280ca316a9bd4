//! A chat room over gossipsub for people on one network.
//!
//! The first person starts it and shares one of the addresses it prints:
//!
//! ```text
//! cargo run -p hyphae-p2p --example chat -- --name alice
//! Listening on /ip4/192.168.1.20/tcp/40123/p2p/12D3KooW...
//! ```
//!
//! Everyone else joins through that address (or through anyone already in the room):
//!
//! ```text
//! cargo run -p hyphae-p2p --example chat -- --name bob --dial /ip4/192.168.1.20/tcp/40123/p2p/12D3KooW...
//! ```
//!
//! Each line typed is sent to the room; what others send is printed as `name: text`.

use std::time::Duration;

use hyphae::gossipsub::{Config, Gossipsub, Handle};
use hyphae::{Multiaddr, Node};
use tokio::io::{AsyncBufReadExt, BufReader};

const ROOM: &str = "hyphae-chat";

struct Args {
    name: String,
    dial: Vec<Multiaddr>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        name: String::from("anonymous"),
        dial: Vec::new(),
    };
    let mut words = std::env::args().skip(1);
    while let Some(word) = words.next() {
        let value = words.next().ok_or(format!("{word} needs a value"))?;
        match word.as_str() {
            "--name" => args.name = value,
            "--dial" => args
                .dial
                .push(value.parse().map_err(|e| format!("{value}: {e}"))?),
            _ => {
                return Err(format!(
                    "unknown option {word}; use --name NAME --dial ADDR"
                ));
            }
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    // Meshes form at heartbeats: a short one makes a new room usable sooner.
    let config = Config {
        heartbeat_interval: Duration::from_millis(500),
        ..Config::default()
    };
    let node = Node::builder()
        .listen("/ip4/0.0.0.0/tcp/0".parse()?)
        .service(Gossipsub::new(config))
        .start()
        .await?;
    for addr in node.listen_addrs() {
        println!("Listening on {addr}");
    }
    for addr in &args.dial {
        node.dial(addr).await?;
    }
    let gossip = node
        .service::<Gossipsub>()
        .ok_or("gossipsub is not running")?;
    let mut room = gossip.subscribe(ROOM).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut people = 0;
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(text) if !text.trim().is_empty() => send(&gossip, &args.name, &text).await,
                Some(_) => {}
                None => break,
            },
            received = room.next() => match received {
                Some(received) => println!("{}", String::from_utf8_lossy(received.data())),
                None => break,
            },
            count = others_in_room(&gossip, people) => {
                people = count;
                println!("({people} peers in the room connected to you)");
            }
        }
    }
    node.shutdown().await;
    Ok(())
}

async fn send(gossip: &Handle, name: &str, text: &str) {
    if let Err(error) = gossip.publish(ROOM, format!("{name}: {text}")).await {
        println!("(not sent: {error})");
    }
}

/// Waits until the number of peers in the room differs from `known`.
async fn others_in_room(gossip: &Handle, known: usize) -> usize {
    gossip
        .wait_for(
            |handle| async move { handle.topic_peers(ROOM).await.len() },
            |count| *count != known,
        )
        .await
}
