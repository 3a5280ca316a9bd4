//! Churn: nodes leave after an online session drawn from a distribution and come back after
//! a downtime, some crashing (their peers find out late) and some leaving gracefully (their
//! connections close at once).
//!
//! Sessions follow a Weibull distribution whose mean is set by the leave rate: shape 1 is the
//! memoryless exponential, shapes below 1 give many short sessions and a long tail, which is
//! what measurements of the live IPFS DHT report.

use std::time::Duration;

use hyphae_kad::Rng;
use serde::{Deserialize, Serialize};

use crate::network::millis;
use crate::simulation::unit;

/// How nodes come and go, as a scenario file gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChurnConfig {
    /// Expected share of the online nodes leaving per hour; 0 turns churn off. Sessions
    /// last `1 / leave_per_hour` hours on average.
    pub leave_per_hour: f64,
    /// Weibull shape of session lengths (1: exponential).
    pub session_shape: f64,
    /// Mean time away before a node rejoins (exponential), ms.
    #[serde(with = "millis")]
    pub downtime_mean: Duration,
    /// Share of departures that are crashes rather than graceful leaves.
    pub crash_share: f64,
    /// How long peers keep a crashed node's connection before their keep-alive gives up, ms.
    #[serde(with = "millis")]
    pub crash_detection: Duration,
    /// Online servers a rejoining node knows to bootstrap from (its table starts empty).
    pub bootstrap_peers: usize,
}

impl Default for ChurnConfig {
    fn default() -> ChurnConfig {
        ChurnConfig {
            leave_per_hour: 0.0,
            session_shape: 1.0,
            downtime_mean: Duration::from_secs(30 * 60),
            crash_share: 0.5,
            crash_detection: Duration::from_secs(20),
            bootstrap_peers: 4,
        }
    }
}

impl ChurnConfig {
    /// Whether nodes churn at all.
    pub fn is_enabled(&self) -> bool {
        self.leave_per_hour > 0.0 && self.leave_per_hour.is_finite()
    }

    /// A session length.
    pub fn session(&self, rng: &mut Rng) -> Duration {
        let mean_secs = 3600.0 / self.leave_per_hour;
        let shape = if self.session_shape > 0.0 && self.session_shape.is_finite() {
            self.session_shape
        } else {
            1.0
        };
        let scale = mean_secs / gamma(1.0 + 1.0 / shape);
        seconds(scale * (-(1.0 - unit(rng)).ln()).powf(1.0 / shape))
    }

    /// A downtime.
    pub fn downtime(&self, rng: &mut Rng) -> Duration {
        seconds(self.downtime_mean.as_secs_f64() * -(1.0 - unit(rng)).ln())
    }

    /// Whether a departure is a crash.
    pub fn is_crash(&self, rng: &mut Rng) -> bool {
        unit(rng) < self.crash_share
    }
}

/// A duration of `secs` seconds, capped at a year (a draw from the tail may be huge).
fn seconds(secs: f64) -> Duration {
    Duration::from_secs_f64(secs.clamp(0.0, 365.0 * 24.0 * 3600.0))
}

/// The gamma function for `x >= 1`, which is all a Weibull mean needs: shifted up to where
/// Stirling's series is exact to double precision, then divided back down.
pub(crate) fn gamma(x: f64) -> f64 {
    let mut z = x;
    let mut divisor = 1.0;
    while z < 12.0 {
        divisor *= z;
        z += 1.0;
    }
    let ln = (z - 0.5) * z.ln() - z + 0.5 * (2.0 * std::f64::consts::PI).ln() + 1.0 / (12.0 * z)
        - 1.0 / (360.0 * z.powi(3))
        + 1.0 / (1260.0 * z.powi(5));
    ln.exp() / divisor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_matches_known_values() {
        for (x, expected) in [
            (1.0, 1.0),
            (2.0, 1.0),
            (5.0, 24.0),
            (1.5, 0.886_226_925_452_758),
            (3.0, 2.0),
        ] {
            assert!(
                (gamma(x) - expected).abs() < 1e-9,
                "gamma({x}) = {}",
                gamma(x)
            );
        }
    }

    fn mean_session_hours(shape: f64) -> f64 {
        let churn = ChurnConfig {
            leave_per_hour: 0.5,
            session_shape: shape,
            ..ChurnConfig::default()
        };
        let mut rng = Rng::from_seed(9);
        let draws = 200_000;
        let total: f64 = (0..draws)
            .map(|_| churn.session(&mut rng).as_secs_f64())
            .sum();
        total / draws as f64 / 3600.0
    }

    #[test]
    fn sessions_last_the_inverse_of_the_leave_rate_on_average_whatever_the_shape() {
        for shape in [0.6, 1.0, 2.0] {
            let mean = mean_session_hours(shape);
            assert!((mean - 2.0).abs() < 0.05, "shape {shape}: mean {mean} h");
        }
    }

    #[test]
    fn a_small_shape_gives_more_short_sessions() {
        let short_share = |shape: f64| {
            let churn = ChurnConfig {
                leave_per_hour: 1.0,
                session_shape: shape,
                ..ChurnConfig::default()
            };
            let mut rng = Rng::from_seed(4);
            let short = (0..10_000)
                .filter(|_| churn.session(&mut rng) < Duration::from_secs(600))
                .count();
            short as f64 / 10_000.0
        };
        assert!(short_share(0.5) > short_share(1.0) + 0.1);
    }
}
