//! The VRRP state machine (RFC 9568 §6.4 with keepalived's semantics).
