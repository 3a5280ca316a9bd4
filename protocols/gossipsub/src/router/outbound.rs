//! Queueing RPCs for peers, within each peer's bound.

use std::hash::Hash;

use super::Router;
use crate::{ControlMessage, Rpc};

impl<P: Clone + Eq + Hash + Ord> Router<P> {
    /// Queues `rpc` for `peer`, or drops and counts it if the peer's queue is full (a peer
    /// that does not read must not grow our memory) or the peer is gone.
    ///
    /// RPCs carrying messages may fill only three quarters of the queue; the last quarter is
    /// kept for RPCs of subscriptions and control alone. A lost message can still arrive by
    /// gossip, but a lost GRAFT or PRUNE leaves two meshes disagreeing until a heartbeat.
    pub(crate) fn send(&mut self, peer: &P, rpc: Rpc) {
        let Some(state) = self.peers.get_mut(peer) else {
            return;
        };
        let max = self.config.max_queued_rpcs_per_peer;
        let limit = if rpc.publish.is_empty() {
            max
        } else {
            (max - max / 4).max(1)
        };
        if state.queued >= limit {
            self.dropped_rpcs += 1;
            return;
        }
        state.queued += 1;
        self.outbound.push_back((peer.clone(), rpc));
    }

    /// Queues the control messages of `control` for `peer`, if any and if it speaks
    /// gossipsub.
    pub(crate) fn send_control(&mut self, peer: &P, control: ControlMessage) {
        if control.is_empty() {
            return;
        }
        let is_gossipsub = self
            .peers
            .get(peer)
            .is_some_and(|state| state.protocol.is_gossipsub());
        if is_gossipsub {
            self.send(
                peer,
                Rpc {
                    control: Some(control),
                    ..Rpc::default()
                },
            );
        }
    }
}
