//! Medians and rates.

use std::time::Duration;

/// The median of `samples` (the mean of the middle two for an even count); `None` if empty.
pub fn median(samples: &[Duration]) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    match sorted.len() {
        0 => None,
        n if n % 2 == 1 => Some(sorted[middle]),
        _ => Some((sorted[middle - 1] + sorted[middle]) / 2),
    }
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
    fn rate_in_bits() {
        assert_eq!(bits_per_second(125, Duration::from_secs(1)), 1000.0);
    }
}
