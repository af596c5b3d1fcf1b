//! Per-interface sysctls through `/proc/sys/net/ipv{4,6}/conf/IFACE/`:
//! what keepalived sets on an interface for an instance
//! (`promote_secondaries`) and on a VMAC and its base (see
//! `crate::driver::vmac::vmac_sysctls`).
//!
//! The paths are built from interface names the configuration gives, so a
//! name that could leave the directory (`/`, `.`, `..`, empty, longer than
//! IFNAMSIZ) is refused before any file is opened.

use std::path::PathBuf;

/// A sysctl that could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SysctlError {
    #[error("'{0}' is not an interface name")]
    BadName(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: '{text}' is not a number")]
    Parse { path: String, text: String },
}

/// Which `/proc/sys/net/...` tree a sysctl is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tree {
    /// `net/ipv4/conf/IF/`.
    Ipv4,
    /// `net/ipv6/conf/IF/`.
    Ipv6,
}

/// Where sysctls live: `/proc/sys` normally, a directory of the same
/// layout in tests.
#[derive(Debug, Clone)]
pub struct Sysctl {
    root: PathBuf,
}

impl Default for Sysctl {
    fn default() -> Self {
        Sysctl {
            root: PathBuf::from("/proc/sys"),
        }
    }
}

impl Sysctl {
    /// Sysctls under `root` instead of `/proc/sys`.
    pub fn at(root: impl Into<PathBuf>) -> Sysctl {
        Sysctl { root: root.into() }
    }

    fn conf(&self, tree: Tree, ifname: &str, key: &str) -> Result<PathBuf, SysctlError> {
        // IFNAMSIZ is 16 with the NUL; the kernel refuses '/' and ':' is
        // fine (aliases are not interfaces, but a name may hold one).
        let bad = ifname.is_empty()
            || ifname.len() > 15
            || ifname == "."
            || ifname == ".."
            || ifname.contains('/')
            || ifname.contains('\0');
        if bad {
            return Err(SysctlError::BadName(ifname.to_string()));
        }
        let dir = match tree {
            Tree::Ipv4 => "net/ipv4/conf",
            Tree::Ipv6 => "net/ipv6/conf",
        };
        Ok(self.root.join(dir).join(ifname).join(key))
    }

    fn read(&self, ifname: &str, key: &str) -> Result<u32, SysctlError> {
        self.get(Tree::Ipv4, ifname, key)
    }

    /// Reads `key` of `ifname` in `tree`.
    pub fn get(&self, tree: Tree, ifname: &str, key: &str) -> Result<u32, SysctlError> {
        let path = self.conf(tree, ifname, key)?;
        let text = std::fs::read_to_string(&path).map_err(|source| SysctlError::Io {
            path: path.display().to_string(),
            source,
        })?;
        text.trim().parse().map_err(|_| SysctlError::Parse {
            path: path.display().to_string(),
            text: text.trim().to_string(),
        })
    }

    fn write(&self, ifname: &str, key: &str, value: u32) -> Result<(), SysctlError> {
        self.set(Tree::Ipv4, ifname, key, value)
    }

    /// Writes `value` to `key` of `ifname` in `tree`.
    pub fn set(&self, tree: Tree, ifname: &str, key: &str, value: u32) -> Result<(), SysctlError> {
        let path = self.conf(tree, ifname, key)?;
        std::fs::write(&path, format!("{value}\n")).map_err(|source| SysctlError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Turns `promote_secondaries` on for `ifname`, as keepalived does for
    /// an instance that asks for it (`set_promote_secondaries()`): when the
    /// primary IPv4 address of a subnet is removed, the kernel promotes a
    /// secondary instead of deleting every secondary with it, so a VIP in
    /// the interface's own subnet survives the loss of the primary.
    /// Returns whether it was off, i.e. whether vrrpd changed it and
    /// should put it back at stop.
    pub fn set_promote_secondaries(&self, ifname: &str) -> Result<bool, SysctlError> {
        if self.read(ifname, "promote_secondaries")? != 0 {
            return Ok(false);
        }
        self.write(ifname, "promote_secondaries", 1)?;
        Ok(true)
    }

    /// Sets `net/ipv4/igmp_link_local_mcast_reports` to 0, as keepalived's
    /// `disable_local_igmp` does at start: no IGMP reports for 224.0.0.0/24
    /// groups (VRRP's among them), which switches must flood anyway (RFC
    /// 4541). Returns whether it was on, i.e. whether to put it back at stop.
    pub fn disable_local_igmp(&self) -> Result<bool, SysctlError> {
        let path = self.root.join("net/ipv4/igmp_link_local_mcast_reports");
        let io = |source| SysctlError::Io {
            path: path.display().to_string(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(io)?;
        if text.trim() == "0" {
            return Ok(false);
        }
        std::fs::write(&path, "0\n").map_err(io)?;
        Ok(true)
    }

    /// Puts `igmp_link_local_mcast_reports` back on (keepalived's
    /// `reset_disable_local_igmp()` at stop).
    pub fn reset_local_igmp(&self) -> Result<(), SysctlError> {
        let path = self.root.join("net/ipv4/igmp_link_local_mcast_reports");
        std::fs::write(&path, "1\n").map_err(|source| SysctlError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Puts `promote_secondaries` back off (keepalived's
    /// `reset_promote_secondaries()` at shutdown), for an interface where
    /// [`Sysctl::set_promote_secondaries`] turned it on.
    pub fn reset_promote_secondaries(&self, ifname: &str) -> Result<(), SysctlError> {
        self.write(ifname, "promote_secondaries", 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(ifname: &str, value: &str) -> (Sysctl, PathBuf) {
        let root = std::env::temp_dir().join(format!(
            "vrrpd-sysctl-{}-{ifname}-{value}",
            std::process::id()
        ));
        let dir = root.join("net/ipv4/conf").join(ifname);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("promote_secondaries"), value).unwrap();
        (Sysctl::at(&root), dir.join("promote_secondaries"))
    }

    #[test]
    fn promote_secondaries_is_set_only_when_off_and_reset_to_off() {
        let (s, file) = tree("eth0", "0\n");
        assert!(s.set_promote_secondaries("eth0").unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "1\n");
        s.reset_promote_secondaries("eth0").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "0\n");
        // Already on (set by the operator): left alone, nothing to restore.
        let (s, file) = tree("eth1", "1\n");
        assert!(!s.set_promote_secondaries("eth1").unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "1\n");
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        let s = Sysctl::at("/nonexistent");
        for bad in ["", ".", "..", "../../x", "a/b", "sixteen_chars_xx"] {
            assert!(
                matches!(s.set_promote_secondaries(bad), Err(SysctlError::BadName(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            s.set_promote_secondaries("eth0"),
            Err(SysctlError::Io { .. })
        ));
    }

    #[test]
    fn local_igmp_is_turned_off_once_and_put_back() {
        let dir = std::env::temp_dir().join(format!("vrrpd-igmp-{}", std::process::id()));
        let file = dir.join("net/ipv4/igmp_link_local_mcast_reports");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "1\n").unwrap();
        let s = Sysctl::at(&dir);
        assert!(s.disable_local_igmp().unwrap());
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), "0");
        assert!(
            !s.disable_local_igmp().unwrap(),
            "already off: not ours to reset"
        );
        s.reset_local_igmp().unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), "1");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
