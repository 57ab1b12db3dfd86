//! The per-module key-value store: in memory, bounded in keys and bytes, shared by every
//! version of a module (keyed by module name) and lost on restart.

use crate::config::KvLimits;
use std::collections::HashMap;
use std::sync::Mutex;

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KvRefusal {
    TooLarge,
    Full,
}

#[derive(Debug, Default)]
struct Bucket {
    entries: HashMap<String, Vec<u8>>,
    bytes: usize,
}

/// Every module's store.
#[derive(Debug)]
pub(crate) struct KvStores {
    limits: KvLimits,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl KvStores {
    pub(crate) fn new(limits: KvLimits) -> Self {
        KvStores {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn with<R>(&self, module: &str, action: impl FnOnce(&mut Bucket) -> R) -> R {
        // A poisoned lock only means another run panicked mid-update of plain data.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        action(buckets.entry(module.to_owned()).or_default())
    }

    pub(crate) fn get(&self, module: &str, key: &str) -> Option<Vec<u8>> {
        self.with(module, |bucket| bucket.entries.get(key).cloned())
    }

    pub(crate) fn set(&self, module: &str, key: &str, value: &[u8]) -> Result<(), KvRefusal> {
        if key.len() > self.limits.key_bytes || value.len() > self.limits.value_bytes {
            return Err(KvRefusal::TooLarge);
        }
        let limits = &self.limits;
        self.with(module, |bucket| {
            let old = bucket.entries.get(key).map(|old| key.len() + old.len());
            let bytes = bucket.bytes - old.unwrap_or(0) + key.len() + value.len();
            if (old.is_none() && bucket.entries.len() >= limits.keys) || bytes > limits.total_bytes
            {
                return Err(KvRefusal::Full);
            }
            bucket.bytes = bytes;
            bucket.entries.insert(key.to_owned(), value.to_vec());
            Ok(())
        })
    }

    pub(crate) fn delete(&self, module: &str, key: &str) -> bool {
        self.with(module, |bucket| match bucket.entries.remove(key) {
            Some(old) => {
                bucket.bytes -= key.len() + old.len();
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stores() -> KvStores {
        KvStores::new(KvLimits {
            keys: 2,
            key_bytes: 4,
            value_bytes: 8,
            total_bytes: 12,
        })
    }

    #[test]
    fn modules_do_not_see_each_other() {
        let stores = stores();
        assert_eq!(stores.set("a", "k", b"1"), Ok(()));
        assert_eq!(stores.get("a", "k"), Some(b"1".to_vec()));
        assert_eq!(stores.get("b", "k"), None);
        assert!(stores.delete("a", "k"));
        assert!(!stores.delete("a", "k"));
    }

    #[test]
    fn keys_and_bytes_are_bounded_and_replacing_frees_space() {
        let stores = stores();
        assert_eq!(stores.set("a", "key5x", b""), Err(KvRefusal::TooLarge));
        assert_eq!(stores.set("a", "k", b"123456789"), Err(KvRefusal::TooLarge));
        assert_eq!(stores.set("a", "k1", b"12345"), Ok(()));
        assert_eq!(stores.set("a", "k2", b"12345"), Err(KvRefusal::Full));
        assert_eq!(stores.set("a", "k2", b"1"), Ok(()));
        assert_eq!(stores.set("a", "k3", b""), Err(KvRefusal::Full));
        assert_eq!(stores.set("a", "k1", b"1"), Ok(()));
        assert_eq!(stores.set("a", "k2", b"12345"), Ok(()));
    }
}
