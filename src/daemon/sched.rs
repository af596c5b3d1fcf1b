//! How the advert thread is scheduled: the one Linux adapter for the
//! scheduler, rlimits and memory locking.
//!
//! The driver runs on the runtime's thread (the process's main thread); an
//! advert is only as punctual as that thread's wake-up. The address worker
//! (netlink, GARP/NA bursts) has a thread of its own, which these settings
//! do not touch. keepalived leaves
//! it to the operator (`vrrp_priority`, `vrrp_rt_priority`,
//! `vrrp_rlimit_rttime`, `vrrp_no_swap`, `vrrp_cpu_affinity`), and vrrpd
//! applies the same keywords the same way. With none of them set vrrpd
//! still asks for one thing keepalived does not: a short EEVDF time slice
//! (`sched_attr.sched_runtime` for SCHED_OTHER, Linux 6.12+). The kernel
//! then lets the thread preempt a running CPU hog as soon as its timer
//! fires instead of after the hog's 3 ms slice, which is what kept adverts
//! 2-4 ms late under a 10 000 pps flood on a 2-core box. It needs no
//! privilege, cannot starve anything (the thread's share of the CPU is
//! unchanged, only its latency), and older kernels ignore it.
//!
//! Every setting carries SCHED_FLAG_RESET_ON_FORK: threads and processes the
//! driver starts afterwards (tracker threads, the blocking pool, scripts)
//! begin at SCHED_OTHER, nice >= 0 and the default slice, as keepalived's
//! scripts do.

use std::io;

use crate::config::{RtTime, Scheduling};

/// The slice asked for: the kernel's minimum (`sched_setattr(2)`: 0.1 ms).
pub const SLICE_NS: u64 = 100_000;

const SCHED_OTHER: u32 = 0;
const SCHED_RR: u32 = 2;
const SCHED_FLAG_RESET_ON_FORK: u64 = 0x01;

/// `struct sched_attr`, SCHED_ATTR_SIZE_VER0 (48 bytes).
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct SchedAttr {
    size: u32,
    policy: u32,
    flags: u64,
    nice: i32,
    priority: u32,
    runtime: u64,
    deadline: u64,
    period: u64,
}

/// What the calling thread runs with, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadSched {
    /// true for SCHED_RR.
    pub realtime: bool,
    pub rt_priority: u32,
    pub nice: i32,
    /// The thread's time slice in ns as the kernel reports it (Linux 6.12+;
    /// 0 before).
    pub slice_ns: u64,
    pub reset_on_fork: bool,
}

/// One setting that could not be applied, for one warning line each.
#[derive(Debug)]
pub struct NotApplied {
    pub what: String,
    pub error: io::Error,
}

impl std::fmt::Display for NotApplied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hint = match self.error.raw_os_error() {
            Some(libc::EPERM) => {
                " (needs CAP_SYS_NICE / CAP_IPC_LOCK; under systemd also no RestrictRealtime=yes)"
            }
            _ => "",
        };
        write!(f, "{} not applied: {}{hint}", self.what, self.error)
    }
}

/// Applies `s` to the calling thread (memory locking to the process).
/// Returns a one-line summary of what is in force and what failed; a
/// failure leaves the rest applied and the daemon running.
pub fn apply(s: &Scheduling) -> (String, Vec<NotApplied>) {
    let mut failed = Vec::new();
    if !s.lock_memory {
        // A reload that drops vrrp_no_swap; a no-op when nothing is locked.
        // SAFETY: no arguments.
        unsafe { libc::munlockall() };
    } else {
        // SAFETY: mlockall takes flags only.
        if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) } != 0 {
            failed.push(NotApplied {
                what: "vrrp_no_swap".into(),
                error: io::Error::last_os_error(),
            });
        }
    }
    if !s.cpu_affinity.is_empty() {
        if let Err(error) = set_affinity(&s.cpu_affinity) {
            failed.push(NotApplied {
                what: format!("vrrp_cpu_affinity {:?}", s.cpu_affinity),
                error,
            });
        }
    }
    // The nice value stays what the thread was started with (systemd's
    // Nice=, `nice vrrpd`) unless vrrp_priority says otherwise.
    let nice = s.nice.map_or_else(current_nice, |n| i32::from(n.get()));
    let mut attr = SchedAttr {
        size: std::mem::size_of::<SchedAttr>() as u32,
        policy: SCHED_OTHER,
        flags: SCHED_FLAG_RESET_ON_FORK,
        nice,
        runtime: SLICE_NS,
        ..SchedAttr::default()
    };
    let default_realtime = s.default_realtime();
    let realtime = s
        .realtime_priority
        .map(|p| (p.get(), format!("vrrp_rt_priority {}", p.get())))
        .or_else(|| {
            default_realtime.then(|| (DEFAULT_RT_PRIORITY, "realtime (vrrpd's default)".into()))
        });
    if let Some((prio, what)) = realtime {
        // The limit first: a realtime thread must never run without it.
        let limit = rttime_limit(s);
        let rt = match set_rttime(limit).or_else(keep_a_lower_rttime) {
            Ok(()) => {
                let rr = SchedAttr {
                    policy: SCHED_RR,
                    priority: u32::from(prio),
                    nice: 0,
                    runtime: 0,
                    ..attr
                };
                set_attr(&rr).map(|()| rr)
            }
            Err(error) => Err(error),
        };
        match rt {
            Ok(rr) => attr = rr,
            Err(error) => failed.push(NotApplied { what, error }),
        }
    }
    if attr.policy == SCHED_OTHER {
        if let Err(error) = set_attr(&attr) {
            // A negative nice without CAP_SYS_NICE: keep the slice at least.
            failed.push(NotApplied {
                what: format!("nice {nice}"),
                error,
            });
            attr.nice = current_nice();
            if let Err(error) = set_attr(&attr) {
                failed.push(NotApplied {
                    what: "a short time slice".into(),
                    error,
                });
            }
        }
    }
    let now = current();
    let summary = match now {
        Ok(t) if t.realtime && default_realtime => format!(
            "SCHED_RR priority {} (vrrpd's default: while it uses at most {} % of a CPU), RLIMIT_RTTIME {} us",
            t.rt_priority,
            budget_percent(s),
            rttime_in_force()
        ),
        Ok(t) if t.realtime => format!(
            "SCHED_RR priority {}, RLIMIT_RTTIME {} us",
            t.rt_priority,
            rttime_in_force()
        ),
        Ok(t) if t.slice_ns > 0 => format!(
            "SCHED_OTHER nice {}, time slice {:.1} ms",
            t.nice,
            t.slice_ns as f64 / 1e6
        ),
        Ok(t) => format!(
            "SCHED_OTHER nice {} (the kernel keeps its default slice)",
            t.nice
        ),
        Err(e) => format!("unknown ({e})"),
    };
    let mut summary = summary;
    if s.lock_memory && !failed.iter().any(|f| f.what == "vrrp_no_swap") {
        summary.push_str(", memory locked");
    }
    if !s.cpu_affinity.is_empty() && !failed.iter().any(|f| f.what.starts_with("vrrp_cpu")) {
        summary.push_str(&format!(", CPUs {:?}", s.cpu_affinity));
    }
    (summary, failed)
}

/// The realtime priority of vrrpd's default: the lowest, so that any
/// realtime task the operator runs comes first.
pub const DEFAULT_RT_PRIORITY: u8 = 1;

/// The RLIMIT_RTTIME that goes with `s`'s realtime priority. vrrpd's
/// default gets [`RtTime::GUARD`]: not a budget (the guard,
/// `driver::rtguard`, is) but the net under a thread that stops returning
/// to its loop, where the guard cannot see it: half a second without
/// sleeping logs a warning, a whole one ends the daemon (systemd restarts
/// it). The driver sleeps between events, and applying a reload of 1000
/// instances takes tens of milliseconds.
fn rttime_limit(s: &Scheduling) -> RtTime {
    s.rlimit_rttime_us
        .unwrap_or(if s.realtime_priority.is_none() {
            RtTime::GUARD
        } else {
            RtTime::DEFAULT
        })
}

/// The guard's budget, percent of one CPU.
pub fn budget_percent(s: &Scheduling) -> u8 {
    s.realtime_cpu_budget_percent
        .map_or(crate::driver::rtguard::DEFAULT_BUDGET_PERCENT, |b| b.get())
}

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_time() -> io::Result<std::time::Duration> {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_err(io::Error::from)?;
    Ok(std::time::Duration::from(ts))
}

/// The calling thread's scheduling, from `sched_getattr(2)`.
pub fn current() -> io::Result<ThreadSched> {
    let mut attr = SchedAttr::default();
    // SAFETY: the kernel writes at most `size` bytes into `attr`, which is
    // a live, properly aligned sched_attr of that size.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_sched_getattr,
            0,
            &mut attr as *mut SchedAttr,
            std::mem::size_of::<SchedAttr>() as u32,
            0,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ThreadSched {
        realtime: attr.policy == SCHED_RR,
        rt_priority: attr.priority,
        nice: attr.nice,
        slice_ns: if attr.policy == SCHED_OTHER {
            attr.runtime
        } else {
            0
        },
        reset_on_fork: attr.flags & SCHED_FLAG_RESET_ON_FORK != 0,
    })
}

fn set_attr(attr: &SchedAttr) -> io::Result<()> {
    // SAFETY: `attr` is a live sched_attr whose `size` field is its size.
    let rc = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, attr as *const SchedAttr, 0) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn current_nice() -> i32 {
    // getpriority returns -1 both for nice -1 and for an error; errno tells.
    // SAFETY: plain syscalls on this thread (who = 0: the caller).
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
        if *libc::__errno_location() != 0 {
            0
        } else {
            nice
        }
    }
}

/// Soft limit at half (SIGXCPU: a warning, handled in `daemon::run`),
/// hard limit at the value (SIGKILL), as keepalived sets them.
fn set_rttime(limit: RtTime) -> io::Result<()> {
    let us = libc::rlim_t::from(limit.get());
    let rl = libc::rlimit {
        rlim_cur: (us / 2).max(1),
        rlim_max: us,
    };
    // SAFETY: `rl` is a valid rlimit.
    if unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &rl) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raising a hard limit needs CAP_SYS_RESOURCE, which the unit does not
/// grant: a reload from a short `vrrp_rlimit_rttime` to a longer one (or
/// to the default's 1 s) keeps the shorter limit in force, still a net,
/// until a restart. Any other failure stays one.
fn keep_a_lower_rttime(error: io::Error) -> io::Result<()> {
    match rttime_hard() {
        Some(Some(_)) if error.raw_os_error() == Some(libc::EPERM) => Ok(()),
        _ => Err(error),
    }
}

/// The hard RLIMIT_RTTIME in force, for the summary line.
fn rttime_in_force() -> String {
    match rttime_hard() {
        None => "unknown".into(),
        Some(None) => "unlimited".into(),
        Some(Some(us)) => us.to_string(),
    }
}

/// The hard RLIMIT_RTTIME: None when it cannot be read, Some(None) when
/// unlimited.
fn rttime_hard() -> Option<Option<libc::rlim_t>> {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: valid out pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut rl) } != 0 {
        return None;
    }
    Some((rl.rlim_max != libc::RLIM_INFINITY).then_some(rl.rlim_max))
}

fn set_affinity(cpus: &[u16]) -> io::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for cpu in cpus {
        set.set(usize::from(*cpu)).map_err(io::Error::from)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(io::Error::from)
}

/// At most two malloc arenas: the advert thread keeps the main one, the
/// worker, notifier and tracker threads share the second. glibc otherwise
/// gives each thread an arena of its own whose freed pages it keeps
/// (0.7 MB of RSS at 1000 instances, measured with the bench's
/// `mem1000`); the threads allocate little, so sharing costs nothing.
///
/// The mmap and trim thresholds are pinned at glibc's initial 128 KB:
/// left alone, glibc raises both after the first large block is freed
/// (the configuration's parse frees 1.8 MB at 1000 instances), and from
/// then on an arena keeps up to twice that much free memory at its top,
/// resident, which `malloc_trim` does not return for the second arena.
/// Measured (scripts/mem-breakdown.sh, 1000 instances): anonymous PSS
/// 8.9-9.2 MB -> 5.6-5.9 MB; the second arena held 3.6 MB for 0.1 MB in use.
/// Called once, before any thread starts.
pub fn limit_heap_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets tunables of the allocator; called before
    // other threads exist.
    unsafe {
        const HEAP_THRESHOLD: libc::c_int = 128 * 1024;
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, HEAP_THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, HEAP_THRESHOLD);
    }
}

/// Gives the pages freed after a load or a reload (the old and new
/// configuration, the parse, the prepared instances, all live at once for
/// a moment) back to the kernel; glibc would keep them as the process's
/// RSS for ever (about 2 MB at 1000 instances); then releases the code
/// pages ([`release_code_pages`]). `after` says what the burst was, for
/// the debug line, which is written before the code pages go: logging is
/// code the steady state never runs, and written after it would map its
/// pages again for good. Takes 1-5 ms, most of it reading smaps, so never
/// on the advert thread (it holds each arena's lock during `malloc_trim`).
pub fn trim_heap(after: &str) {
    let started = std::time::Instant::now();
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
    tracing::debug!(
        "heap trimmed after {after} in {} us",
        started.elapsed().as_micros()
    );
    if let Err(e) = release_code_pages() {
        tracing::debug!("code pages not released: {e}");
    }
}

/// Unmaps this process's view of the code and read-only data of its
/// binary and libraries, so that only what runs from now on is mapped
/// again, page by page as it runs.
///
/// The kernel maps a file's cached pages 64 KB around each page a process
/// touches (fault-around), and start-up runs most of the binary once (the
/// configuration's parsers, the first netlink dumps, NSS lookups that load
/// libnss_systemd): 3.7 of the binary's 4.0 MB of text stayed mapped,
/// counted in the RSS and PSS for good, while an idle daemon runs a
/// fraction of it. `MADV_DONTNEED` on a private file mapping holding no
/// private (copy-on-write) page drops page-table entries only: every byte
/// reads the same from the page cache, where the pages stay, and the next
/// call into them costs a minor fault. It is what reclaim may do to such
/// a mapping at any time, less the eviction. A mapping with a private page
/// (relocated RELRO data) is left alone: this would lose it. With
/// `vrrp_no_swap` (mlockall) the kernel refuses (EINVAL) and nothing
/// moves. Returns the bytes unmapped.
pub fn release_code_pages() -> io::Result<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut released = 0;
    for (start, end) in clean_file_mappings(&smaps) {
        // SAFETY: a whole read-only private file mapping without a private
        // page: dropping its page-table entries changes no byte the
        // process can read (the next access maps the file's page again).
        let rc =
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        released += end - start;
    }
    Ok(released)
}

/// A mapping's header line in maps or smaps (`start-end perms offset dev
/// inode path`): its address range, permissions and path ("" if none).
fn mapping_header(line: &str) -> Option<(usize, usize, &str, &str)> {
    let mut fields = line.splitn(6, ' ');
    let (range, perms) = (fields.next()?, fields.next()?);
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    let name = fields.nth(3).unwrap_or("").trim_start();
    Some((start, end, perms, name))
}

/// The read-only private mappings of files in an smaps listing whose every
/// page is still the file's (`Anonymous: 0 kB`), as address ranges.
fn clean_file_mappings(smaps: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        if let Some(kb) = line.strip_prefix("Anonymous:") {
            if let Some(range) = current.take() {
                if kb.trim() == "0 kB" {
                    found.push(range);
                }
            }
            continue;
        }
        let Some((start, end, perms, name)) = mapping_header(line) else {
            continue;
        };
        // r--p or r-xp of a file; not [vdso], [vvar], the heap or stacks.
        let read_only_private = perms.len() == 4 && perms.starts_with("r-") && perms.ends_with('p');
        current = (read_only_private && name.starts_with('/')).then_some((start, end));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
55d0a000-55d0b000 r--p 00000000 fd:01 42                         /usr/sbin/vrrpd
Size:                  4 kB
Anonymous:             0 kB
55d0b000-55d0f000 r-xp 00001000 fd:01 42                         /usr/sbin/vrrpd (deleted)
Size:                 16 kB
Anonymous:             0 kB
55d0f000-55d10000 r--p 00005000 fd:01 42                         /usr/sbin/vrrpd
Size:                  4 kB
Anonymous:             4 kB
55d10000-55d11000 rw-p 00006000 fd:01 42                         /usr/sbin/vrrpd
Anonymous:             0 kB
7f000000-7f001000 r-xp 00000000 fd:01 7                          /usr/lib/libc.so.6
Anonymous:             0 kB
7f002000-7f003000 r-xp 00000000 00:00 0 
Anonymous:             0 kB
7ffd0000-7ffd2000 r-xp 00000000 00:00 0                          [vdso]
Anonymous:             0 kB
";

    #[test]
    fn only_read_only_file_mappings_without_private_pages_are_released() {
        assert_eq!(
            clean_file_mappings(SMAPS),
            // Not the RELRO page (a private page), not the writable data,
            // not an anonymous mapping; a replaced file's " (deleted)"
            // mapping and a library's are.
            vec![
                (0x55d0a000, 0x55d0b000),
                (0x55d0b000, 0x55d0f000),
                (0x7f000000, 0x7f001000)
            ]
        );
    }

    #[test]
    fn releasing_the_code_pages_unmaps_them_and_the_code_still_runs() {
        fn resident_text_kb() -> u64 {
            let exe = std::fs::read_link("/proc/self/exe").unwrap();
            let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
            let mut ours = false;
            let mut total = 0;
            for line in smaps.lines() {
                if let Some((_, _, perms, name)) = mapping_header(line) {
                    ours = perms == "r-xp" && std::path::Path::new(name) == exe;
                } else if let Some(kb) = line.strip_prefix("Rss:") {
                    if ours {
                        total += kb.trim().trim_end_matches(" kB").parse::<u64>().unwrap();
                    }
                }
            }
            total
        }
        let before = resident_text_kb();
        let released = release_code_pages().unwrap();
        let after = resident_text_kb();
        assert!(released > 0);
        assert!(after < before, "{before} kB -> {after} kB");
        // It runs on: the code after the release faulted back in.
    }
    use crate::config::{Nice, RtPriority};

    /// Whether the kernel refused realtime here (no CAP_SYS_NICE): the test
    /// is skipped, and says so.
    fn not_permitted(failed: &[NotApplied]) -> bool {
        let refused = failed
            .iter()
            .any(|f| f.error.raw_os_error() == Some(libc::EPERM));
        if refused {
            eprintln!("SKIP: realtime scheduling not permitted here: {failed:?}");
        }
        refused
    }

    /// Runs `f` on a fresh thread, so the test runner's threads keep their scheduling.
    fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        std::thread::spawn(f).join().expect("test thread")
    }

    fn kernel_has_custom_slices() -> bool {
        on_thread(|| {
            let attr = SchedAttr {
                size: std::mem::size_of::<SchedAttr>() as u32,
                nice: current_nice(),
                runtime: SLICE_NS,
                ..SchedAttr::default()
            };
            set_attr(&attr).is_ok() && current().is_ok_and(|t| t.slice_ns == SLICE_NS)
        })
    }

    #[test]
    fn without_realtime_it_asks_for_a_short_slice_and_resets_on_fork() {
        if !kernel_has_custom_slices() {
            eprintln!("SKIP: this kernel has no custom EEVDF slices (Linux < 6.12)");
            return;
        }
        let (before, after, child) = on_thread(|| {
            let before = current().expect("getattr");
            let plain = Scheduling {
                guarded_realtime: false,
                ..Scheduling::default()
            };
            let (summary, failed) = apply(&plain);
            assert!(failed.is_empty(), "{failed:?}");
            assert!(summary.contains("time slice 0.1 ms"), "{summary}");
            let after = current().expect("getattr");
            let child = std::thread::spawn(|| current().expect("getattr"))
                .join()
                .expect("child");
            (before, after, child)
        });
        assert_eq!(after.slice_ns, SLICE_NS);
        assert_eq!(after.nice, before.nice, "the nice value is left alone");
        assert!(after.reset_on_fork);
        assert_eq!(
            child.slice_ns, before.slice_ns,
            "threads started later get the default slice"
        );
        assert_ne!(before.slice_ns, SLICE_NS);
        assert!(!child.reset_on_fork);
    }

    /// RLIMIT_RTTIME is process-wide, and without CAP_SYS_RESOURCE a hard
    /// limit only goes down: the two realtime cases run in one test, the
    /// default's 1 s first, then vrrp_rt_priority's 250 ms.
    #[test]
    fn realtime_cases_in_the_order_the_limit_allows() {
        the_default_is_round_robin_1_under_a_one_second_rttime_net();
        realtime_priority_is_round_robin_with_an_rttime_limit_and_not_inherited();
        a_reload_to_the_default_keeps_a_lower_limit_it_cannot_raise();
    }

    /// After vrrp_rt_priority's 250 ms, the default's 1 s needs
    /// CAP_SYS_RESOURCE: without it the thread is realtime all the same,
    /// under the 250 ms still in force.
    fn a_reload_to_the_default_keeps_a_lower_limit_it_cannot_raise() {
        let limited = Scheduling {
            realtime_priority: Some(RtPriority::try_from(7).expect("prio")),
            rlimit_rttime_us: Some(RtTime::try_from(250_000).expect("rttime")),
            ..Scheduling::default()
        };
        let (first, (summary, failed, me)) = on_thread(move || {
            let first = apply(&limited).1;
            let (summary, failed) = apply(&Scheduling::default());
            (first, (summary, failed, current().expect("getattr")))
        });
        if not_permitted(&first) {
            return;
        }
        assert!(failed.is_empty(), "{failed:?}");
        assert!(me.realtime && me.rt_priority == 1, "{me:?}");
        assert!(
            summary.ends_with("RLIMIT_RTTIME 250000 us")
                || summary.ends_with("RLIMIT_RTTIME 1000000 us"),
            "{summary}"
        );
    }

    fn the_default_is_round_robin_1_under_a_one_second_rttime_net() {
        let result = on_thread(|| {
            let (summary, failed) = apply(&Scheduling::default());
            let me = current().expect("getattr");
            let mut rl = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: valid out pointer.
            unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut rl) };
            (summary, failed, me, (rl.rlim_cur, rl.rlim_max))
        });
        let (summary, failed, me, rttime) = result;
        // The rlimit is process-wide: put back what the test runner had.
        let rl = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: valid rlimit.
        unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &rl) };
        if let Some(f) = failed
            .iter()
            .find(|f| f.error.raw_os_error() == Some(libc::EPERM))
        {
            // Not permitted: the short slice still applies, and the one
            // warning says what was not.
            assert!(
                f.to_string()
                    .starts_with("realtime (vrrpd's default) not applied"),
                "{f}"
            );
            eprintln!("SKIP: realtime scheduling not permitted here: {failed:?}");
            return;
        }
        assert!(failed.is_empty(), "{failed:?}");
        assert!(
            me.realtime && me.rt_priority == 1 && me.reset_on_fork,
            "{me:?}"
        );
        assert_eq!(
            summary,
            "SCHED_RR priority 1 (vrrpd's default: while it uses at most 25 % of a CPU), RLIMIT_RTTIME 1000000 us"
        );
        assert_eq!(rttime, (500_000, 1_000_000));
    }

    fn realtime_priority_is_round_robin_with_an_rttime_limit_and_not_inherited() {
        let s = Scheduling {
            realtime_priority: Some(RtPriority::try_from(7).expect("prio")),
            rlimit_rttime_us: Some(RtTime::try_from(250_000).expect("rttime")),
            ..Scheduling::default()
        };
        let result = on_thread(move || {
            let (summary, failed) = apply(&s);
            let me = current().expect("getattr");
            let child = std::thread::spawn(|| current().expect("getattr"))
                .join()
                .expect("child");
            let mut rl = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: valid out pointer.
            unsafe { libc::getrlimit(libc::RLIMIT_RTTIME, &mut rl) };
            (summary, failed, me, child, (rl.rlim_cur, rl.rlim_max))
        });
        let (summary, failed, me, child, rttime) = result;
        if not_permitted(&failed) {
            return;
        }
        assert!(failed.is_empty(), "{failed:?}");
        assert!(me.realtime && me.rt_priority == 7, "{me:?}");
        assert_eq!(summary, "SCHED_RR priority 7, RLIMIT_RTTIME 250000 us");
        assert_eq!(
            rttime,
            (125_000, 250_000),
            "soft at half, hard at the limit"
        );
        assert!(
            !child.realtime,
            "a thread the driver starts is not realtime: {child:?}"
        );
        // The rlimit is process-wide: put back what the test runner had.
        let rl = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: valid rlimit.
        unsafe { libc::setrlimit(libc::RLIMIT_RTTIME, &rl) };
    }

    #[test]
    fn a_nice_value_keeps_the_thread_off_realtime() {
        let s = Scheduling {
            nice: Some(Nice::try_from(0).expect("nice")),
            ..Scheduling::default()
        };
        let me = on_thread(move || {
            let (_, failed) = apply(&s);
            assert!(failed.is_empty(), "{failed:?}");
            current().expect("getattr")
        });
        assert!(!me.realtime, "{me:?}");
    }

    #[test]
    fn the_threads_cpu_time_grows_with_its_work() {
        let (a, b) = on_thread(|| {
            let a = thread_cpu_time().expect("clock");
            let t = std::time::Instant::now();
            let mut x = 0u64;
            while t.elapsed() < std::time::Duration::from_millis(20) {
                x = std::hint::black_box(x.wrapping_add(1));
            }
            (a, thread_cpu_time().expect("clock"))
        });
        assert!(
            b >= a + std::time::Duration::from_millis(10),
            "{a:?} -> {b:?}"
        );
    }

    #[test]
    fn nice_and_cpu_affinity_apply_to_the_thread() {
        let s = Scheduling {
            nice: Some(Nice::try_from(5).expect("nice")),
            cpu_affinity: vec![0],
            ..Scheduling::default()
        };
        let (summary, failed, me, cpus) = on_thread(move || {
            let (summary, failed) = apply(&s);
            let set =
                nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("affinity");
            let cpus: Vec<usize> = (0..nix::sched::CpuSet::count())
                .filter(|c| set.is_set(*c).unwrap_or(false))
                .collect();
            (summary, failed, current().expect("getattr"), cpus)
        });
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(me.nice, 5);
        assert_eq!(cpus, vec![0]);
        assert!(
            summary.contains("nice 5") && summary.ends_with("CPUs [0]"),
            "{summary}"
        );
    }

    #[test]
    fn a_cpu_that_does_not_exist_is_reported_and_the_rest_applies() {
        let s = Scheduling {
            nice: Some(Nice::try_from(3).expect("nice")),
            cpu_affinity: vec![1000],
            ..Scheduling::default()
        };
        let (failed, me) = on_thread(move || {
            let (_, failed) = apply(&s);
            (failed, current().expect("getattr"))
        });
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0]
            .to_string()
            .starts_with("vrrp_cpu_affinity [1000] not applied"));
        assert_eq!(me.nice, 3);
    }
}
