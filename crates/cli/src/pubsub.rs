//! `hyphae pubsub`: subscribe to a gossipsub topic and print its messages, or publish one
//! message and exit.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use hyphae::gossipsub::{Gossipsub, Handle, Received};
use hyphae::{Multiaddr, Node};

/// Arguments of `hyphae pubsub`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// A peer to connect to, as a multiaddr ending in /p2p/<peer id>; may be repeated. It
    /// must be subscribed to the topic itself (`hyphae node --topic`, or another `hyphae
    /// pubsub subscribe`) to relay its messages.
    #[arg(long, value_name = "MULTIADDR")]
    bootstrap: Vec<Multiaddr>,
    /// Address to listen on; may be repeated. The addresses are printed on stderr.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<Multiaddr>,
    /// Key file to use as the node's identity (created if missing).
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    #[command(subcommand)]
    operation: Operation,
}

#[derive(clap::Subcommand)]
enum Operation {
    /// Print each message of a topic as one line (its data as text, line breaks escaped)
    /// until Ctrl-C; the number of mesh peers is printed on stderr as it changes.
    Subscribe {
        /// The topic.
        topic: String,
        /// Start each line with the message's author and a space.
        #[arg(long)]
        show_author: bool,
    },
    /// Publish one message once a peer subscribed to the topic is known, and exit once it
    /// has been sent.
    Publish {
        /// The topic.
        topic: String,
        /// The message, as text.
        message: String,
        /// Give up if no subscribed peer is known within this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
}

pub(crate) async fn run(args: Args) -> anyhow::Result<()> {
    let mut builder = Node::builder().service(Gossipsub::default());
    if let Some(path) = &args.key {
        builder = builder.keypair(crate::id::load_or_create(path, None)?);
    }
    for addr in &args.listen {
        builder = builder.listen(addr.clone());
    }
    let node = builder.start().await?;
    for addr in node.listen_addrs() {
        eprintln!("Listening on {addr}");
    }
    let gossip = node
        .service::<Gossipsub>()
        .context("the gossipsub service is not running")?;
    for addr in &args.bootstrap {
        node.dial(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
    }
    let result = match args.operation {
        Operation::Subscribe { topic, show_author } => subscribe(&gossip, topic, show_author).await,
        Operation::Publish {
            topic,
            message,
            timeout,
        } => publish(&gossip, topic, message, Duration::from_secs(timeout)).await,
    };
    node.shutdown().await;
    result
}

async fn subscribe(gossip: &Handle, topic: String, show_author: bool) -> anyhow::Result<()> {
    let mut subscription = gossip.subscribe(topic.clone()).await?;
    let mut mesh_len = 0;
    loop {
        let mesh_changed = gossip.wait_for(
            |handle| {
                let topic = topic.clone();
                async move { handle.mesh_peers(topic).await.len() }
            },
            |len| *len != mesh_len,
        );
        tokio::select! {
            received = subscription.next() => match received {
                Some(received) => println!("{}", line(&received, show_author)),
                None => bail!("the gossipsub service stopped"),
            },
            len = mesh_changed => {
                // On stderr, so that stdout holds messages only.
                eprintln!("Mesh peers: {len}");
                mesh_len = len;
            }
            interrupted = tokio::signal::ctrl_c() => return Ok(interrupted?),
        }
    }
}

/// A message as one line of text.
fn line(received: &Received, show_author: bool) -> String {
    let text = String::from_utf8_lossy(received.data())
        .replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    match (show_author, received.author()) {
        (true, Some(author)) => format!("{author} {text}"),
        (true, None) => format!("anonymous {text}"),
        (false, _) => text,
    }
}

async fn publish(
    gossip: &Handle,
    topic: String,
    message: String,
    timeout: Duration,
) -> anyhow::Result<()> {
    let subscribed = |handle: Handle| {
        let topic = topic.clone();
        async move { handle.topic_peers(topic).await }
    };
    let peers = tokio::time::timeout(
        timeout,
        gossip.wait_for(subscribed, |peers| !peers.is_empty()),
    )
    .await
    .map_err(|_| {
        anyhow::anyhow!(
            "no peer subscribed to {topic:?} within {} s",
            timeout.as_secs()
        )
    })?;
    if peers.is_empty() {
        bail!("the gossipsub service stopped");
    }
    gossip.publish(topic, message).await?;
    // The message is queued; it is sent once every byte left for the peers' streams.
    let sent = gossip.wait_for(
        |handle| async move { handle.stats().await },
        |stats| stats.unsent_bytes == 0,
    );
    tokio::time::timeout(timeout, sent)
        .await
        .context("the message could not be sent in time")?;
    Ok(())
}
