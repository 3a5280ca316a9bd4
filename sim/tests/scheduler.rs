//! The event queue: earliest first, ties in scheduling order, time never goes back.

use std::time::{Duration, Instant};

use hyphae_sim::scheduler::{Scheduler, Time};

fn drain(queue: &mut Scheduler<u32>) -> Vec<(u64, u32)> {
    std::iter::from_fn(|| queue.pop().map(|(at, e)| (at.0, e))).collect()
}

#[test]
fn events_come_out_by_time_then_in_scheduling_order() {
    let mut queue = Scheduler::new(Instant::now());
    for (at, event) in [(30, 1), (10, 2), (20, 3), (10, 4), (30, 5), (0, 6), (10, 7)] {
        queue.schedule(Time(at), event);
    }
    assert_eq!(
        drain(&mut queue),
        [(0, 6), (10, 2), (10, 4), (10, 7), (20, 3), (30, 1), (30, 5)]
    );
}

#[test]
fn an_event_scheduled_in_the_past_happens_now() {
    let mut queue = Scheduler::new(Instant::now());
    queue.schedule(Time(100), 1);
    assert_eq!(queue.pop(), Some((Time(100), 1)));
    queue.schedule(Time(50), 2);
    queue.schedule_in(Duration::ZERO, 3);
    assert_eq!(drain(&mut queue), [(100, 2), (100, 3)]);
    assert_eq!(queue.now(), Time(100));
}

#[test]
fn virtual_time_maps_to_instants_from_one_base() {
    let base = Instant::now();
    let mut queue = Scheduler::new(base);
    queue.schedule_in(Duration::from_millis(1500), 0);
    queue.pop();
    assert_eq!(queue.now_instant(), base + Duration::from_millis(1500));
    assert_eq!(queue.time_of(base + Duration::from_micros(7)), Time(7_000));
    assert_eq!(queue.time_of(base), Time::ZERO);
}

#[test]
fn a_thousand_events_at_random_times_come_out_sorted() {
    let mut rng = hyphae_kad::Rng::from_seed(9);
    let mut queue = Scheduler::new(Instant::now());
    for i in 0..1000 {
        queue.schedule(Time(rng.below(50)), i);
    }
    let out = drain(&mut queue);
    assert_eq!(out.len(), 1000);
    assert!(
        out.windows(2)
            .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1))
    );
}
