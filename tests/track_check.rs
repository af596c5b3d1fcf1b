//! `vrrpd check` for scripts: located warnings naming the path and why.

use std::os::unix::fs::PermissionsExt;

use vrrpd::config::{load_str, LoadOptions};
use vrrpd::track::check::script_checks;

#[test]
fn missing_non_executable_and_unsafe_scripts_are_flagged_with_a_location() {
    let d = std::env::temp_dir().join(format!("vrrpd-check-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let plain = d.join("plain.sh");
    std::fs::write(&plain, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
    let ww = d.join("ww.sh");
    std::fs::write(&ww, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o777)).unwrap();
    let conf = format!(
        "global_defs {{\n    enable_script_security\n    script_user root\n}}\n\
         vrrp_script a {{\n    script \"/nonexistent/check.sh\"\n}}\n\
         vrrp_script b {{\n    script \"{} x\"\n}}\n\
         vrrp_script c {{\n    script \"{}\"\n}}\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {{\n        192.0.2.100\n    }}\n\
         \x20   track_script {{\n        a\n        b\n        c\n    }}\n}}\n",
        plain.display(),
        ww.display()
    );
    let loaded = load_str("k.conf", &conf, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let diags = script_checks(&loaded.config, &loaded.spans);
    let text: Vec<String> = diags.iter().map(|d| d.to_string()).collect();
    assert_eq!(diags.len(), 3, "{text:#?}");
    assert!(text[0].starts_with("k.conf:20:5: warning:"), "{text:#?}");
    assert!(text[0].contains("Cannot find script /nonexistent/check.sh"));
    assert!(text[1].contains("plain.sh is not executable"));
    // Run as root the mode is the reason; otherwise the owner is.
    assert!(
        text[2].contains("Unsafe permissions found for script VRRP_Script(c) `")
            && text[2].contains("ww.sh")
            && text[2].contains(" - disabling"),
        "{text:#?}"
    );
}

#[test]
fn commands_without_a_user_are_said_to_run_unprivileged() {
    let conf = "vrrp_script a {\n    script \"/bin/true\"\n}\n\
         vrrp_instance VI_1 {\n    interface eth0\n    virtual_router_id 51\n    virtual_ipaddress {\n        192.0.2.100\n    }\n\
         \x20   track_script {\n        a\n    }\n}\n";
    let loaded = load_str("u.conf", conf, &LoadOptions::default());
    let text: Vec<String> = script_checks(&loaded.config, &loaded.spans)
        .iter()
        .map(|d| d.to_string())
        .collect();
    if matches!(
        nix::unistd::User::from_name("keepalived_script"),
        Ok(Some(_))
    ) {
        // keepalived's own default user exists: nothing to say.
        assert!(text.is_empty(), "{text:#?}");
        return;
    }
    assert_eq!(text.len(), 1, "{text:#?}");
    assert!(
        text[0].starts_with(
            "u.conf:10:5: warning: scripts and notify commands without a user will run as 'nobody'"
        ),
        "{text:#?}"
    );
    // With script_user set, the user chose: nothing to say.
    let with_user = conf.replace(
        "vrrp_script",
        "global_defs {\n    script_user root\n}\nvrrp_script",
    );
    let loaded = load_str("u.conf", &with_user, &LoadOptions::default());
    assert!(script_checks(&loaded.config, &loaded.spans).is_empty());
}

#[test]
fn sync_group_notify_commands_are_checked_at_the_group() {
    let d = std::env::temp_dir().join(format!("vrrpd-check-group-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ww = d.join("ww.sh");
    std::fs::write(&ww, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&ww, std::fs::Permissions::from_mode(0o777)).unwrap();
    let inst = |name: &str, vrid: u8| {
        format!("vrrp_instance {name} {{\n    interface eth0\n    virtual_router_id {vrid}\n    virtual_ipaddress {{\n        192.0.2.{vrid}\n    }}\n}}\n")
    };
    let conf = format!(
        "global_defs {{\n    enable_script_security\n    script_user root\n}}\n{}{}\
         vrrp_sync_group G1 {{\n    group {{\n        VI_1\n        VI_2\n    }}\n    notify_fault \"{} x\"\n}}\n",
        inst("VI_1", 1),
        inst("VI_2", 2),
        ww.display()
    );
    let loaded = load_str("g.conf", &conf, &LoadOptions::default());
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let text: Vec<String> = script_checks(&loaded.config, &loaded.spans)
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(text.len(), 1, "{text:#?}");
    let want = format!(
        "g.conf:19:1: warning: Unsafe permissions found for script VRRP_Group(G1) notify_fault `{} x`: ",
        ww.display()
    );
    assert!(text[0].starts_with(&want), "{text:#?}");
}
