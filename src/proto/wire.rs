//! VRRPv2/v3 advertisement wire format (RFC 3768 §5, RFC 9568 §5).
