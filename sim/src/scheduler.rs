//! The discrete-event scheduler: a queue of events in virtual time.
//!
//! Virtual time is an offset from one base [`Instant`] (the protocol cores take `Instant`s),
//! kept as whole nanoseconds so that ordering never depends on float rounding. Events at the
//! same instant come out in the order they were scheduled: the queue orders by
//! `(time, sequence)`, which is what makes a run reproducible.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// A point in virtual time: nanoseconds since the simulation's base instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(pub u64);

impl Time {
    /// The start of the simulation.
    pub const ZERO: Time = Time(0);

    /// `self` plus `duration` (saturating).
    pub fn after(self, duration: Duration) -> Time {
        let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
        Time(self.0.saturating_add(nanos))
    }

    /// The time elapsed since the start.
    pub fn since_start(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// Milliseconds since the start, for reports.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

struct Scheduled<E> {
    at: Time,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.sequence) == (other.at, other.sequence)
    }
}

impl<E> Eq for Scheduled<E> {}

impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Scheduled<E> {
    /// Reversed, so that the max-heap pops the earliest event (and, at one instant, the
    /// first scheduled).
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

/// Events of type `E` waiting for their time, earliest first, ties in scheduling order.
///
/// ```
/// use std::time::{Duration, Instant};
/// use hyphae_sim::scheduler::Scheduler;
///
/// let mut queue = Scheduler::new(Instant::now());
/// queue.schedule_in(Duration::from_millis(5), "late");
/// queue.schedule_in(Duration::from_millis(1), "early");
/// queue.schedule_in(Duration::from_millis(1), "early too");
/// let order: Vec<_> = std::iter::from_fn(|| queue.pop().map(|(_, e)| e)).collect();
/// assert_eq!(order, ["early", "early too", "late"]);
/// assert_eq!(queue.now().since_start(), Duration::from_millis(5));
/// ```
pub struct Scheduler<E> {
    base: Instant,
    now: Time,
    next_sequence: u64,
    heap: BinaryHeap<Scheduled<E>>,
}

impl<E> Scheduler<E> {
    /// An empty queue whose virtual time starts at `base`.
    pub fn new(base: Instant) -> Scheduler<E> {
        Scheduler {
            base,
            now: Time::ZERO,
            next_sequence: 0,
            heap: BinaryHeap::new(),
        }
    }

    /// The current virtual time: that of the last event popped.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The current virtual time as the `Instant` the protocol cores are given.
    pub fn now_instant(&self) -> Instant {
        self.instant(self.now)
    }

    /// The `Instant` of a virtual time.
    pub fn instant(&self, at: Time) -> Instant {
        self.base + at.since_start()
    }

    /// The virtual time of an `Instant` (instants before the base count as the base).
    pub fn time_of(&self, instant: Instant) -> Time {
        Time::ZERO.after(instant.saturating_duration_since(self.base))
    }

    /// Schedules `event` at `at`; a time in the past is taken as now (time never goes back).
    pub fn schedule(&mut self, at: Time, event: E) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.heap.push(Scheduled {
            at: at.max(self.now),
            sequence,
            event,
        });
    }

    /// Schedules `event` `delay` after now.
    pub fn schedule_in(&mut self, delay: Duration, event: E) {
        self.schedule(self.now.after(delay), event);
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|scheduled| scheduled.at)
    }

    /// Takes the next event and advances the clock to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let scheduled = self.heap.pop()?;
        self.now = scheduled.at;
        Some((scheduled.at, scheduled.event))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}
