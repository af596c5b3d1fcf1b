//! Which instance's timer falls due next, without a pass over every
//! instance per event.
//!
//! With phases spread (`phase.rs`) a node of 1000 instances wakes ~125
//! times a second instead of once; a pass over 1000 instances per wake-up
//! (and per received advert on a Backup) cost 4 times the CPU of the
//! adverts themselves. The index keeps each instance's earliest deadline in
//! an ordered set. The driver marks an instance touched whenever it may
//! have changed one of its timers (every router input goes through
//! `push_actions`; the send-failure timers and the shell's `instance_mut`
//! mark it too) and re-reads its deadline after the event; a changed
//! instance list rebuilds the index.

use std::collections::BTreeSet;

use crate::proto::Instant;

#[derive(Debug, Default)]
pub(super) struct Deadlines {
    set: BTreeSet<(Instant, usize)>,
    /// Per instance, the deadline the set holds for it.
    at: Vec<Option<Instant>>,
    /// Instances whose deadline may have changed since the last refresh.
    touched: Vec<usize>,
    /// The instance list changed: rebuild before use.
    stale: bool,
}

impl Deadlines {
    pub(super) fn touch(&mut self, i: usize) {
        self.touched.push(i);
    }

    pub(super) fn mark_stale(&mut self) {
        self.stale = true;
    }

    pub(super) fn is_stale(&self) -> bool {
        self.stale
    }

    pub(super) fn touched(&self) -> &[usize] {
        &self.touched
    }

    /// Brings the set up to date: `deadline(i)` for every touched instance,
    /// or for all `n` when stale.
    pub(super) fn refresh(&mut self, n: usize, deadline: impl Fn(usize) -> Option<Instant>) {
        if self.stale {
            self.stale = false;
            self.touched.clear();
            self.set.clear();
            self.at = (0..n).map(&deadline).collect();
            for (i, t) in self.at.iter().enumerate() {
                if let Some(t) = t {
                    self.set.insert((*t, i));
                }
            }
            return;
        }
        let mut touched = std::mem::take(&mut self.touched);
        touched.sort_unstable();
        touched.dedup();
        for &i in &touched {
            if i >= self.at.len() {
                // Cannot happen while the list changes only with a rebuild.
                self.stale = true;
                return self.refresh(n, deadline);
            }
            let new = deadline(i);
            let old = self.at[i];
            if old != new {
                if let Some(t) = old {
                    self.set.remove(&(t, i));
                }
                if let Some(t) = new {
                    self.set.insert((t, i));
                }
                self.at[i] = new;
            }
        }
        touched.clear();
        self.touched = touched;
    }

    /// The earliest deadline in the set.
    pub(super) fn first(&self) -> Option<Instant> {
        self.set.first().map(|(t, _)| *t)
    }

    /// Instances whose deadline in the set is at or before `now`, in index
    /// order.
    pub(super) fn due(&self, now: Instant) -> Vec<usize> {
        let mut due: Vec<usize> = self
            .set
            .iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, i)| *i)
            .collect();
        due.sort_unstable();
        due
    }

    /// What the set holds for instance `i` (for the consistency check).
    pub(super) fn held(&self, i: usize) -> Option<Instant> {
        self.at.get(i).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(ms: u64) -> Instant {
        Instant::ZERO + Duration::from_millis(ms)
    }

    #[test]
    fn a_rebuild_orders_the_deadlines_and_due_lists_by_index() {
        let mut d = Deadlines::default();
        d.mark_stale();
        let times = [Some(at(30)), None, Some(at(10)), Some(at(10))];
        d.refresh(4, |i| times[i]);
        assert_eq!(d.first(), Some(at(10)));
        assert_eq!(d.due(at(10)), vec![2, 3]);
        assert_eq!(d.due(at(30)), vec![0, 2, 3]);
        assert!(d.due(at(9)).is_empty());
    }

    #[test]
    fn only_touched_instances_are_read_again() {
        let mut d = Deadlines::default();
        d.mark_stale();
        let mut times = [Some(at(30)), Some(at(20))];
        d.refresh(2, |i| times[i]);
        times[0] = Some(at(5));
        times[1] = None;
        d.touch(0);
        d.refresh(2, |i| times[i]);
        assert_eq!(d.first(), Some(at(5)));
        assert_eq!(d.held(1), Some(at(20)), "not touched, not re-read");
        d.touch(1);
        d.refresh(2, |i| times[i]);
        assert_eq!(d.held(1), None);
        assert_eq!(d.due(at(100)), vec![0]);
    }
}
