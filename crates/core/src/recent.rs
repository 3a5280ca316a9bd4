//! [`Recent`]: a map that keeps only its newest entries. The caches that spare a node a
//! second signature check (Noise static keys, TLS certificates, identify's peer records)
//! hold what peers send, so each must stay bounded whatever they send.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A map of at most `capacity` entries: inserting a new key when full forgets the key
/// inserted first. Replacing a key's value keeps the key's place.
#[derive(Debug, Clone)]
pub struct Recent<K, V> {
    map: HashMap<K, V>,
    /// Keys in the order they were first inserted.
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> Recent<K, V> {
    /// An empty map that will hold at most `capacity` entries.
    pub fn new(capacity: usize) -> Recent<K, V> {
        Recent {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// The value of `key`, if it is still remembered.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// Whether `key` is still remembered.
    pub fn contains(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Remembers `value` for `key`; a new key forgets the oldest one when full.
    pub fn insert(&mut self, key: K, value: V) {
        if self.map.insert(key.clone(), value).is_some() {
            return;
        }
        self.order.push_back(key);
        if self.order.len() > self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.map.remove(&oldest);
        }
    }

    /// Entries remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgets_the_first_inserted_key_when_full() {
        let mut recent = Recent::new(3);
        for key in 0..3 {
            recent.insert(key, key * 10);
        }
        recent.insert(0, 1); // a replacement keeps its place
        assert_eq!(recent.get(&0), Some(&1));
        recent.insert(3, 30);
        assert_eq!(recent.len(), 3);
        assert!(!recent.contains(&0));
        assert_eq!(recent.get(&1), Some(&10));
        assert_eq!(recent.get(&3), Some(&30));
    }

    #[test]
    fn a_capacity_of_zero_remembers_nothing() {
        let mut recent = Recent::new(0);
        recent.insert("key", ());
        assert!(recent.is_empty());
    }
}
