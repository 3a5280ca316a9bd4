//! [`Handle`]: how users run DHT operations; each call is a command to the service's driver.

use hyphae_identity::PeerId;
use hyphae_multiaddr::Multiaddr;
use tokio::sync::{mpsc, oneshot};

use crate::event::{Outcome, PeerAddrs};
use crate::results::{Providers, QueryResults, Records, Update};
use crate::service::ModeSetting;
use crate::{Error, LookupStats, Mode};

/// Commands waiting for the driver; a full queue makes callers wait.
pub(crate) const COMMAND_QUEUE: usize = 64;

/// Commands from handles to the driver.
pub(crate) enum Command {
    Bootstrap(mpsc::UnboundedSender<Update>),
    Closest(Vec<u8>, mpsc::UnboundedSender<Update>),
    FindPeer(PeerId, mpsc::UnboundedSender<Update>),
    GetValue(Vec<u8>, mpsc::UnboundedSender<Update>),
    PutValue(Vec<u8>, Vec<u8>, mpsc::UnboundedSender<Update>),
    Provide(Vec<u8>, mpsc::UnboundedSender<Update>),
    StopProviding(Vec<u8>),
    FindProviders(Vec<u8>, usize, mpsc::UnboundedSender<Update>),
    AddPeer(PeerId, Vec<Multiaddr>),
    SetMode(ModeSetting),
    Mode(oneshot::Sender<Mode>),
    Peers(oneshot::Sender<Vec<PeerAddrs>>),
}

/// Runs DHT operations; from `Node::service::<Kademlia>()`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: mpsc::Sender<Command>,
}

impl Handle {
    pub(crate) fn new(commands: mpsc::Sender<Command>) -> Handle {
        Handle { commands }
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl Handle {
    async fn query(
        &self,
        command: impl FnOnce(mpsc::UnboundedSender<Update>) -> Command,
    ) -> QueryResults {
        let (sender, receiver) = mpsc::unbounded_channel();
        // If the driver is gone the sender is dropped with the command and the results
        // end with `ServiceStopped`.
        let _ = self.commands.send(command(sender)).await;
        QueryResults::new(receiver)
    }

    /// Looks ourselves up and refreshes the routing table; the closest peers to us.
    pub async fn bootstrap(&self) -> Result<Vec<PeerAddrs>, Error> {
        match self.query(Command::Bootstrap).await.finish().await?.0 {
            Outcome::ClosestPeers(peers) => Ok(peers),
            _ => Ok(Vec::new()),
        }
    }

    /// The k closest peers to `key` that answered, nearest first.
    pub async fn get_closest_peers(
        &self,
        key: impl Into<Vec<u8>>,
    ) -> Result<Vec<PeerAddrs>, Error> {
        let key = key.into();
        match self
            .query(|tx| Command::Closest(key, tx))
            .await
            .finish()
            .await?
            .0
        {
            Outcome::ClosestPeers(peers) => Ok(peers),
            _ => Ok(Vec::new()),
        }
    }

    /// [`get_closest_peers`](Handle::get_closest_peers) with the lookup's statistics
    /// (requests, answers, hops), for measurements.
    pub async fn get_closest_peers_with_stats(
        &self,
        key: impl Into<Vec<u8>>,
    ) -> Result<(Vec<PeerAddrs>, LookupStats), Error> {
        let key = key.into();
        match self
            .query(|tx| Command::Closest(key, tx))
            .await
            .finish()
            .await?
        {
            (Outcome::ClosestPeers(peers), stats) => Ok((peers, stats)),
            (_, stats) => Ok((Vec::new(), stats)),
        }
    }

    /// Finds `peer`'s addresses; they also land in the peerstore, so `open_stream` to the
    /// peer works afterwards.
    pub async fn find_peer(&self, peer: PeerId) -> Result<PeerAddrs, Error> {
        match self
            .query(|tx| Command::FindPeer(peer, tx))
            .await
            .finish()
            .await?
            .0
        {
            Outcome::FoundPeer(Some(found)) => Ok(found),
            _ => Err(Error::NotFound),
        }
    }

    /// Finds the records stored under `key`: read them as they arrive, or wait for the best.
    pub async fn get_value(&self, key: impl Into<Vec<u8>>) -> Records {
        let key = key.into();
        Records {
            results: self.query(|tx| Command::GetValue(key, tx)).await,
        }
    }

    /// Stores a record at the k closest peers (and locally); republished until the node
    /// stops. Fails if fewer peers than the put quorum stored it.
    pub async fn put_value(
        &self,
        key: impl Into<Vec<u8>>,
        value: impl Into<Vec<u8>>,
    ) -> Result<usize, Error> {
        let (key, value) = (key.into(), value.into());
        match self
            .query(|tx| Command::PutValue(key, value, tx))
            .await
            .finish()
            .await?
            .0
        {
            Outcome::Stored {
                succeeded,
                quorum_reached: true,
                ..
            } => Ok(succeeded),
            Outcome::Stored { succeeded, .. } => Err(Error::QuorumFailed {
                succeeded,
                quorum: 1.max(succeeded + 1),
            }),
            _ => Err(Error::ServiceStopped),
        }
    }

    /// Announces that this node provides `key`, to the k closest peers; reannounced until
    /// [`stop_providing`](Handle::stop_providing). Returns how many peers accepted it.
    pub async fn provide(&self, key: impl Into<Vec<u8>>) -> Result<usize, Error> {
        let key = key.into();
        match self
            .query(|tx| Command::Provide(key, tx))
            .await
            .finish()
            .await?
            .0
        {
            Outcome::Provided { succeeded, .. } => Ok(succeeded),
            _ => Err(Error::ServiceStopped),
        }
    }

    /// Stops announcing `key`.
    pub async fn stop_providing(&self, key: impl Into<Vec<u8>>) {
        let _ = self.commands.send(Command::StopProviding(key.into())).await;
    }

    /// Finds up to `limit` providers of `key`, each as soon as it is found.
    pub async fn find_providers(&self, key: impl Into<Vec<u8>>, limit: usize) -> Providers {
        let key = key.into();
        Providers {
            results: self
                .query(|tx| Command::FindProviders(key, limit, tx))
                .await,
        }
    }

    /// Adds a peer to the routing table without checking it (a known bootstrap peer).
    pub async fn add_peer(&self, peer: PeerId, addrs: Vec<Multiaddr>) {
        let _ = self.commands.send(Command::AddPeer(peer, addrs)).await;
    }

    /// The mode the DHT runs in now.
    pub async fn current_mode(&self) -> Result<Mode, Error> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Mode(reply))
            .await
            .map_err(|_| Error::ServiceStopped)?;
        answer.await.map_err(|_| Error::ServiceStopped)
    }

    /// Changes how the mode is chosen.
    pub async fn set_mode(&self, mode: ModeSetting) {
        let _ = self.commands.send(Command::SetMode(mode)).await;
    }

    /// The peers in the routing table.
    pub async fn routing_table(&self) -> Result<Vec<PeerAddrs>, Error> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Peers(reply))
            .await
            .map_err(|_| Error::ServiceStopped)?;
        answer.await.map_err(|_| Error::ServiceStopped)
    }
}
