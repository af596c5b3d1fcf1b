//! `vrrpd generate-assets DIR` (packaging, not in help): the man pages and shell completions
//! the Debian package ships, produced from the clap definition itself so they
//! never drift from the binary, and without a network or a build script.
//!
//! Layout under DIR (what `[package.metadata.deb]` assets point at):
//! `man/vrrpd.8`, `man/vrrpd-SUBCOMMAND.8`, `completions/vrrpd.bash`,
//! `completions/_vrrpd` (zsh), `completions/vrrpd.fish`.

use std::io::{self, Write};
use std::path::Path;

use clap_complete::Shell;
use clap_mangen::Man;

/// vrrpd(8)'s sections clap knows nothing about, in roff.
const MAIN_PAGE_EXTRA: &str = r#".SH FILES
.TP
.I /etc/vrrpd/vrrpd.toml
Native configuration, used when present.
.TP
.I /etc/keepalived/keepalived.conf
Read otherwise, unchanged (keepalived's syntax and defaults).
.TP
.I /run/vrrpd/vrrpd.sock
Control socket of \fBvrrpd status\fR; root and the \fBvrrpd\fR group only.
.SH SIGNALS
.TP
.B HUP
Reload. The new file is validated first; with errors the running
configuration stays and the errors are logged with file:line:col.
.TP
.BR TERM ", " INT
Every master sends priority 0 and removes its addresses, then vrrpd exits.
.SH EXIT STATUS
0 on success, 4 when the configuration has errors (\fBcheck\fR, \fB-t\fR,
start), 1 on other failures.
.SH SEE ALSO
.BR keepalived (8),
.BR keepalived.conf (5),
.BR systemd.service (5),
.BR journalctl (1)
"#;

/// Writes every asset under `dir`; returns the files written.
pub fn generate(cmd: clap::Command, dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let man_dir = dir.join("man");
    let comp_dir = dir.join("completions");
    std::fs::create_dir_all(&man_dir)?;
    std::fs::create_dir_all(&comp_dir)?;
    let mut written = Vec::new();

    // The daemon is a system administration command: section 8, like
    // keepalived(8). Built first so subcommands carry "vrrpd-check" names.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    for (i, page) in pages(&cmd).into_iter().enumerate() {
        let path = man_dir.join(format!("{}.8", page_name(&page)));
        let mut file = std::fs::File::create(&path)?;
        let man = Man::new(page)
            .section("8")
            .manual("System Manager's Manual");
        man.render(&mut file)?;
        if i == 0 {
            file.write_all(MAIN_PAGE_EXTRA.as_bytes())?;
        }
        written.push(path);
    }

    for (shell, name) in [
        (Shell::Bash, "vrrpd.bash"),
        (Shell::Zsh, "_vrrpd"),
        (Shell::Fish, "vrrpd.fish"),
    ] {
        let path = comp_dir.join(name);
        let mut file = std::fs::File::create(&path)?;
        clap_complete::generate(shell, &mut cmd, "vrrpd", &mut file);
        written.push(path);
    }
    Ok(written)
}

/// The command and its visible subcommands (one page each).
fn pages(cmd: &clap::Command) -> Vec<clap::Command> {
    let mut out = vec![cmd.clone()];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.extend(pages(sub));
    }
    out
}

fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}
