//! Medians and rates.

use std::time::Duration;

/// The median of `samples` (the mean of the middle two for an even count); `None` if empty.
pub fn median(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    middle_of(&sorted, |a, b| (a + b) / 2)
}

/// The middle of `sorted`, or `mean` of the middle two for an even count; `None` if empty.
fn middle_of<T: Copy>(sorted: &[T], mean: impl Fn(T, T) -> T) -> Option<T> {
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some(mean(sorted[middle - 1], sorted[middle])),
    }
}

/// How many times faster the first of each pair of timings was than the second, as the
/// median over the pairs: each pair timed the same transfer in the same repetition, so a slow
/// or fast moment of the host weighs on both. `None` if there are no pairs.
pub fn paired_speedup(faster: &[Duration], slower: &[Duration]) -> Option<f64> {
    let mut ratios: Vec<f64> = faster
        .iter()
        .zip(slower)
        .filter(|(faster, _)| !faster.is_zero())
        .map(|(faster, slower)| slower.as_secs_f64() / faster.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    middle_of(&ratios, |a, b| (a + b) / 2.0)
}

/// `bytes` over `time` in bits per second.
pub fn bits_per_second(bytes: u64, time: Duration) -> f64 {
    bytes as f64 * 8.0 / time.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[ms(5), ms(1), ms(3)]), Some(ms(3)));
        assert_eq!(median(&[ms(4), ms(1), ms(2), ms(10)]), Some(ms(3)));
    }

    #[test]
    fn paired_speedup_is_the_median_of_per_pair_ratios() {
        let ms = Duration::from_millis;
        assert_eq!(paired_speedup(&[], &[]), None);
        // Ratios 2, 1.5 and 0.5: the median is 1.5, where the ratio of medians would be 1.
        let faster = [ms(100), ms(200), ms(400)];
        let slower = [ms(200), ms(300), ms(200)];
        let close = |value: Option<f64>, expected: f64| {
            value.is_some_and(|value| (value - expected).abs() < 1e-9)
        };
        assert!(close(paired_speedup(&faster, &slower), 1.5));
        assert!(close(paired_speedup(&faster[..2], &slower[..2]), 1.75));
    }

    #[test]
    fn rate_in_bits() {
        assert_eq!(bits_per_second(125, Duration::from_secs(1)), 1000.0);
    }
}
