//! The timer table: quinn's idea (an enum of named timers, each an `Option<Instant>`) kept
//! for every live transaction, plus an ordered index so the next deadline is found in
//! O(log n) however many transactions are alive.
//!
//! Four slots cover RFC 3261's eleven timers, because no transaction needs more than four
//! at once:
//!
//! | slot         | client INVITE | client non-INVITE | server INVITE        | server non-INVITE |
//! |--------------|---------------|-------------------|----------------------|-------------------|
//! | `Retransmit` | A             | E                 | G, 2xx re-sends      | —                 |
//! | `Timeout`    | B, C, M       | F                 | H, L (RFC 6026)      | —                 |
//! | `Linger`     | D             | K                 | I                    | J                 |
//! | `Trying`     | —             | —                 | 100 Trying delay     | —                 |

use super::TransactionId;
use crate::proto::time::Instant;
use std::collections::{BTreeSet, HashMap};

/// A named timer slot of one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TimerKind {
    /// Re-send the last message (A, E, G, 2xx).
    Retransmit,
    /// Give up (B, F, H) or stop absorbing (C, L, M).
    Timeout,
    /// Wait for stray retransmissions, then end (D, I, J, K).
    Linger,
    /// Send 100 Trying if the TU has not answered an INVITE yet.
    Trying,
}

const KINDS: [TimerKind; 4] = [
    TimerKind::Retransmit,
    TimerKind::Timeout,
    TimerKind::Linger,
    TimerKind::Trying,
];

/// Every armed timer of every transaction.
#[derive(Debug, Default)]
pub(crate) struct TimerTable {
    armed: HashMap<TransactionId, [Option<Instant>; 4]>,
    order: BTreeSet<(Instant, TransactionId, TimerKind)>,
}

fn slot(kind: TimerKind) -> usize {
    match kind {
        TimerKind::Retransmit => 0,
        TimerKind::Timeout => 1,
        TimerKind::Linger => 2,
        TimerKind::Trying => 3,
    }
}

impl TimerTable {
    /// Arms (or re-arms) `kind` of `id` for `at`.
    pub(crate) fn set(&mut self, id: TransactionId, kind: TimerKind, at: Instant) {
        self.stop(id, kind);
        self.armed.entry(id).or_default()[slot(kind)] = Some(at);
        self.order.insert((at, id, kind));
    }

    /// Disarms `kind` of `id`.
    pub(crate) fn stop(&mut self, id: TransactionId, kind: TimerKind) {
        if let Some(slots) = self.armed.get_mut(&id)
            && let Some(at) = slots[slot(kind)].take()
        {
            self.order.remove(&(at, id, kind));
        }
    }

    /// Disarms every timer of `id`.
    pub(crate) fn stop_all(&mut self, id: TransactionId) {
        for kind in KINDS {
            self.stop(id, kind);
        }
        self.armed.remove(&id);
    }

    /// When `kind` of `id` fires, if armed.
    #[cfg(test)]
    pub(crate) fn get(&self, id: TransactionId, kind: TimerKind) -> Option<Instant> {
        self.armed.get(&id).and_then(|slots| slots[slot(kind)])
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.order.first().map(|(at, _, _)| *at)
    }

    /// Disarms and returns every timer due at `now`, earliest first.
    pub(crate) fn take_due(&mut self, now: Instant) -> Vec<(TransactionId, TimerKind)> {
        let mut due = Vec::new();
        while let Some(&(at, id, kind)) = self.order.first() {
            if at > now {
                break;
            }
            self.stop(id, kind);
            due.push((id, kind));
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_deadline_is_the_earliest_armed_timer() {
        let mut table = TimerTable::default();
        let (a, b) = (TransactionId(1), TransactionId(2));
        table.set(a, TimerKind::Retransmit, Instant::from_millis(500));
        table.set(b, TimerKind::Timeout, Instant::from_millis(300));
        table.set(a, TimerKind::Retransmit, Instant::from_millis(900));
        assert_eq!(table.next(), Some(Instant::from_millis(300)));
        assert_eq!(
            table.take_due(Instant::from_millis(600)),
            vec![(b, TimerKind::Timeout)]
        );
        assert_eq!(
            table.get(a, TimerKind::Retransmit),
            Some(Instant::from_millis(900))
        );
        table.stop_all(a);
        assert_eq!(table.next(), None);
    }
}
