//! Sending one instance's advert through its socket: the bytes for each
//! destination (the group or every unicast peer), now or batched.

use std::net::IpAddr;

use crate::config::Instance;
use crate::driver::params::{checksum_mode, destinations};
use crate::net::socket::{SocketError, VrrpSocket};
use crate::proto::wire::{AdvertRepr, ChecksumMode, Packet, WireError};

/// Why one advert to one destination did not leave.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot build the advert: {0}")]
    Build(#[from] WireError),
    #[error(transparent)]
    Send(#[from] SocketError),
}

/// When [`send_advert`] hands an advert to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Now,
    /// IPv4 adverts wait for [`VrrpSocket::flush`], which reports their
    /// send failures.
    Batched,
}

/// Sends `repr` from `src` to every destination of `inst` (the group, or
/// each unicast peer: the v3 checksum covers the destination, so each gets
/// its own bytes). Returns one result per destination.
pub fn send_advert(
    sock: &VrrpSocket,
    inst: &Instance,
    src: IpAddr,
    repr: &AdvertRepr,
    delivery: Delivery,
) -> Vec<(IpAddr, Result<(), SendError>)> {
    send_to(
        sock,
        &destinations(inst),
        checksum_mode(inst),
        src,
        repr,
        delivery,
    )
}

/// Sends `repr` from `src` to each of `dsts`, summed as `mode` says.
pub fn send_to(
    sock: &VrrpSocket,
    dsts: &[IpAddr],
    mode: ChecksumMode,
    src: IpAddr,
    repr: &AdvertRepr,
    delivery: Delivery,
) -> Vec<(IpAddr, Result<(), SendError>)> {
    dsts.iter()
        .map(|&dst| {
            let mut buf = vec![0u8; repr.buffer_len()];
            let sent = repr
                .emit(&mut Packet::new_unchecked(&mut buf[..]), src, dst, mode)
                .map_err(SendError::from)
                .and_then(|()| {
                    match delivery {
                        Delivery::Now => sock.send(src, dst, &buf),
                        Delivery::Batched => sock.queue(repr.vrid.get(), src, dst, &buf),
                    }
                    .map_err(SendError::from)
                });
            (dst, sent)
        })
        .collect()
}
