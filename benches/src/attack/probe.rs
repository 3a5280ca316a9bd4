//! The honest peer: a fresh hyphae node from 127.0.0.1 that connects, is identified and
//! pings, within a deadline. One attempt per second during an attack tells whether the node
//! still serves the peers it exists for.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use hyphae::identify::{Event, Identify};
use hyphae::{Multiaddr, Node};
use tokio::task::JoinSet;

/// Time one attempt may take, from the dial to the ping's answer.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// One honest connection to `addr` (ending in `/p2p/<peer>`): dial, wait for the node's
/// identify answer, ping. Returns the time it all took; fails past [`DEADLINE`].
pub async fn probe(addr: &Multiaddr) -> anyhow::Result<Duration> {
    let start = Instant::now();
    // A fresh identity each time: a new peer arriving, not a known one coming back.
    let node = Node::builder().start().await?;
    let outcome = tokio::time::timeout(DEADLINE, served(&node, addr)).await;
    node.shutdown().await;
    outcome.context("deadline passed")??;
    Ok(start.elapsed())
}

async fn served(node: &Node, addr: &Multiaddr) -> anyhow::Result<()> {
    let mut identified = node
        .service::<Identify>()
        .context("no identify service")?
        .events();
    let peer = node.dial(addr).await.context("dialling")?;
    loop {
        match identified.recv().await.context("waiting for identify")? {
            Event::Received { peer: from, .. } if from == peer => break,
            _ => {}
        }
    }
    node.ping(peer).await.context("pinging")?;
    Ok(())
}

/// What the honest peer saw over a stretch of attempts.
#[derive(Debug, Default, Clone)]
pub struct Served {
    /// Attempts made.
    pub attempts: u32,
    /// Attempts that completed within the deadline.
    pub successes: u32,
    /// The slowest attempt (a failed one counts as the deadline).
    pub worst: Duration,
    /// The first failure's reason, to show in the run's log.
    pub first_error: Option<String>,
}

/// Probes `addr` once a second until dropped or `stop` resolves, then waits for the
/// attempts still running (each ends by its deadline) and reports them all.
pub async fn every_second(addr: Multiaddr, stop: impl std::future::Future<Output = ()>) -> Served {
    let mut attempts = JoinSet::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            _ = ticks.tick() => {
                let addr = addr.clone();
                attempts.spawn(async move { probe(&addr).await });
            }
        }
    }
    let mut served = Served::default();
    while let Some(outcome) = attempts.join_next().await {
        served.attempts += 1;
        match outcome
            .map_err(anyhow::Error::from)
            .and_then(|outcome| outcome)
        {
            Ok(elapsed) => {
                served.successes += 1;
                served.worst = served.worst.max(elapsed);
            }
            Err(error) => {
                served.worst = served.worst.max(DEADLINE);
                served
                    .first_error
                    .get_or_insert_with(|| format!("{error:#}"));
            }
        }
    }
    served
}

/// Probes until one attempt succeeds, at most `tries` times; fails with the last error.
pub async fn until_served(addr: &Multiaddr, tries: u32) -> anyhow::Result<Duration> {
    let mut last = None;
    for _ in 0..tries {
        match probe(addr).await {
            Ok(elapsed) => return Ok(elapsed),
            Err(error) => last = Some(error),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    match last {
        Some(error) => Err(error),
        None => bail!("no attempt made"),
    }
}
