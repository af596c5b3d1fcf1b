//! keepalived's `startup_script` and `shutdown_script` (main.c): run once,
//! the first before VRRP starts (the daemon waits for it), the second after
//! a clean stop removed the addresses (the daemon exits when it ends). Each
//! within its timeout, then its process group is killed (SIGTERM, SIGKILL
//! [`KILL_GRACE`](crate::track::script::KILL_GRACE) later), as keepalived's
//! `handle_child_timeout`. The same admission as every other command
//! (script security, user), through [`admit`].

use std::time::Duration;

use tracing::{info, warn};

use crate::config::{Command, Global};
use crate::track::script::{admit, refused_line, run_once, unsafe_line, Outcome};

/// Which of the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Startup,
    Shutdown,
}

impl Hook {
    fn name(self) -> &'static str {
        match self {
            Hook::Startup => "startup_script",
            Hook::Shutdown => "shutdown_script",
        }
    }

    /// The command and its timeout, if configured.
    pub fn of(self, g: &Global) -> Option<(Command, Duration)> {
        let (cmd, secs) = match self {
            Hook::Startup => (&g.startup_script, g.startup_script_timeout),
            Hook::Shutdown => (&g.shutdown_script, g.shutdown_script_timeout),
        };
        cmd.clone()
            .map(|c| (c, Duration::from_secs(u64::from(secs))))
    }
}

/// What the log says about a finished run: (is it a failure, the line).
/// keepalived logs a non-zero exit and a timeout; success only in detail.
pub fn outcome_line(hook: Hook, cmd: &str, timeout: Duration, outcome: &Outcome) -> (bool, String) {
    let what = format!("{} `{cmd}`", hook.name());
    match outcome {
        Outcome::Exited(0) => (false, format!("{what} succeeded")),
        Outcome::Exited(code) => (true, format!("{what} failed, status {code}")),
        Outcome::Signalled(sig) => (true, format!("{what} ended by signal {sig}")),
        Outcome::TimedOut => (
            true,
            format!(
                "{what} timed out after {} s; its process group was killed",
                timeout.as_secs()
            ),
        ),
        Outcome::SpawnFailed(e) => (true, format!("{what} could not be started: {e}")),
    }
}

/// Runs `hook` of `global` if it is configured and admitted, waiting for it
/// (bounded by its timeout plus the kill grace).
pub async fn run(hook: Hook, global: &Global) {
    let Some((cmd, timeout)) = hook.of(global) else {
        return;
    };
    let what = format!("{} `{}`", hook.name(), cmd.cmd);
    let admitted = match admit(&cmd, global) {
        Ok(a) => a,
        Err(e) => {
            warn!("{}", refused_line(&what, &e));
            return;
        }
    };
    if let Some(why) = &admitted.unsafe_path {
        warn!("{}", unsafe_line(&what, why));
    }
    info!("Running {what}");
    let result = run_once(&admitted.exec, timeout).await;
    let (failed, line) = outcome_line(hook, &cmd.cmd, timeout, &result.outcome);
    if failed {
        warn!("{line}");
    } else {
        info!("{line}");
    }
    let output = result.output.trim();
    if failed && !output.is_empty() {
        warn!("{} output: {output}", hook.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_worded_and_classified() {
        let t = Duration::from_secs(10);
        let l = |o: Outcome| outcome_line(Hook::Startup, "/x a", t, &o);
        assert_eq!(
            l(Outcome::Exited(0)),
            (false, "startup_script `/x a` succeeded".into())
        );
        assert_eq!(
            l(Outcome::Exited(3)),
            (true, "startup_script `/x a` failed, status 3".into())
        );
        assert!(l(Outcome::TimedOut).0);
        assert!(l(Outcome::TimedOut).1.contains("timed out after 10 s"));
        assert!(l(Outcome::Signalled(9)).0);
    }

    #[test]
    fn hooks_take_their_own_command_and_timeout() {
        let g = Global {
            shutdown_script: Some(Command {
                cmd: "/bin/true".into(),
                run_as: None,
            }),
            shutdown_script_timeout: 3,
            ..Global::default()
        };
        assert!(Hook::Startup.of(&g).is_none());
        let (c, t) = Hook::Shutdown.of(&g).unwrap();
        assert_eq!((c.cmd.as_str(), t), ("/bin/true", Duration::from_secs(3)));
    }
}
