//! What the daemon tells the world outside the network: the control socket
//! (`vrrpd status`, `status -w`, demote, promote, reload), the Prometheus
//! endpoint, and the notify scripts and FIFO. Each renders the instances
//! the driver core keeps (through the typed view in `daemon::view` for
//! status and watch); none decides anything about them. keepalived's dump
//! files are written by `daemon::dump`, next to the signals that ask for
//! them.

pub mod control;
pub mod metrics;
pub mod notify;
pub mod smtp;
