//! What happens to one packet on one direction of the link: lost, dropped at a full queue, or
//! delivered at a computed instant. No I/O, no clock, no randomness of its own: the caller
//! passes `now` and a uniform draw, so the timing model is tested with virtual time.

use std::time::{Duration, Instant};

/// The conditions of one direction of the link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Fixed one-way propagation delay added to every packet.
    pub delay: Duration,
    /// Probability in `0.0..=1.0` that a packet is lost (independently per packet).
    pub loss: f64,
    /// Bottleneck rate in bytes per second; `None` for no limit.
    pub rate: Option<u64>,
    /// Bytes that may wait for the bottleneck before new packets are dropped (drop-tail).
    /// Only meaningful with a rate.
    pub queue_bytes: usize,
}

/// The fate of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Write the packet to the far side at this instant.
    Deliver(Instant),
    /// Random loss took it.
    Lost,
    /// The bottleneck queue was full.
    QueueFull,
}

/// One direction's bottleneck and propagation delay.
///
/// The rate limit is modelled as a serialising link: a packet starts transmission when the
/// previous one has finished (`busy_until`), takes `len / rate` to transmit and then travels for
/// `delay`. This is a token bucket whose depth is one packet; the bytes not yet serialised at
/// any instant are the queue, bounded by `queue_bytes`. Delivery instants never decrease, so a
/// FIFO (not a priority queue) holds the packets in flight.
#[derive(Debug)]
pub(crate) struct Shaper {
    conditions: Conditions,
    busy_until: Option<Instant>,
}

impl Shaper {
    pub(crate) fn new(conditions: Conditions) -> Self {
        Self {
            conditions,
            busy_until: None,
        }
    }

    /// Decides the fate of a packet of `len` bytes arriving at `now`; `draw` is uniform in
    /// `0.0..1.0`.
    pub(crate) fn admit(&mut self, now: Instant, len: usize, draw: f64) -> Verdict {
        if draw < self.conditions.loss {
            return Verdict::Lost;
        }
        let Some(rate) = self.conditions.rate else {
            return Verdict::Deliver(now + self.conditions.delay);
        };
        let start = self.busy_until.map_or(now, |busy| busy.max(now));
        let backlog = bytes_in(start - now, rate);
        if backlog.saturating_add(len as u64) > self.conditions.queue_bytes as u64 {
            return Verdict::QueueFull;
        }
        let done = start + transmit_time(len, rate);
        self.busy_until = Some(done);
        Verdict::Deliver(done + self.conditions.delay)
    }
}

/// How long `len` bytes take at `rate` bytes per second.
fn transmit_time(len: usize, rate: u64) -> Duration {
    let nanos = (len as u128 * 1_000_000_000) / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// How many bytes `rate` moves in `time`.
fn bytes_in(time: Duration, rate: u64) -> u64 {
    let bytes = time.as_nanos() * u128::from(rate) / 1_000_000_000;
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions() -> Conditions {
        Conditions {
            delay: Duration::from_millis(30),
            loss: 0.0,
            rate: None,
            queue_bytes: 10_000,
        }
    }

    #[test]
    fn delivers_after_the_delay_without_a_rate() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(conditions());
        assert_eq!(
            shaper.admit(t0, 1500, 0.5),
            Verdict::Deliver(t0 + Duration::from_millis(30))
        );
        // Without a rate nothing queues: a burst all arrives after exactly the delay.
        assert_eq!(
            shaper.admit(t0, 65_000, 0.5),
            Verdict::Deliver(t0 + Duration::from_millis(30))
        );
    }

    #[test]
    fn loses_packets_whose_draw_is_below_the_loss_rate() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(Conditions {
            loss: 0.25,
            ..conditions()
        });
        assert_eq!(shaper.admit(t0, 100, 0.1), Verdict::Lost);
        assert!(matches!(shaper.admit(t0, 100, 0.3), Verdict::Deliver(_)));
    }

    #[test]
    fn serialises_packets_at_the_rate() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(Conditions {
            rate: Some(1_000_000),
            ..conditions()
        });
        // 1000 bytes at 1 MB/s take 1 ms each; back-to-back arrivals queue behind each other.
        let delay = Duration::from_millis(30);
        assert_eq!(
            shaper.admit(t0, 1000, 0.5),
            Verdict::Deliver(t0 + Duration::from_millis(1) + delay)
        );
        assert_eq!(
            shaper.admit(t0, 1000, 0.5),
            Verdict::Deliver(t0 + Duration::from_millis(2) + delay)
        );
        // After the link went idle, a packet starts at once.
        let later = t0 + Duration::from_millis(10);
        assert_eq!(
            shaper.admit(later, 1000, 0.5),
            Verdict::Deliver(later + Duration::from_millis(1) + delay)
        );
    }

    #[test]
    fn drops_arrivals_that_overflow_the_queue() {
        let t0 = Instant::now();
        let mut shaper = Shaper::new(Conditions {
            rate: Some(1_000_000),
            queue_bytes: 3000,
            ..conditions()
        });
        for _ in 0..3 {
            assert!(matches!(shaper.admit(t0, 1000, 0.5), Verdict::Deliver(_)));
        }
        assert_eq!(shaper.admit(t0, 1000, 0.5), Verdict::QueueFull);
        // Once 1 ms has drained 1000 bytes there is room again.
        let later = t0 + Duration::from_millis(1);
        assert!(matches!(
            shaper.admit(later, 1000, 0.5),
            Verdict::Deliver(_)
        ));
        assert_eq!(shaper.admit(later, 1000, 0.5), Verdict::QueueFull);
    }

    #[test]
    fn delivery_instants_never_decrease() {
        let t0 = Instant::now();
        let mut rng = fastrand::Rng::with_seed(7);
        let mut shaper = Shaper::new(Conditions {
            rate: Some(2_000_000),
            loss: 0.1,
            queue_bytes: 50_000,
            ..conditions()
        });
        let mut now = t0;
        let mut last = t0;
        for _ in 0..10_000 {
            now += Duration::from_micros(rng.u64(0..2000));
            if let Verdict::Deliver(at) = shaper.admit(now, rng.usize(40..9000), rng.f64()) {
                assert!(at >= last);
                assert!(at >= now + Duration::from_millis(30));
                last = at;
            }
        }
    }
}
