//! The asset lists the proxy has answered, per break and start-offset bucket, in a cache of at
//! most `asset_list_cache_entries` entries: past it, the least recently used entry leaves.
//!
//! Lookups and insertions are O(log n) (a map from key to entry and an ordered map from last use
//! to key); the whole cache sits behind one mutex, held for nothing but these.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::answer::AssetList;

/// One cached answer: the break, and the start-offset bucket (whole seconds; 0 for answers that
/// do not depend on the offset).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The stream key.
    pub stream: String,
    /// The break id.
    pub break_id: u64,
    /// The start-offset bucket.
    pub bucket: u64,
}

/// A bounded least-recently-used map of asset lists.
pub struct AssetListCache {
    capacity: usize,
    entries: HashMap<Key, (Arc<AssetList>, u64)>,
    /// Last use → key, oldest first.
    order: BTreeMap<u64, Key>,
    clock: u64,
    evicted: u64,
}

impl AssetListCache {
    /// An empty cache of at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: BTreeMap::new(),
            clock: 0,
            evicted: 0,
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// The answer for `key`, marked as used now.
    pub fn get(&mut self, key: &Key) -> Option<Arc<AssetList>> {
        let now = self.tick();
        let (list, used) = self.entries.get_mut(key)?;
        let before = std::mem::replace(used, now);
        let list = Arc::clone(list);
        if let Some(k) = self.order.remove(&before) {
            self.order.insert(now, k);
        }
        Some(list)
    }

    /// Keeps `list` for `key` (replacing an earlier one), evicting the least recently used
    /// entries beyond the capacity.
    pub fn put(&mut self, key: Key, list: Arc<AssetList>) {
        let now = self.tick();
        if let Some((_, used)) = self.entries.insert(key.clone(), (list, now)) {
            self.order.remove(&used);
        }
        self.order.insert(now, key);
        while self.entries.len() > self.capacity {
            let Some((_, oldest)) = self.order.pop_first() else {
                break;
            };
            self.entries.remove(&oldest);
            self.evicted += 1;
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Entries evicted so far.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::interstitials::answer::Source;

    fn key(break_id: u64, bucket: u64) -> Key {
        Key {
            stream: "live/demo".to_owned(),
            break_id,
            bucket,
        }
    }

    fn list(n: usize) -> Arc<AssetList> {
        Arc::new(AssetList::empty_for_tests(Source::Static, n))
    }

    #[test]
    fn past_the_capacity_the_least_recently_used_entry_leaves() {
        let mut cache = AssetListCache::new(3);
        for id in 1..=3 {
            cache.put(key(id, 0), list(id as usize));
        }
        assert_eq!(cache.len(), 3);
        // Break 1 is used again: break 2 is now the oldest.
        assert!(cache.get(&key(1, 0)).is_some());
        cache.put(key(4, 0), list(4));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.evicted(), 1);
        assert!(cache.get(&key(2, 0)).is_none());
        for id in [1, 3, 4] {
            assert!(cache.get(&key(id, 0)).is_some(), "{id}");
        }
        // Buckets are keys of their own; replacing an entry does not grow the cache.
        cache.put(key(4, 7), list(5));
        cache.put(key(4, 7), list(6));
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&key(4, 7)).unwrap().len(), 6);
        // Far past the capacity, the cache stays at it and the order stays consistent.
        for id in 100..1100 {
            cache.put(key(id, id % 3), list(1));
            if id % 7 == 0 {
                let _ = cache.get(&key(id - 1, (id - 1) % 3));
            }
            assert!(cache.len() <= 3);
            assert_eq!(cache.order.len(), cache.entries.len());
        }
        assert_eq!(cache.evicted(), 2 + 1000);
        // Capacity 0 is taken as 1: the newest answer is always kept.
        let mut tiny = AssetListCache::new(0);
        tiny.put(key(1, 0), list(1));
        assert!(tiny.get(&key(1, 0)).is_some());
    }
}
