//! keepalived's `max_auto_priority` rule (process.c
//! `increment_process_priority`), on the pure core: a wake-up more than
//! `min_auto_priority_delay` late raises SCHED_RR one step, from 1 (or the
//! configured `vrrp_rt_priority`) up to the maximum.

use std::time::Duration;

use vrrpd::config::{load_str, LoadOptions, Scheduling};
use vrrpd::driver::autoprio::{AutoPriority, Overdue};

fn sched(globals: &str) -> Scheduling {
    let text = format!(
        "global_defs {{\n{globals}}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.10\n    }}\n}}\n"
    );
    let l = load_str("/k.conf", &text, &LoadOptions::default());
    assert!(l.diagnostics.is_empty(), "{:#?}", l.diagnostics);
    l.config.global.scheduling
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

#[test]
fn starved_wake_ups_climb_one_step_each_up_to_the_maximum() {
    let mut a = AutoPriority::new(&sched("    max_auto_priority 3\n"));
    assert_eq!(a.current(), None);
    // Within the default 1 s: nothing, not even a log line.
    assert_eq!(a.woke(ms(1000)), None);
    let raised: Vec<Option<u8>> = (0..5)
        .map(|_| a.woke(ms(1001)).and_then(|o| o.raise_to))
        .collect();
    assert_eq!(raised, [Some(1), Some(2), Some(3), None, None]);
    assert_eq!(a.current(), Some(3));
    // At the top a late wake-up is still reported.
    assert_eq!(
        a.woke(ms(5000)),
        Some(Overdue {
            late: ms(5000),
            raise_to: None
        })
    );
}

#[test]
fn the_configured_realtime_priority_is_the_start_and_the_delay_counts() {
    let mut a = AutoPriority::new(&sched(
        "    vrrp_rt_priority 10\n    max_auto_priority\n    min_auto_priority_delay 20000\n",
    ));
    assert_eq!(a.woke(ms(20)), None);
    assert_eq!(a.woke(ms(21)).and_then(|o| o.raise_to), Some(11));
    // No value: up to the highest SCHED_RR priority.
    let s = sched("    max_auto_priority\n");
    assert_eq!(s.max_auto_priority.map(|p| p.get()), Some(99));
}

#[test]
fn without_max_auto_priority_a_late_wake_up_is_only_reported() {
    for globals in [
        "",
        "    max_auto_priority 0\n",
        "    max_auto_priority -1\n",
    ] {
        let mut a = AutoPriority::new(&sched(globals));
        assert_eq!(
            a.woke(ms(1500)),
            Some(Overdue {
                late: ms(1500),
                raise_to: None
            }),
            "{globals:?}"
        );
        assert_eq!(a.current(), None);
    }
}

#[test]
fn bad_values_are_located_and_keep_the_defaults() {
    let text = "global_defs {\n    max_auto_priority 100\n    min_auto_priority_delay 0\n    router_id r1\n}\nvrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.10\n    }\n}\n";
    let l = load_str("/k.conf", text, &LoadOptions::default());
    let at: Vec<(u32, u32, &str)> = l
        .diagnostics
        .iter()
        .map(|d| (d.line, d.col, d.message.as_str()))
        .collect();
    assert_eq!(at.len(), 2, "{at:#?}");
    assert_eq!((at[0].0, at[0].1), (2, 23));
    assert!(at[0]
        .2
        .contains("'max_auto_priority' expects an integer -1..99, got '100'"));
    assert_eq!((at[1].0, at[1].1), (3, 29));
    let s = &l.config.global.scheduling;
    assert_eq!(
        (s.max_auto_priority, s.min_auto_priority_delay_us),
        (None, None)
    );
    assert_eq!(l.config.global.router_id.as_deref(), Some("r1"));
}
