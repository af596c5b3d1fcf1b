//! vrrpd: a VRRPv2/v3 failover daemon, a drop-in for keepalived's VRRP side.
//!
//! `proto` is the sans-IO protocol core (wire format and state machine) and
//! `driver` the sans-IO core one level up (which instance, which fault,
//! which group, what a reload changes); neither reads a clock nor touches a
//! socket. `config` is pure too. `net` and `track` are the Linux adapters,
//! `daemon` the tokio shell that runs the driver's effects.

pub mod config;
pub mod daemon;
pub mod driver;
pub mod net;
pub mod output;
pub mod proto;
pub mod track;
