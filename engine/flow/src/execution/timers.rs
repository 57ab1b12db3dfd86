//! The executor's timers, quinn style: a table indexed by a small enum; the next timeout is
//! the earliest armed entry. All timers belong to the current node and are cleared when the
//! call leaves it.

use crate::time::Instant;

/// A named timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// No first digit / no next digit.
    Digits = 0,
    /// The current wait has lasted too long (webhook attempt, custom node, queue, recording).
    Deadline = 1,
    /// Time to retry a webhook.
    Backoff = 2,
    /// A slow webhook: start the filler prompt.
    Filler = 3,
}

const ALL: [Timer; 4] = [
    Timer::Digits,
    Timer::Deadline,
    Timer::Backoff,
    Timer::Filler,
];

#[derive(Debug, Clone, Default)]
pub(crate) struct Timers([Option<Instant>; 4]);

impl Timers {
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer as usize] = Some(at);
    }
    pub fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }
    pub fn clear(&mut self) {
        self.0 = [None; 4];
    }
    pub fn next(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }
    /// The earliest timer due at `now`, disarmed.
    pub fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let (timer, _) = ALL
            .iter()
            .filter_map(|&timer| self.0[timer as usize].map(|at| (timer, at)))
            .filter(|&(_, at)| at <= now)
            .min_by_key(|&(_, at)| at)?;
        self.stop(timer);
        Some(timer)
    }
}
