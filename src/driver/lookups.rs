//! The lookups the shell runs off the driver ([`Effect::FindSource`],
//! [`Effect::Rebind`], the resync after a netlink overrun) and the bound on
//! them: at most one in flight per instance and kind (one resync in all).
//! A request for a lookup already in flight is merged: it is remembered
//! (the latest request wins) and run once the one in flight answers, fails
//! or times out, unless that answer made it moot ([`Driver::wants`]).
//!
//! So the lookups in flight, and the answers queued for the driver, are
//! bounded by twice the instance count plus one resync, whatever the
//! network does.
//!
//! [`Effect::FindSource`]: super::Effect::FindSource
//! [`Effect::Rebind`]: super::Effect::Rebind
//! [`Driver::wants`]: super::Driver::wants

use std::collections::HashMap;

/// One lookup the shell runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A source address for `instance` on `ifindex`.
    Source { instance: usize, ifindex: u32 },
    /// `instance`'s interface, re-created under `ifindex`.
    Rebind { instance: usize, ifindex: u32 },
    /// Every link and address the instances depend on.
    Resync,
}

/// What at most one lookup is in flight for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    Source(usize),
    Rebind(usize),
    Resync,
}

impl Lookup {
    pub fn slot(&self) -> Slot {
        match *self {
            Lookup::Source { instance, .. } => Slot::Source(instance),
            Lookup::Rebind { instance, .. } => Slot::Rebind(instance),
            Lookup::Resync => Slot::Resync,
        }
    }
}

/// The lookups in flight and the requests merged behind them.
#[derive(Debug, Default)]
pub struct InFlight {
    /// In flight, with the request merged behind it, if any.
    slots: HashMap<Slot, Option<Lookup>>,
    /// Requests merged into one already waiting or running (for metrics
    /// and tests).
    merged: u64,
}

impl InFlight {
    pub fn new() -> InFlight {
        InFlight::default()
    }

    /// Whether to start `lookup` now. If one is in flight for its slot,
    /// `lookup` is merged behind it instead (replacing an earlier merged
    /// request) and `false` is returned.
    pub fn ask(&mut self, lookup: Lookup) -> bool {
        match self.slots.get_mut(&lookup.slot()) {
            Some(pending) => {
                *pending = Some(lookup);
                self.merged += 1;
                false
            }
            None => {
                self.slots.insert(lookup.slot(), None);
                true
            }
        }
    }

    /// The lookup in `slot` answered, failed or timed out: the request
    /// merged behind it to start now, if `wanted` still says so. The slot
    /// stays taken when one is returned (the caller starts it).
    pub fn answered(&mut self, slot: Slot, wanted: impl FnOnce(&Lookup) -> bool) -> Option<Lookup> {
        match self.slots.remove(&slot)? {
            Some(next) if wanted(&next) => {
                self.slots.insert(slot, None);
                Some(next)
            }
            _ => None,
        }
    }

    /// How many lookups are in flight.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// How many requests were merged so far.
    pub fn merged(&self) -> u64 {
        self.merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE_0: Lookup = Lookup::Source {
        instance: 0,
        ifindex: 3,
    };

    #[test]
    fn the_first_request_of_a_slot_starts() {
        let mut f = InFlight::new();
        assert!(f.ask(SOURCE_0));
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn a_request_for_a_busy_slot_is_merged_not_started() {
        let mut f = InFlight::new();
        assert!(f.ask(SOURCE_0));
        for _ in 0..1000 {
            assert!(!f.ask(SOURCE_0));
        }
        assert_eq!(f.len(), 1, "one in flight, whatever the flood");
        assert_eq!(f.merged(), 1000);
        // The 1000 merged requests run once.
        assert_eq!(f.answered(SOURCE_0.slot(), |_| true), Some(SOURCE_0));
        assert_eq!(f.answered(SOURCE_0.slot(), |_| true), None);
        assert!(f.is_empty());
    }

    #[test]
    fn slots_are_per_instance_and_kind() {
        let mut f = InFlight::new();
        assert!(f.ask(SOURCE_0));
        assert!(f.ask(Lookup::Source {
            instance: 1,
            ifindex: 3
        }));
        assert!(f.ask(Lookup::Rebind {
            instance: 0,
            ifindex: 3
        }));
        assert!(f.ask(Lookup::Resync));
        assert!(!f.ask(Lookup::Resync));
        assert_eq!(f.len(), 4);
    }

    #[test]
    fn the_latest_merged_request_wins() {
        let mut f = InFlight::new();
        let rebind = |ifindex| Lookup::Rebind {
            instance: 0,
            ifindex,
        };
        assert!(f.ask(rebind(7)));
        assert!(!f.ask(rebind(8)));
        assert!(!f.ask(rebind(9)));
        assert_eq!(f.answered(Slot::Rebind(0), |_| true), Some(rebind(9)));
    }

    #[test]
    fn an_answer_with_nothing_merged_frees_the_slot() {
        let mut f = InFlight::new();
        assert!(f.ask(SOURCE_0));
        assert_eq!(f.answered(SOURCE_0.slot(), |_| true), None);
        assert!(f.is_empty());
        assert!(f.ask(SOURCE_0), "the next request starts again");
    }

    #[test]
    fn a_merged_request_the_answer_made_moot_is_dropped() {
        let mut f = InFlight::new();
        assert!(f.ask(SOURCE_0));
        assert!(!f.ask(SOURCE_0));
        assert_eq!(f.answered(SOURCE_0.slot(), |_| false), None);
        assert!(f.is_empty());
    }

    #[test]
    fn a_started_merged_request_keeps_its_slot() {
        let mut f = InFlight::new();
        assert!(f.ask(SOURCE_0));
        assert!(!f.ask(SOURCE_0));
        assert_eq!(f.answered(SOURCE_0.slot(), |_| true), Some(SOURCE_0));
        assert!(!f.ask(SOURCE_0), "merged behind the one just started");
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn an_answer_for_a_free_slot_is_ignored() {
        let mut f = InFlight::new();
        assert_eq!(f.answered(Slot::Resync, |_| true), None);
        assert!(f.is_empty());
    }
}
