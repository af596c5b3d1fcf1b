//! Protocol value types: VRID, priority, version, address family, virtual MAC.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Virtual Router Identifier, 1..=255 (RFC 9568 §5.2.3; 0 is not a valid VRID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Vrid(u8);

impl Vrid {
    /// `None` for 0, the one value the wire field can carry that is not a VRID.
    pub const fn new(value: u8) -> Option<Self> {
        if value == 0 {
            None
        } else {
            Some(Vrid(value))
        }
    }

    pub const fn get(self) -> u8 {
        self.0
    }
}

/// The error for a value outside a type's valid range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value} is outside {range}")]
pub struct OutOfRange {
    pub what: &'static str,
    pub value: i64,
    pub range: &'static str,
}

impl TryFrom<u8> for Vrid {
    type Error = OutOfRange;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Vrid::new(value).ok_or(OutOfRange {
            what: "virtual router id",
            value: value.into(),
            range: "1..=255",
        })
    }
}

impl From<Vrid> for u8 {
    fn from(vrid: Vrid) -> u8 {
        vrid.0
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A VRRP priority as carried on the wire.
///
/// 0 means "the Master stopped participating" (RFC 9568 §6.4.3), 255 means
/// "this router owns the virtual addresses", 1..=254 are backup priorities.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Priority(pub u8);

impl Priority {
    /// Sent by a Master that resigns (shutdown, fault).
    pub const RESIGN: Priority = Priority(0);
    /// The address owner (RFC 9568 §6.1).
    pub const OWNER: Priority = Priority(255);
    /// keepalived's default priority.
    pub const DEFAULT: Priority = Priority(100);
    /// The highest priority a non-owner can reach through tracker weights.
    pub const MAX_BACKUP: Priority = Priority(254);

    pub const fn get(self) -> u8 {
        self.0
    }

    pub const fn is_owner(self) -> bool {
        self.0 == 255
    }

    pub const fn is_resign(self) -> bool {
        self.0 == 0
    }

    /// Effective priority: `base` plus the sum of tracker adjustments,
    /// clamped to 1..=254. An owner is never adjusted (keepalived
    /// `vrrp_set_effective_priority`; RFC 9568 §6.1 reserves 255 for the owner).
    pub fn adjusted(self, total_adjustment: i32) -> Priority {
        if self.is_owner() {
            return self;
        }
        let total = i32::from(self.0).saturating_add(total_adjustment);
        // The clamp bounds are 1..=254, so the cast cannot truncate.
        Priority(total.clamp(1, 254) as u8)
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The VRRP protocol version an instance speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    /// RFC 3768: IPv4 only, intervals in whole seconds, optional PASS auth.
    V2,
    /// RFC 9568 (ex-5798): IPv4 and IPv6, intervals in centiseconds, no auth.
    V3,
}

impl Version {
    /// The value of the header's 4-bit version field.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.number().fmt(f)
    }
}

/// IP address family of an instance (all its virtual addresses share it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// Bytes one address occupies in an advertisement.
    pub const fn addr_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// The virtual router MAC address, RFC 9568 §7.3:
/// 00-00-5E-00-01-{VRID} for IPv4, 00-00-5E-00-02-{VRID} for IPv6.
pub const fn virtual_mac(family: Family, vrid: Vrid) -> [u8; 6] {
    let kind = match family {
        Family::Ipv4 => 0x01,
        Family::Ipv6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, kind, vrid.0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrid_rejects_zero_and_accepts_1_to_255() {
        assert!(Vrid::new(0).is_none());
        assert!(Vrid::try_from(0u8).is_err());
        assert_eq!(Vrid::new(1).map(Vrid::get), Some(1));
        assert_eq!(Vrid::new(255).map(Vrid::get), Some(255));
    }

    #[test]
    fn virtual_mac_per_family() {
        let vrid = Vrid::new(0x33).unwrap();
        assert_eq!(
            virtual_mac(Family::Ipv4, vrid),
            [0x00, 0x00, 0x5e, 0x00, 0x01, 0x33]
        );
        assert_eq!(
            virtual_mac(Family::Ipv6, vrid),
            [0x00, 0x00, 0x5e, 0x00, 0x02, 0x33]
        );
    }

    #[test]
    fn effective_priority_is_base_plus_weights_clamped_to_1_254() {
        assert_eq!(Priority(100).adjusted(-2), Priority(98));
        assert_eq!(Priority(100).adjusted(50), Priority(150));
        assert_eq!(Priority(100).adjusted(200), Priority(254));
        assert_eq!(Priority(100).adjusted(-300), Priority(1));
        assert_eq!(Priority(1).adjusted(i32::MIN), Priority(1));
        assert_eq!(Priority(254).adjusted(i32::MAX), Priority(254));
    }

    #[test]
    fn owner_priority_is_never_adjusted() {
        assert_eq!(Priority::OWNER.adjusted(-100), Priority::OWNER);
        assert_eq!(Priority::OWNER.adjusted(100), Priority::OWNER);
    }
}
