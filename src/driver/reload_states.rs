//! keepalived 2.3's `fifo_write_vrrp_states_on_reload` (vrrp_scheduler.c
//! `vrrp_init_state`): after a reload, each instance and sync group that is
//! in the state it had before gets its state line written to the notify
//! FIFOs again (one that changed state is notified by its transition), so
//! a FIFO reader that restarted with the reload learns every state.

use crate::proto::fsm::State;

/// The names (in `after`'s order) whose state is the one they had in
/// `before`, with that state; new names and INIT are left out.
pub fn unchanged<'a>(
    before: &[(String, State)],
    after: &'a [(String, State)],
) -> Vec<(&'a str, State)> {
    after
        .iter()
        .filter(|(_, s)| *s != State::Initialize)
        .filter(|(n, s)| before.iter().any(|(b, bs)| b == n && bs == s))
        .map(|(n, s)| (n.as_str(), *s))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_whose_state_survived_the_reload() {
        let v = |l: &[(&str, State)]| -> Vec<(String, State)> {
            l.iter().map(|(n, s)| (n.to_string(), *s)).collect()
        };
        let before = v(&[
            ("A", State::Master),
            ("B", State::Backup),
            ("C", State::Fault),
            ("D", State::Initialize),
        ]);
        let after = v(&[
            ("B", State::Master),
            ("A", State::Master),
            ("C", State::Fault),
            ("D", State::Initialize),
            ("E", State::Backup),
        ]);
        assert_eq!(
            unchanged(&before, &after),
            [("A", State::Master), ("C", State::Fault)]
        );
    }
}
