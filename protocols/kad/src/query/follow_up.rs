//! The follow-up: once the walk has ended, ask the rest of the k closest at once, so that the
//! result is complete without walking further.

use std::time::Instant;

use tracing::debug;

use super::{Lookup, LookupPhase, State};
use crate::Distance;

impl Lookup {
    /// Starts the follow-up: queues every peer among the k closest that have neither failed
    /// nor gone slow and were never asked. The peers heard of beyond them are the reserve.
    pub(super) fn start_follow_up(&mut self, now: Instant) {
        self.phase = LookupPhase::FollowUp;
        self.follow_up_deadline = Some(now + self.config.request_timeout);
        let members: Vec<Distance> = self
            .candidates
            .iter()
            .filter(|(distance, candidate)| match candidate.state {
                State::Failed => false,
                State::Waiting { .. } => self.is_fresh(distance),
                State::Heard | State::Queued | State::Answered => true,
            })
            .take(self.config.k)
            .map(|(distance, _)| *distance)
            .collect();
        for distance in &members {
            self.queue(*distance);
        }
        self.follow_up = members.into_iter().collect();
        self.reserve = self.heard.iter().copied().collect();
        debug!(
            target = ?self.target,
            follow_up = self.queued.len(),
            stats = ?self.stats(),
            "lookup phase over"
        );
    }

    /// Replaces each peer of the follow-up that failed or went slow with the nearest peer of
    /// the reserve that could still make the result, so that dead or made-up peers returned
    /// by others do not push live ones out of the k closest.
    pub(super) fn replace_lost_members(&mut self) {
        let lost: Vec<Distance> = self
            .follow_up
            .iter()
            .copied()
            .filter(
                |distance| match self.candidates.get(distance).map(|c| c.state) {
                    Some(State::Failed) | None => true,
                    Some(State::Waiting { .. }) => !self.is_fresh(distance),
                    Some(State::Heard | State::Queued | State::Answered) => false,
                },
            )
            .collect();
        for distance in lost {
            self.follow_up.remove(&distance);
            while let Some(next) = self.reserve.pop_front() {
                if !self.could_make_the_result(&next) {
                    // The reserve is nearest first: no later peer could either.
                    self.reserve.clear();
                    break;
                }
                if self.queue(next) {
                    self.follow_up.insert(next);
                    break;
                }
            }
        }
    }

    /// Every peer of the follow-up has been asked and has answered, failed or gone slow, or
    /// the follow-up has lasted a request timeout (replacements cannot stretch it further).
    pub(super) fn is_follow_up_over(&self) -> bool {
        let is_late = self
            .follow_up_deadline
            .is_some_and(|deadline| self.now >= deadline);
        is_late
            || (self.queued.is_empty()
                && !self
                    .follow_up
                    .iter()
                    .any(|distance| self.is_fresh(distance)))
    }

    /// Queues the candidate at `distance` for the follow-up if it was never asked.
    fn queue(&mut self, distance: Distance) -> bool {
        match self.candidates.get_mut(&distance) {
            Some(candidate) if candidate.state == State::Heard => {
                candidate.state = State::Queued;
                self.heard.remove(&distance);
                self.queued.insert(distance);
                true
            }
            _ => false,
        }
    }
}
