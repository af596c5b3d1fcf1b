//! keepalived's `net_namespace NAME` (namespaces.c `set_namespaces`): the
//! daemon moves into the named network namespace, `ip netns`'s
//! `/run/netns/NAME`, before it opens any socket or starts any thread, so
//! every socket, netlink request and thread (each inherits its creator's
//! namespace) lives there.

use std::path::PathBuf;

use nix::sched::{setns, CloneFlags};

/// Where `ip netns add NAME` pins a namespace (keepalived's `netns_dir`,
/// `/var/run/netns/`, the same directory through the /var/run link).
pub const NETNS_DIR: &str = "/run/netns";

/// Why the daemon could not enter its namespace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetnsError {
    #[error("network namespace {name}: cannot open {}: {source}", path.display())]
    Open {
        name: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("network namespace {name}: setns: {source}")]
    Setns {
        name: String,
        #[source]
        source: nix::Error,
    },
}

/// The file `ip netns` pins namespace `name` at.
pub fn path_of(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// Moves the calling thread into network namespace `name`. Threads
/// started afterwards by this thread are in it too; threads started
/// before are not (call it before any).
pub fn enter(name: &str) -> Result<(), NetnsError> {
    let path = path_of(name);
    let file = std::fs::File::open(&path).map_err(|source| NetnsError::Open {
        name: name.to_string(),
        path: path.clone(),
        source,
    })?;
    setns(&file, CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Setns {
        name: name.to_string(),
        source,
    })
}
