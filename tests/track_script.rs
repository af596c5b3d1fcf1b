//! Script execution: exit status, timeout kills the process group, bounded output.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use vrrpd::config::{Command, Global};
use vrrpd::track::script::{insecure_path, run_once, Exec, Outcome, OUTPUT_LIMIT};

fn script(dir: &std::path::Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vrrpd-track-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Ourselves as `script_user`: as root, a command naming no user would
/// otherwise run as an unprivileged user that cannot write our temp files.
fn me() -> Global {
    let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .unwrap();
    Global {
        script_user: Some(vrrpd::config::RunAs {
            user: user.name,
            group: None,
        }),
        ..Global::default()
    }
}

fn exec(cmd: &str) -> Exec {
    let c = Command {
        cmd: cmd.to_string(),
        run_as: None,
    };
    Exec::resolve(&c, &me()).unwrap()
}

#[tokio::test]
async fn exit_status_and_arguments() {
    let d = tmpdir("exit");
    let s = script(&d, "x.sh", "exit \"$1\"");
    assert_eq!(
        run_once(&exec(&format!("{s} 0")), Duration::from_secs(5))
            .await
            .outcome,
        Outcome::Exited(0)
    );
    assert_eq!(
        run_once(&exec(&format!("{s} 3")), Duration::from_secs(5))
            .await
            .outcome,
        Outcome::Exited(3)
    );
    // PATH lookup like keepalived, no shell.
    assert_eq!(
        run_once(&exec("true"), Duration::from_secs(5))
            .await
            .outcome,
        Outcome::Exited(0)
    );
}

#[tokio::test]
async fn missing_and_non_executable_scripts_are_refused() {
    let d = tmpdir("missing");
    let c = |cmd: &str| Command {
        cmd: cmd.into(),
        run_as: None,
    };
    let e = Exec::resolve(&c("/nonexistent/check.sh"), &Global::default()).unwrap_err();
    assert!(e.to_string().contains("Cannot find script"), "{e}");
    let p = d.join("plain.sh");
    std::fs::write(&p, "exit 0\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Exec::resolve(&c(&p.display().to_string()), &Global::default()).unwrap_err();
    assert!(e.to_string().contains("not executable"), "{e}");
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let d = tmpdir("timeout");
    let pidfile = d.join("child.pid");
    // The script starts a grandchild that would outlive it.
    let s = script(
        &d,
        "slow.sh",
        &format!("sleep 30 & echo $! > {}\nwait", pidfile.display()),
    );
    let started = std::time::Instant::now();
    let r = run_once(&exec(&s), Duration::from_millis(300)).await;
    assert_eq!(r.outcome, Outcome::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // Reaped by init (or us) shortly after SIGTERM to the group.
    let mut gone = false;
    for _ in 0..50 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat.is_empty() || stat.contains(") Z") {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "grandchild {pid} survived the timeout");
}

#[tokio::test]
async fn output_is_captured_and_bounded() {
    let d = tmpdir("output");
    let s = script(
        &d,
        "loud.sh",
        "head -c 100000 /dev/zero | tr '\\0' x; echo err >&2; exit 1",
    );
    let r = run_once(&exec(&s), Duration::from_secs(5)).await;
    assert_eq!(r.outcome, Outcome::Exited(1));
    assert!(r.output.len() <= OUTPUT_LIMIT);
    assert!(r.output.starts_with("xxxx"));
}

#[test]
fn script_security_names_the_unsafe_path() {
    let d = tmpdir("security");
    let s = script(&d, "chk.sh", "exit 0");
    std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o777)).unwrap();
    let why = insecure_path(std::path::Path::new(&s)).expect("unsafe");
    // Either owner (non-root test run) or mode is named, with the path.
    assert!(why.contains("chk.sh"), "{why}");
    if nix::unistd::geteuid().is_root() {
        assert!(why.contains("writable by others"), "{why}");
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(insecure_path(std::path::Path::new(&s)), None);
    }
}

#[tokio::test]
async fn runs_as_the_configured_user() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: skipped");
        return;
    }
    let c = Command {
        cmd: "id -u".into(),
        run_as: Some(Box::new(vrrpd::config::RunAs {
            user: "nobody".into(),
            group: None,
        })),
    };
    let e = Exec::resolve(&c, &Global::default()).unwrap();
    assert!(!e.runs_as_root());
    let r = run_once(&e, Duration::from_secs(5)).await;
    assert_eq!(r.outcome, Outcome::Exited(0));
    assert_eq!(r.output.trim(), "65534");
    // script_user is the default for commands without their own user.
    let g = Global {
        script_user: c.run_as.as_deref().cloned(),
        ..Global::default()
    };
    let plain = Command {
        cmd: "id -u".into(),
        run_as: None,
    };
    let r = run_once(&Exec::resolve(&plain, &g).unwrap(), Duration::from_secs(5)).await;
    assert_eq!(r.output.trim(), "65534");
    let bad = Command {
        cmd: "id".into(),
        run_as: Some(Box::new(vrrpd::config::RunAs {
            user: "no-such-user-xyz".into(),
            group: None,
        })),
    };
    assert!(Exec::resolve(&bad, &Global::default()).is_err());
}

#[tokio::test]
async fn without_script_user_root_runs_commands_unprivileged() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("not root: skipped");
        return;
    }
    let plain = Command {
        cmd: "id -u".into(),
        run_as: None,
    };
    let e = Exec::resolve(&plain, &Global::default()).unwrap();
    // keepalived's `keepalived_script` when it exists, else the package's
    // `vrrpd-script`, else `nobody`: never root (keepalived would use root).
    let expected = [
        "keepalived_script",
        vrrpd::track::script::DEDICATED_USER,
        vrrpd::track::script::FALLBACK_USER,
    ]
    .into_iter()
    .find_map(|n| nix::unistd::User::from_name(n).ok().flatten())
    .expect("nobody exists on Debian");
    assert!(!e.runs_as_root());
    let r = run_once(&e, Duration::from_secs(5)).await;
    assert_eq!(r.output.trim(), expected.uid.to_string());
    // `script_user root` keeps keepalived's behaviour.
    let root = Global {
        script_user: Some(vrrpd::config::RunAs {
            user: "root".into(),
            group: None,
        }),
        ..Global::default()
    };
    let r = run_once(
        &Exec::resolve(&plain, &root).unwrap(),
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r.output.trim(), "0");
}
