//! keepalived's linkbeat: an interface's link state read by polling the
//! driver (ETHTOOL_GLINK, then the interface flags) instead of from
//! netlink, for drivers that do not report carrier changes
//! (`linkbeat_interfaces`, `linkbeat_use_polling`). keepalived polls once a
//! second ([`PERIOD`]); it also tries the MII registers first, which only
//! old PHY drivers without ethtool need.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// keepalived's POLLING_DELAY.
pub const PERIOD: Duration = Duration::from_secs(1);

/// `ETHTOOL_GLINK` from linux/ethtool.h.
const ETHTOOL_GLINK: u32 = 0x0000_000a;

/// `struct ethtool_value`.
#[repr(C)]
struct EthtoolValue {
    cmd: u32,
    data: u32,
}

/// A datagram socket to ask the kernel with.
pub struct Prober {
    fd: OwnedFd,
}

impl Prober {
    pub fn new() -> io::Result<Prober> {
        // SAFETY: socket(2) with constant arguments; the result is checked.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just returned by socket(2), owned by nobody else.
        Ok(Prober {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    fn request(ifname: &str) -> io::Result<libc::ifreq> {
        let bytes = ifname.as_bytes();
        if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        // SAFETY: ifreq is plain data: all zeroes is a valid value.
        let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
        for (d, s) in ifr.ifr_name.iter_mut().zip(bytes) {
            *d = *s as libc::c_char;
        }
        Ok(ifr)
    }

    /// Whether `ifname`'s link is up as keepalived's linkbeat sees it: the
    /// driver's ETHTOOL_GLINK (when it answers), and IFF_UP and
    /// IFF_RUNNING in the interface flags (keepalived's if_ioctl_flags()).
    pub fn link_up(&self, ifname: &str) -> io::Result<bool> {
        let mut value = EthtoolValue {
            cmd: ETHTOOL_GLINK,
            data: 0,
        };
        let mut ifr = Self::request(ifname)?;
        ifr.ifr_ifru.ifru_data = std::ptr::addr_of_mut!(value).cast();
        // SAFETY: SIOCETHTOOL reads and writes the ethtool_value that
        // ifru_data points to, which lives until the call returns.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCETHTOOL, &mut ifr) };
        if rc == 0 && value.data == 0 {
            return Ok(false);
        }
        // No ethtool (EOPNOTSUPP): the flags alone, as keepalived's
        // "NIC ioctl refresh polling".
        let mut ifr = Self::request(ifname)?;
        // SAFETY: SIOCGIFFLAGS fills ifru_flags of the ifreq passed.
        let rc = unsafe { libc::ioctl(self.fd.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: SIOCGIFFLAGS set the flags member of the union.
        let flags = i32::from(unsafe { ifr.ifr_ifru.ifru_flags });
        Ok(flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0)
    }
}

/// `ifname`'s index, or `None` if it does not exist.
pub fn index_of(ifname: &str) -> Option<u32> {
    let name = std::ffi::CString::new(ifname).ok()?;
    // SAFETY: a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_up_and_a_bad_name_is_refused() {
        let p = Prober::new().unwrap();
        assert!(p.link_up("lo").unwrap());
        assert!(p.link_up("").is_err());
        assert!(p.link_up("a-name-far-too-long").is_err());
        assert!(p.link_up("nosuchif0").is_err());
        assert_eq!(index_of("lo"), Some(1));
        assert_eq!(index_of("nosuchif0"), None);
    }
}
