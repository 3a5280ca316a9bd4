//! Adversaries: server nodes that take part in the DHT but do not serve it honestly. They
//! enter routing tables like anyone (they answer identify as servers), then never answer,
//! answer late, or answer with peers that do not help.

use std::time::Duration;

use hyphae_kad::Rng;
use serde::{Deserialize, Serialize};

use crate::network::millis;
use crate::simulation::unit;

/// Shares of the server nodes that misbehave, as a scenario file gives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdversaryConfig {
    /// Accept connections and requests, never answer.
    pub silent: f64,
    /// Answer correctly, `slow_delay` late.
    pub slow: f64,
    /// How late the slow ones answer, ms.
    #[serde(with = "millis")]
    pub slow_delay: Duration,
    /// Answer with real peers far from the key, and no providers or records.
    pub far: f64,
    /// Answer with made-up peers that nobody can dial, and no providers or records.
    pub fake: f64,
}

impl Default for AdversaryConfig {
    fn default() -> AdversaryConfig {
        AdversaryConfig {
            silent: 0.0,
            slow: 0.0,
            slow_delay: Duration::from_secs(5),
            far: 0.0,
            fake: 0.0,
        }
    }
}

/// How a node serves the DHT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    /// As the protocol says.
    Honest,
    /// Never answers.
    Silent,
    /// Answers late.
    Slow,
    /// Points away from the key.
    Far,
    /// Points at peers that do not exist.
    Fake,
}

impl AdversaryConfig {
    /// Whether any server misbehaves.
    pub fn is_any(&self) -> bool {
        self.silent + self.slow + self.far + self.fake > 0.0
    }

    /// The behaviour of one server node, drawn by the shares.
    pub fn draw(&self, rng: &mut Rng) -> Behaviour {
        let mut r = unit(rng);
        for (share, behaviour) in [
            (self.silent, Behaviour::Silent),
            (self.slow, Behaviour::Slow),
            (self.far, Behaviour::Far),
            (self.fake, Behaviour::Fake),
        ] {
            if r < share {
                return behaviour;
            }
            r -= share;
        }
        Behaviour::Honest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviours_come_in_their_shares() {
        let config = AdversaryConfig {
            silent: 0.1,
            slow: 0.2,
            far: 0.05,
            ..AdversaryConfig::default()
        };
        let mut rng = Rng::from_seed(2);
        let draws = 100_000;
        let mut counts = std::collections::HashMap::new();
        for _ in 0..draws {
            *counts.entry(config.draw(&mut rng)).or_insert(0usize) += 1;
        }
        let share = |b| counts.get(&b).copied().unwrap_or(0) as f64 / draws as f64;
        assert!((share(Behaviour::Silent) - 0.1).abs() < 0.01);
        assert!((share(Behaviour::Slow) - 0.2).abs() < 0.01);
        assert!((share(Behaviour::Far) - 0.05).abs() < 0.01);
        assert_eq!(share(Behaviour::Fake), 0.0);
        assert!((share(Behaviour::Honest) - 0.65).abs() < 0.01);
    }
}
