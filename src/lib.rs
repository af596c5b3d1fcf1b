//! vrrpd: a VRRPv2/v3 failover daemon, a drop-in for keepalived's VRRP side.
//!
//! `proto` is the sans-IO protocol core (wire format and state machine); it
//! reads no clock and touches no socket. Linux adapters and the driver build
//! on it.

pub mod config;
pub mod control;
pub mod daemon;
pub mod driver;
pub mod net;
pub mod proto;
pub mod track;
