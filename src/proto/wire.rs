//! VRRPv2/v3 advertisement wire format (RFC 3768 §5, RFC 9568 §5).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::timers::Centis;
use super::types::{Priority, Version, Vrid};

/// VRRPv2 authentication (RFC 3768 §5.3.6). VRRPv3 has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Auth {
    /// Type 0; v2 still carries 8 zero bytes.
    None,
    /// Type 1, "simple text password": 8 bytes, zero padded.
    SimpleText([u8; 8]),
}

/// A parsed, validated advertisement: what the state machine consumes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdvertRepr {
    pub version: Version,
    pub vrid: Vrid,
    pub priority: Priority,
    /// The advertised interval in centiseconds for both versions
    /// (v2's whole seconds are converted by the codec).
    pub max_advert_int: Centis,
    /// The virtual addresses, all of one family.
    pub addresses: Vec<IpAddr>,
    /// Always `Auth::None` for v3.
    pub auth: Auth,
}
