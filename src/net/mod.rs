//! Linux adapters for the network: VRRP's own sockets, announcement frames
//! and rtnetlink. Other descriptors live with their users: the advert
//! timer (a timerfd) in `daemon::timer`, the control socket in `control`,
//! the metrics HTTP server in `daemon::metrics`, probes' connections and
//! scripts' pipes in `track`.
//!
//! [`socket`] carries VRRP adverts over raw IP sockets, [`announce`] sends
//! gratuitous ARP / unsolicited NA frames over AF_PACKET, [`netlink`] manages
//! addresses and watches links, [`sysctl`] sets the per-interface sysctls
//! keepalived sets (`promote_secondaries`), [`nft`] builds and applies
//! accept mode's nftables batches (through the `nft` binary), [`vmac`]
//! creates and deletes the macvlans of `use_vmac`, [`netns`] enters the
//! namespace of `net_namespace`.

pub mod announce;
pub mod cloud;
pub mod linkbeat;
pub mod netlink;
pub mod netns;
pub mod nft;
pub mod socket;
pub mod sysctl;
pub mod vmac;
