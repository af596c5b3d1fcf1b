//! Running a privileged test inside a network namespace (shared by the
//! socket and netlink tests).

use std::fs::File;
use std::future::Future;

use nix::sched::{setns, CloneFlags};

/// Moves the calling thread into the network namespace `ns` (a name under
/// /run/netns).
pub fn enter(ns: &str) {
    let file = File::open(format!("/run/netns/{ns}")).unwrap();
    setns(file, CloneFlags::CLONE_NEWNET).unwrap();
}

/// Runs `test` on a fresh thread with a current-thread runtime, in `ns`
/// first when given, so namespace switches never touch the test harness's
/// threads.
pub fn run_on_fresh_thread<Fut>(ns: Option<&str>, test: impl FnOnce() -> Fut + Send)
where
    Fut: Future<Output = ()>,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(ns) = ns {
                enter(ns);
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(test());
        });
    });
}
