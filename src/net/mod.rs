//! Linux adapters: the only code that touches file descriptors.
//!
//! [`socket`] carries VRRP adverts over raw IP sockets, [`announce`] sends
//! gratuitous ARP / unsolicited NA frames over AF_PACKET, [`netlink`] manages
//! addresses and watches links.

pub mod announce;
pub mod netlink;
pub mod socket;
