//! Estimating how many peers the DHT has, from how close the closest peers of a lookup are;
//! optimistic provide (go-libp2p-kad-dht's `lookup_optim.go` idea) uses it to tell, during a
//! walk, which peers are almost surely among the k closest to a key.
//!
//! With N peers spread uniformly over the keyspace, the i-th closest peer to any key lies at
//! about i / N of the keyspace. A lookup's k closest distances d_1 … d_k thus fit d_i = i / N;
//! the least-squares slope gives N. The estimate is the mean of the last few lookups' fits:
//! one lookup is noisy, and a network that grows or shrinks is followed within a few.

use std::collections::VecDeque;

/// Lookups the estimate averages over.
const SAMPLES: usize = 8;

/// A running estimate of the number of DHT servers.
#[derive(Debug, Clone, Default)]
pub(crate) struct NetworkSize {
    samples: VecDeque<f64>,
}

impl NetworkSize {
    /// Takes the sorted keyspace fractions of a lookup's closest peers to its target.
    pub(crate) fn observe(&mut self, distances: &[f64]) {
        let Some(sample) = fit(distances) else {
            return;
        };
        if self.samples.len() == SAMPLES {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// The current estimate, once a lookup has produced one.
    pub(crate) fn get(&self) -> Option<f64> {
        (!self.samples.is_empty())
            .then(|| self.samples.iter().sum::<f64>() / self.samples.len() as f64)
    }
}

/// N from d_i ≈ i / N by least squares through the origin; `None` with fewer than 4 points.
fn fit(distances: &[f64]) -> Option<f64> {
    if distances.len() < 4 {
        return None;
    }
    let (mut id, mut ii) = (0.0, 0.0);
    for (i, d) in distances.iter().enumerate() {
        let rank = (i + 1) as f64;
        id += rank * d;
        ii += rank * rank;
    }
    (id > 0.0).then(|| ii / id)
}

/// The keyspace fraction within which a peer is among the `k` closest to a key with
/// probability at least `confidence`, in a DHT of `size` peers: the number of peers closer
/// than a distance d is Poisson(size · d), so the bound is λ / size with
/// P(Poisson(λ) ≤ k − 1) = confidence.
pub(crate) fn surely_closest_fraction(k: usize, confidence: f64, size: f64) -> f64 {
    let (mut low, mut high) = (0.0_f64, k as f64 * 4.0 + 10.0);
    for _ in 0..60 {
        let mid = (low + high) / 2.0;
        if poisson_cdf(k.saturating_sub(1), mid) >= confidence {
            low = mid;
        } else {
            high = mid;
        }
    }
    low / size.max(1.0)
}

/// The mean keyspace fraction of the `k` closest peers to a key in a DHT of `size` peers:
/// the i-th closest lies at i / (size + 1) on average.
pub(crate) fn expected_mean_closest_fraction(k: usize, size: f64) -> f64 {
    (k as f64 + 1.0) / 2.0 / (size.max(1.0) + 1.0)
}

/// P(X ≤ n) for X ~ Poisson(λ).
fn poisson_cdf(n: usize, lambda: f64) -> f64 {
    let mut term = (-lambda).exp();
    let mut sum = term;
    for i in 1..=n {
        term *= lambda / i as f64;
        sum += term;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evenly_spread_peers_give_their_number() {
        let distances: Vec<f64> = (1..=20).map(|i| i as f64 / 5000.0).collect();
        let mut size = NetworkSize::default();
        size.observe(&distances);
        let estimate = size.get().unwrap();
        assert!((estimate - 5000.0).abs() < 1.0, "{estimate}");
    }

    #[test]
    fn too_few_points_give_no_estimate() {
        let mut size = NetworkSize::default();
        size.observe(&[0.1, 0.2]);
        assert_eq!(size.get(), None);
    }

    #[test]
    fn the_bound_holds_its_confidence() {
        // λ with P(Poisson(λ) ≤ 19) = 0.9 is about 14.53.
        let fraction = surely_closest_fraction(20, 0.9, 1000.0);
        assert!(
            (fraction * 1000.0 - 14.53).abs() < 0.01,
            "{}",
            fraction * 1000.0
        );
        assert!((poisson_cdf(19, fraction * 1000.0) - 0.9).abs() < 1e-6);
    }
}
