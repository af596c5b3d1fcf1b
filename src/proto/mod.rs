//! The pure protocol core: no tokio, no sockets, no clock reads.
//!
//! Inputs arrive with the caller's `now`; outputs are plain values the driver
//! executes. See `../DESIGN.md` and RFC 9568 §6.

pub mod auth_hmac;
pub mod fsm;
pub mod sync;
pub mod timers;
pub mod types;
pub mod wire;

pub use timers::{Centis, Instant};
pub use types::{virtual_mac, Family, Priority, Version, Vrid};
