//! VRRPv2/v3 advertisement wire format (RFC 3768 §5, RFC 9568 §5).
//!
//! [`Packet`] is a zero-copy view of a VRRP message (the IP payload) with raw
//! field accessors and setters; [`AdvertRepr`] is the validated, typed form
//! the state machine consumes, with [`AdvertRepr::parse`] and
//! [`AdvertRepr::emit`]. Parsing is total: any byte sequence gives a value or
//! a [`WireError`], never a panic.
//!
//! A VRRP message does not say which address family it carries: that comes
//! from the IP header, so parsing and checksums take the IP source and
//! destination. The IP header checks the socket layer needs (TTL, protocol,
//! lengths) are here too, as pure functions: [`parse_ipv4_header`],
//! [`parse_ipv6_header`], [`check_ttl`], [`emit_ipv4_header`].
//!
//! Length policy: the message must be exactly as long as its address count
//! implies (`LengthMismatch` otherwise). The socket layer hands over the IP
//! payload sized by the IP total / payload length, which the kernel has
//! already trimmed of Ethernet padding, so trailing bytes only come from a
//! sender that put them inside the IP datagram; keepalived 2.2 rejects those too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::RangeInclusive;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::timers::{Centis, IntervalError};
use super::types::{Family, Priority, Version, Vrid};

/// IP protocol number (IPv4) / next header (IPv6) of VRRP.
pub const PROTOCOL_VRRP: u8 = 112;
/// IP protocol number of IPsec AH, which VRRPv2 `auth_type AH` puts in front
/// of the VRRP message (RFC 2338 §5.3.6.3). Recognised and refused.
pub const PROTOCOL_AH: u8 = 51;
/// The IPv4 VRRP multicast group (RFC 9568 §5.1.1.2).
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// The IPv6 VRRP multicast group (RFC 9568 §5.1.2.2).
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// The TTL / hop limit VRRP is sent with and, for multicast, must arrive
/// with (RFC 9568 §5.1.1.3, §7.1).
pub const TTL: u8 = 255;
/// IPv4 TOS keepalived sends with: precedence "internetwork control".
pub const IPV4_TOS: u8 = 0xc0;
/// Length of the IPv4 header keepalived builds (no options).
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;
/// Length of the fixed VRRP header, before the addresses.
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 authentication data after the addresses.
pub const AUTH_DATA_LEN: usize = 8;
/// The only VRRP message type: ADVERTISEMENT.
pub const TYPE_ADVERTISEMENT: u8 = 1;

/// Why bytes are not a valid VRRP advertisement or IP header, or why a
/// [`AdvertRepr`] cannot be emitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than the fixed header.
    #[error("packet truncated")]
    Truncated,
    #[error("wrong VRRP version {0}")]
    BadVersion(u8),
    #[error("invalid VRRP packet type {0}")]
    BadType(u8),
    /// The length does not match the address count (and, for v2, the auth data).
    #[error(
        "VRRP packet length {actual} does not match the {expected} bytes its address count implies"
    )]
    LengthMismatch { expected: usize, actual: usize },
    /// `expected` is what the bytes sum to, `got` what the packet carries.
    #[error("invalid VRRP checksum {got:#06x}, expected {expected:#06x}")]
    BadChecksum { expected: u16, got: u16 },
    #[error("invalid virtual router id 0")]
    BadVrid,
    #[error("invalid VRRPv2 authentication type {0}")]
    BadAuthType(u8),
    /// VRRPv2 auth type 2 or an IPsec AH header: RFC 3768 removed it and
    /// vrrpd does not implement it.
    #[error("IPsec AH authentication is not supported")]
    AuthAhUnsupported,
    #[error("advertisement interval 0")]
    ZeroInterval,
    /// An interval the version cannot carry (emit side).
    #[error(transparent)]
    Interval(#[from] IntervalError),
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
    /// The IP source, destination and advertised addresses are not all one family.
    #[error("address family mismatch")]
    FamilyMismatch,
    /// More addresses than the 8-bit count field carries (emit side).
    #[error("{0} addresses do not fit the 8-bit count")]
    TooManyAddresses(usize),
    /// VRRPv3 has no authentication (RFC 9568 §5.2.6).
    #[error("VRRPv3 carries no authentication")]
    AuthOnV3,
    /// The output buffer is not the length the value needs (emit side).
    #[error("buffer of {actual} bytes, need {expected}")]
    BufferLength { expected: usize, actual: usize },
    #[error("IP version {0} in an IPv4/IPv6 header")]
    BadIpVersion(u8),
    #[error("invalid IPv4 header length {0}")]
    BadIpHeaderLen(usize),
    /// The IP header's length field disagrees with the bytes received.
    #[error("IP length {claimed} does not fit the {actual} bytes received")]
    IpLengthMismatch { claimed: usize, actual: usize },
    #[error("invalid IPv4 header checksum")]
    BadIpChecksum,
    /// IP protocol / next header other than 112.
    #[error("IP protocol {0} is not VRRP")]
    NotVrrp(u8),
    #[error("invalid TTL/HL {ttl}, expected {min}..={max}")]
    BadTtl { ttl: u8, min: u8, max: u8 },
}

/// How a VRRPv3 checksum over IPv4 is computed. VRRPv2 never includes a
/// pseudo-header and VRRPv3 over IPv6 always does; the mode only matters for
/// VRRPv3 over IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ChecksumMode {
    /// Include the IPv4 pseudo-header (src, dst, 0, 112, length), RFC 9568
    /// §5.2.8; keepalived's default and what Wireshark expects.
    #[default]
    PseudoHeader,
    /// Sum the VRRP message alone, as VRRPv2 does: keepalived's
    /// `v3_checksum_as_v2`, for peers (some Cisco, Juniper) that do so.
    V2Style,
    /// The pseudo-header with this multicast group as its destination
    /// whatever the real one: what keepalived 1.3.6 and earlier summed for
    /// unicast VRRPv3 over IPv4, and 2.x's `old_unicast_checksum` (its
    /// vrrp.c puts `vrrp_mcast_group4` in `ipv4_phdr.dst`).
    OldUnicast(Ipv4Addr),
}

mod field {
    use std::ops::Range;

    pub const VER_TYPE: usize = 0;
    pub const VRID: usize = 1;
    pub const PRIORITY: usize = 2;
    pub const COUNT: usize = 3;
    /// v2 only.
    pub const AUTH_TYPE: usize = 4;
    /// v2 only, seconds.
    pub const ADVER_INT: usize = 5;
    /// v3 only: 4 reserved bits, 12 bits of centiseconds.
    pub const MAX_ADVER_INT: Range<usize> = 4..6;
    pub const CHECKSUM: Range<usize> = 6..8;
    pub const ADDRESSES: usize = 8;
}

/// A read/write view of a VRRP message (the IP payload).
///
/// [`Packet::new_checked`] guarantees the 8-byte fixed header, so every
/// fixed-field accessor is then panic free. The variable part's length
/// depends on the address family, which only the IP header knows, so its
/// accessors take the family and return `None` when the buffer is short;
/// [`AdvertRepr::parse`] checks the exact length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks: fixed-field accessors panic if it is
    /// shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>, WireError> {
        let packet = Packet::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Err(Truncated)` if the buffer does not hold the fixed header.
    pub fn check_len(&self) -> Result<(), WireError> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(WireError::Truncated)
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole buffer: the bytes the checksum covers.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] >> 4
    }

    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TYPE] & 0x0f
    }

    /// Raw VRID; 0 is invalid.
    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[field::VRID]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[field::PRIORITY]
    }

    pub fn count_ip_addrs(&self) -> u8 {
        self.buffer.as_ref()[field::COUNT]
    }

    /// VRRPv2 Auth Type (RFC 3768 §5.3.6).
    pub fn auth_type(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_TYPE]
    }

    /// VRRPv2 Adver Int, whole seconds (RFC 3768 §5.3.7).
    pub fn advert_int(&self) -> u8 {
        self.buffer.as_ref()[field::ADVER_INT]
    }

    /// VRRPv3 Max Adver Int, 12 bits of centiseconds (RFC 9568 §5.2.7).
    pub fn max_advert_int(&self) -> u16 {
        self.field_u16(field::MAX_ADVER_INT.start) & 0x0fff
    }

    /// VRRPv3's 4 reserved bits in front of Max Adver Int; sent as zero,
    /// ignored on receipt (RFC 9568 §5.2.6).
    pub fn reserved(&self) -> u8 {
        self.buffer.as_ref()[field::MAX_ADVER_INT.start] >> 4
    }

    pub fn checksum(&self) -> u16 {
        self.field_u16(field::CHECKSUM.start)
    }

    /// The message length `count_ip_addrs` implies for `family`: header,
    /// addresses and, for version 2, the authentication data.
    pub fn message_len(&self, family: Family) -> usize {
        let auth = if self.version() == 2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + usize::from(self.count_ip_addrs()) * family.addr_len() + auth
    }

    /// The address bytes for `family`, `None` if the buffer is too short.
    pub fn addresses(&self, family: Family) -> Option<&[u8]> {
        let end = field::ADDRESSES + usize::from(self.count_ip_addrs()) * family.addr_len();
        self.buffer.as_ref().get(field::ADDRESSES..end)
    }

    /// The 8 VRRPv2 authentication bytes after the (IPv4) addresses, `None`
    /// if the buffer is too short.
    pub fn auth_data(&self) -> Option<&[u8]> {
        let start = self.auth_data_offset();
        self.buffer.as_ref().get(start..start + AUTH_DATA_LEN)
    }

    /// The checksum the message should carry, computed with the checksum
    /// field taken as zero. `src`/`dst` feed the pseudo-header when the
    /// version and `mode` call for one (see [`ChecksumMode`]).
    pub fn compute_checksum(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> u16 {
        let bytes = self.buffer.as_ref();
        let mut sum = checksum::sum(bytes.get(..field::CHECKSUM.start).unwrap_or(bytes))
            + checksum::sum(bytes.get(field::CHECKSUM.end..).unwrap_or(&[]));
        if self.uses_pseudo_header(&src, mode) {
            let dst = match (mode, src) {
                (ChecksumMode::OldUnicast(group), IpAddr::V4(_)) => IpAddr::V4(group),
                _ => dst,
            };
            sum += checksum::pseudo_header(src, dst, bytes.len());
        }
        !checksum::fold(sum)
    }

    /// Whether the checksum field is right for this message (see
    /// [`Packet::compute_checksum`]).
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) -> bool {
        self.compute_checksum(src, dst, mode) == self.checksum()
    }

    fn uses_pseudo_header(&self, src: &IpAddr, mode: ChecksumMode) -> bool {
        // RFC 3768 §5.3.8: v2 sums the message only. RFC 9568 §5.2.8: v3 adds
        // the pseudo-header; keepalived's v3_checksum_as_v2 drops it for IPv4 only.
        match (self.version(), src) {
            (2, _) => false,
            (_, IpAddr::V6(_)) => true,
            (_, IpAddr::V4(_)) => mode != ChecksumMode::V2Style,
        }
    }

    fn auth_data_offset(&self) -> usize {
        field::ADDRESSES + usize::from(self.count_ip_addrs()) * Family::Ipv4.addr_len()
    }

    fn field_u16(&self, at: usize) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[at], b[at + 1]])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the 4-bit version.
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Sets the 4-bit message type.
    pub fn set_msg_type(&mut self, msg_type: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TYPE];
        *b = (*b & 0xf0) | (msg_type & 0x0f);
    }

    pub fn set_vrid(&mut self, vrid: u8) {
        self.buffer.as_mut()[field::VRID] = vrid;
    }

    pub fn set_priority(&mut self, priority: u8) {
        self.buffer.as_mut()[field::PRIORITY] = priority;
    }

    pub fn set_count_ip_addrs(&mut self, count: u8) {
        self.buffer.as_mut()[field::COUNT] = count;
    }

    pub fn set_auth_type(&mut self, auth_type: u8) {
        self.buffer.as_mut()[field::AUTH_TYPE] = auth_type;
    }

    pub fn set_advert_int(&mut self, secs: u8) {
        self.buffer.as_mut()[field::ADVER_INT] = secs;
    }

    /// Sets the low 12 bits of Max Adver Int, keeping the reserved bits.
    pub fn set_max_advert_int(&mut self, centis: u16) {
        let value = (u16::from(self.reserved()) << 12) | (centis & 0x0fff);
        self.set_field_u16(field::MAX_ADVER_INT.start, value);
    }

    /// Sets the 4 reserved bits of Max Adver Int.
    pub fn set_reserved(&mut self, bits: u8) {
        let b = &mut self.buffer.as_mut()[field::MAX_ADVER_INT.start];
        *b = (*b & 0x0f) | (bits << 4);
    }

    pub fn set_checksum(&mut self, checksum: u16) {
        self.set_field_u16(field::CHECKSUM.start, checksum);
    }

    /// Mutable address bytes for `family`, `None` if the buffer is too short.
    pub fn addresses_mut(&mut self, family: Family) -> Option<&mut [u8]> {
        let end = field::ADDRESSES + usize::from(self.count_ip_addrs()) * family.addr_len();
        self.buffer.as_mut().get_mut(field::ADDRESSES..end)
    }

    /// Mutable VRRPv2 authentication bytes, `None` if the buffer is too short.
    pub fn auth_data_mut(&mut self) -> Option<&mut [u8]> {
        let start = self.auth_data_offset();
        self.buffer.as_mut().get_mut(start..start + AUTH_DATA_LEN)
    }

    /// Computes and stores the checksum (see [`Packet::compute_checksum`]).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr, mode: ChecksumMode) {
        let checksum = self.compute_checksum(src, dst, mode);
        self.set_checksum(checksum);
    }

    fn set_field_u16(&mut self, at: usize, value: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). VRRPv3 has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Auth {
    /// Type 0; v2 still carries 8 zero bytes.
    None,
    /// Type 1, "simple text password": 8 bytes, zero padded.
    SimpleText([u8; 8]),
}

impl Auth {
    /// A simple-text password as keepalived sends it: the first 8 bytes,
    /// zero padded ("Truncating auth_pass to 8 characters").
    pub fn simple_text(password: &[u8]) -> Auth {
        let mut data = [0; AUTH_DATA_LEN];
        let n = password.len().min(AUTH_DATA_LEN);
        data[..n].copy_from_slice(&password[..n]);
        Auth::SimpleText(data)
    }

    /// The Auth Type field value.
    pub const fn type_code(&self) -> u8 {
        match self {
            Auth::None => 0,
            Auth::SimpleText(_) => 1,
        }
    }
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
    /// The virtual addresses, all of one family. Shared with the
    /// router's parameters: an advert built every interval clones no list.
    pub addresses: Arc<[IpAddr]>,
    /// Always `Auth::None` for v3.
    pub auth: Auth,
}

impl AdvertRepr {
    /// Parses and validates the VRRP message in `packet`, which arrived from
    /// `src` to `dst` (the IP header's addresses; they give the family and
    /// the pseudo-header). To accept a pre-1.3.6 keepalived unicast peer,
    /// which summed 224.0.0.18 as the destination, retry with `dst` =
    /// [`MULTICAST_V4`].
    ///
    /// Checks, in order: families agree, header present, version 2 or 3, v2
    /// not over IPv6, type ADVERTISEMENT, exact length, checksum, VRID ≠ 0,
    /// v2 auth type 0 or 1, interval ≠ 0. Address-list contents and the
    /// password are the state machine's business. A count of 0 is accepted
    /// (keepalived's `no_virtual_ipaddress`). v3's reserved bits and v2
    /// type-0 auth bytes are ignored (RFC 9568 §5.2.6, RFC 2338 §5.3.6.1).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<AdvertRepr, WireError> {
        AdvertRepr::parse_trailed(packet, src, dst, mode, 0)
    }

    /// [`AdvertRepr::parse`] of a message followed by `trailer` bytes
    /// (keepalived's `auth_hmac` trailer, 28, checked by the caller; 0 for
    /// none). The length must then be the message's plus `trailer`. The
    /// IPv4 checksum covers the message only (keepalived sums the VRRP
    /// length); the IPv6 one the whole payload (the kernel sums it).
    pub fn parse_trailed<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
        trailer: usize,
    ) -> Result<AdvertRepr, WireError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family {
            return Err(WireError::FamilyMismatch);
        }
        packet.check_len()?;
        let version = match packet.version() {
            2 => Version::V2,
            3 => Version::V3,
            other => return Err(WireError::BadVersion(other)),
        };
        if version == Version::V2 && family == Family::Ipv6 {
            return Err(WireError::V2OverIpv6);
        }
        if packet.msg_type() != TYPE_ADVERTISEMENT {
            return Err(WireError::BadType(packet.msg_type()));
        }
        let message = packet.message_len(family);
        let expected = message + trailer;
        let actual = packet.as_bytes().len();
        if actual != expected {
            return Err(WireError::LengthMismatch { expected, actual });
        }
        let summed = match family {
            Family::Ipv4 => &packet.as_bytes()[..message],
            Family::Ipv6 => packet.as_bytes(),
        };
        let computed = Packet::new_unchecked(summed).compute_checksum(src, dst, mode);
        if computed != packet.checksum() {
            return Err(WireError::BadChecksum {
                expected: computed,
                got: packet.checksum(),
            });
        }
        let vrid = Vrid::new(packet.vrid()).ok_or(WireError::BadVrid)?;
        let (max_advert_int, auth) = match version {
            Version::V2 => {
                let auth = match packet.auth_type() {
                    0 => Auth::None,
                    1 => {
                        let mut data = [0; AUTH_DATA_LEN];
                        data.copy_from_slice(packet.auth_data().ok_or(WireError::Truncated)?);
                        Auth::SimpleText(data)
                    }
                    2 => return Err(WireError::AuthAhUnsupported),
                    other => return Err(WireError::BadAuthType(other)),
                };
                (Centis::from_secs(packet.advert_int()), auth)
            }
            Version::V3 => (Centis(packet.max_advert_int()), Auth::None),
        };
        if max_advert_int.get() == 0 {
            return Err(WireError::ZeroInterval);
        }
        let bytes = packet.addresses(family).ok_or(WireError::Truncated)?;
        let addresses = bytes
            .chunks_exact(family.addr_len())
            .map(|chunk| {
                let mut octets = [0; 16];
                octets[..chunk.len()].copy_from_slice(chunk);
                match family {
                    Family::Ipv4 => IpAddr::from([octets[0], octets[1], octets[2], octets[3]]),
                    Family::Ipv6 => IpAddr::from(octets),
                }
            })
            .collect();
        Ok(AdvertRepr {
            version,
            vrid,
            priority: Priority(packet.priority()),
            max_advert_int,
            addresses,
            auth,
        })
    }

    /// The length of the emitted message: header, addresses and, for v2,
    /// the authentication data. Assumes every address is of the first
    /// address's family, as [`AdvertRepr::emit`] requires.
    pub fn buffer_len(&self) -> usize {
        let addr_len = self
            .addresses
            .first()
            .map_or(0, |a| Family::of(a).addr_len());
        let auth = match self.version {
            Version::V2 => AUTH_DATA_LEN,
            Version::V3 => 0,
        };
        HEADER_LEN + self.addresses.len() * addr_len + auth
    }

    /// Writes the message into `packet`, whose buffer must be exactly
    /// [`AdvertRepr::buffer_len`] bytes, and fills the checksum for `src` to
    /// `dst`. Fails without panicking on a value the wire cannot carry: an
    /// interval outside the version's range (v2: whole seconds 1..=255, v3:
    /// 1..=4095 cs), more than 255 addresses, addresses not of `src`'s
    /// family, v2 over IPv6 or v3 with auth. Reserved bits are sent as zero.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized>(
        &self,
        packet: &mut Packet<&mut T>,
        src: IpAddr,
        dst: IpAddr,
        mode: ChecksumMode,
    ) -> Result<(), WireError> {
        let family = Family::of(&src);
        if Family::of(&dst) != family || self.addresses.iter().any(|a| Family::of(a) != family) {
            return Err(WireError::FamilyMismatch);
        }
        if self.version == Version::V2 && family == Family::Ipv6 {
            return Err(WireError::V2OverIpv6);
        }
        if self.version == Version::V3 && self.auth != Auth::None {
            return Err(WireError::AuthOnV3);
        }
        let interval = self.max_advert_int.validate(self.version)?;
        let count = u8::try_from(self.addresses.len())
            .map_err(|_| WireError::TooManyAddresses(self.addresses.len()))?;
        let expected = self.buffer_len();
        let actual = packet.as_bytes().len();
        if actual != expected {
            return Err(WireError::BufferLength { expected, actual });
        }

        packet.set_version(self.version.number());
        packet.set_msg_type(TYPE_ADVERTISEMENT);
        packet.set_vrid(self.vrid.get());
        packet.set_priority(self.priority.get());
        packet.set_count_ip_addrs(count);
        match self.version {
            Version::V2 => {
                packet.set_auth_type(self.auth.type_code());
                // validate() guarantees whole seconds 1..=255.
                packet.set_advert_int(u8::try_from(interval.get() / 100).unwrap_or(u8::MAX));
            }
            Version::V3 => {
                packet.set_reserved(0);
                packet.set_max_advert_int(interval.get());
            }
        }
        packet.set_checksum(0);
        if let Some(out) = packet.addresses_mut(family) {
            for (chunk, addr) in out
                .chunks_exact_mut(family.addr_len())
                .zip(self.addresses.iter())
            {
                match addr {
                    IpAddr::V4(a) => chunk.copy_from_slice(&a.octets()),
                    IpAddr::V6(a) => chunk.copy_from_slice(&a.octets()),
                }
            }
        }
        if self.version == Version::V2 {
            let data = match self.auth {
                Auth::None => [0; AUTH_DATA_LEN],
                Auth::SimpleText(data) => data,
            };
            if let Some(out) = packet.auth_data_mut() {
                out.copy_from_slice(&data);
            }
        }
        packet.fill_checksum(src, dst, mode);
        Ok(())
    }
}

/// What the socket layer needs from a received IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Meta {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub tos: u8,
    pub ident: u16,
    pub ttl: u8,
    pub protocol: u8,
    /// IHL × 4.
    pub header_len: usize,
    /// The Total Length field; bytes after it (Ethernet padding) are ignored.
    pub total_len: usize,
}

impl Ipv4Meta {
    /// The VRRP message inside `datagram` (the buffer this was parsed from).
    pub fn payload<'a>(&self, datagram: &'a [u8]) -> &'a [u8] {
        datagram.get(self.header_len..self.total_len).unwrap_or(&[])
    }
}

/// Validates an IPv4 header carrying VRRP: version 4, IHL ≥ 5 and within the
/// buffer, Total Length within the buffer and not shorter than the header,
/// header checksum, protocol 112 (an AH header, protocol 51, is refused as
/// [`WireError::AuthAhUnsupported`]). TTL is the caller's, see [`check_ttl`].
pub fn parse_ipv4_header(datagram: &[u8]) -> Result<Ipv4Meta, WireError> {
    let fixed = datagram
        .get(..IPV4_HEADER_LEN)
        .ok_or(WireError::Truncated)?;
    let version = fixed[0] >> 4;
    if version != 4 {
        return Err(WireError::BadIpVersion(version));
    }
    let header_len = usize::from(fixed[0] & 0x0f) * 4;
    if header_len < IPV4_HEADER_LEN {
        return Err(WireError::BadIpHeaderLen(header_len));
    }
    let header = datagram.get(..header_len).ok_or(WireError::Truncated)?;
    let total_len = usize::from(u16::from_be_bytes([fixed[2], fixed[3]]));
    if total_len < header_len || total_len > datagram.len() {
        return Err(WireError::IpLengthMismatch {
            claimed: total_len,
            actual: datagram.len(),
        });
    }
    if checksum::fold(checksum::sum(header)) != 0xffff {
        return Err(WireError::BadIpChecksum);
    }
    let protocol = fixed[9];
    match protocol {
        PROTOCOL_VRRP => {}
        PROTOCOL_AH => return Err(WireError::AuthAhUnsupported),
        other => return Err(WireError::NotVrrp(other)),
    }
    Ok(Ipv4Meta {
        src: Ipv4Addr::new(fixed[12], fixed[13], fixed[14], fixed[15]),
        dst: Ipv4Addr::new(fixed[16], fixed[17], fixed[18], fixed[19]),
        tos: fixed[1],
        ident: u16::from_be_bytes([fixed[4], fixed[5]]),
        ttl: fixed[8],
        protocol,
        header_len,
        total_len,
    })
}

/// Writes the 20-byte IPv4 header keepalived sends in front of an advert of
/// `payload_len` bytes: TOS 0xc0, DF clear, identification `ident`, `ttl`
/// ([`TTL`] unless configured otherwise), protocol 112, header checksum.
/// Returns the header length.
pub fn emit_ipv4_header(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ident: u16,
    ttl: u8,
    payload_len: usize,
) -> Result<usize, WireError> {
    let actual = buf.len();
    let header = buf
        .get_mut(..IPV4_HEADER_LEN)
        .ok_or(WireError::BufferLength {
            expected: IPV4_HEADER_LEN,
            actual,
        })?;
    let total =
        u16::try_from(IPV4_HEADER_LEN + payload_len).map_err(|_| WireError::IpLengthMismatch {
            claimed: IPV4_HEADER_LEN.saturating_add(payload_len),
            actual: usize::from(u16::MAX),
        })?;
    header[0] = 0x45;
    header[1] = IPV4_TOS;
    header[2..4].copy_from_slice(&total.to_be_bytes());
    header[4..6].copy_from_slice(&ident.to_be_bytes());
    header[6..8].copy_from_slice(&[0, 0]);
    header[8] = ttl;
    header[9] = PROTOCOL_VRRP;
    header[10..12].copy_from_slice(&[0, 0]);
    header[12..16].copy_from_slice(&src.octets());
    header[16..20].copy_from_slice(&dst.octets());
    let sum = !checksum::fold(checksum::sum(header));
    header[10..12].copy_from_slice(&sum.to_be_bytes());
    Ok(IPV4_HEADER_LEN)
}

/// What the caller needs from a fixed IPv6 header. A raw IPv6 socket
/// delivers the payload alone (hop limit via ancillary data); this is for
/// captures and packet sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Meta {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub next_header: u8,
    pub payload_len: usize,
}

impl Ipv6Meta {
    /// The VRRP message inside `datagram` (the buffer this was parsed from).
    pub fn payload<'a>(&self, datagram: &'a [u8]) -> &'a [u8] {
        datagram
            .get(IPV6_HEADER_LEN..IPV6_HEADER_LEN + self.payload_len)
            .unwrap_or(&[])
    }
}

/// Validates a fixed IPv6 header directly followed by VRRP: version 6,
/// Payload Length within the buffer, next header 112 (extension headers are
/// not followed).
pub fn parse_ipv6_header(datagram: &[u8]) -> Result<Ipv6Meta, WireError> {
    let fixed = datagram
        .get(..IPV6_HEADER_LEN)
        .ok_or(WireError::Truncated)?;
    let version = fixed[0] >> 4;
    if version != 6 {
        return Err(WireError::BadIpVersion(version));
    }
    let payload_len = usize::from(u16::from_be_bytes([fixed[4], fixed[5]]));
    if IPV6_HEADER_LEN + payload_len > datagram.len() {
        return Err(WireError::IpLengthMismatch {
            claimed: payload_len,
            actual: datagram.len() - IPV6_HEADER_LEN,
        });
    }
    let next_header = fixed[6];
    match next_header {
        PROTOCOL_VRRP => {}
        PROTOCOL_AH => return Err(WireError::AuthAhUnsupported),
        other => return Err(WireError::NotVrrp(other)),
    }
    let mut src = [0; 16];
    src.copy_from_slice(&fixed[8..24]);
    let mut dst = [0; 16];
    dst.copy_from_slice(&fixed[24..40]);
    Ok(Ipv6Meta {
        src: Ipv6Addr::from(src),
        dst: Ipv6Addr::from(dst),
        hop_limit: fixed[7],
        next_header,
        payload_len,
    })
}

/// Checks a received TTL / hop limit. Multicast adverts must arrive with 255
/// (RFC 9568 §7.1: they cannot have been routed). Unicast adverts may cross
/// routers, so keepalived checks only the optional per-peer
/// `min_ttl`/`max_ttl` range (`unicast_range`).
pub fn check_ttl(
    ttl: u8,
    multicast: bool,
    unicast_range: Option<RangeInclusive<u8>>,
) -> Result<(), WireError> {
    let range = match (multicast, unicast_range) {
        (true, _) => TTL..=TTL,
        (false, Some(range)) => range,
        (false, None) => return Ok(()),
    };
    if range.contains(&ttl) {
        Ok(())
    } else {
        Err(WireError::BadTtl {
            ttl,
            min: *range.start(),
            max: *range.end(),
        })
    }
}

/// RFC 1071 Internet checksum pieces.
mod checksum {
    use std::net::IpAddr;

    use super::PROTOCOL_VRRP;

    /// The unfolded one's-complement sum of `data` as big-endian 16-bit
    /// words, an odd last byte padded with zero.
    pub fn sum(data: &[u8]) -> u64 {
        let mut chunks = data.chunks_exact(2);
        let mut acc: u64 = chunks
            .by_ref()
            .map(|w| u64::from(u16::from_be_bytes([w[0], w[1]])))
            .sum();
        if let [last] = chunks.remainder() {
            acc += u64::from(*last) << 8;
        }
        acc
    }

    /// The sum of the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1) pseudo-header
    /// for a VRRP message of `len` bytes. Word order does not change a
    /// one's-complement sum, so the layouts differ only in the length width.
    pub fn pseudo_header(src: IpAddr, dst: IpAddr, len: usize) -> u64 {
        let addr = |a: IpAddr| match a {
            IpAddr::V4(a) => sum(&a.octets()),
            IpAddr::V6(a) => sum(&a.octets()),
        };
        let len = len as u64;
        let len = match src {
            IpAddr::V4(_) => len & 0xffff,
            IpAddr::V6(_) => (len >> 16 & 0xffff) + (len & 0xffff),
        };
        addr(src) + addr(dst) + u64::from(PROTOCOL_VRRP) + len
    }

    /// Folds the carries back in.
    pub fn fold(mut acc: u64) -> u16 {
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A4: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const M4: IpAddr = IpAddr::V4(MULTICAST_V4);

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum::fold(checksum::sum(&data)), 0xddf2);
        assert_eq!(checksum::fold(checksum::sum(&[0xab])), 0xab00);
    }

    /// v2-unicast-pass.pcap, first advert: VRID 101, prio 101, 1 s, PASS.
    static V2_PASS: [u8; 20] = [
        0x21, 0x65, 0x65, 0x01, 0x01, 0x01, 0xe8, 0xd0, 0xc0, 0x00, 0x02, 0x1e, b'p', b'a', b's',
        b's', b'w', b'o', b'r', b'd',
    ];
    /// v3-ipv4-multicast.pcap, first advert: VRID 33, prio 200, 10 cs.
    static V3_V4: [u8; 16] = [
        0x31, 0x21, 0xc8, 0x02, 0x00, 0x0a, 0xdf, 0x36, 0xc0, 0x00, 0x02, 0x82, 0xc0, 0x00, 0x02,
        0x83,
    ];

    fn v3_repr() -> AdvertRepr {
        AdvertRepr {
            version: Version::V3,
            vrid: Vrid::new(33).unwrap(),
            priority: Priority(200),
            max_advert_int: Centis(10),
            addresses: vec![
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 130)),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 131)),
            ]
            .into(),
            auth: Auth::None,
        }
    }

    #[test]
    fn deconstruct_v2() {
        let p = Packet::new_checked(&V2_PASS[..]).unwrap();
        assert_eq!(
            (p.version(), p.msg_type(), p.vrid(), p.priority()),
            (2, 1, 101, 101)
        );
        assert_eq!(
            (p.count_ip_addrs(), p.auth_type(), p.advert_int()),
            (1, 1, 1)
        );
        assert_eq!(p.checksum(), 0xe8d0);
        assert_eq!(p.addresses(Family::Ipv4), Some(&[192, 0, 2, 30][..]));
        assert_eq!(p.auth_data(), Some(&b"password"[..]));
        assert_eq!(p.message_len(Family::Ipv4), 20);
        let b4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert!(p.verify_checksum(A4, b4, ChecksumMode::PseudoHeader));
    }

    #[test]
    fn deconstruct_v3() {
        let p = Packet::new_checked(&V3_V4[..]).unwrap();
        assert_eq!(
            (p.version(), p.msg_type(), p.vrid(), p.priority()),
            (3, 1, 33, 200)
        );
        assert_eq!(
            (p.count_ip_addrs(), p.reserved(), p.max_advert_int()),
            (2, 0, 10)
        );
        assert_eq!(p.checksum(), 0xdf36);
        assert_eq!(p.message_len(Family::Ipv4), 16);
        assert!(p.verify_checksum(A4, M4, ChecksumMode::PseudoHeader));
    }

    #[test]
    fn parse_and_construct_v3() {
        let p = Packet::new_checked(&V3_V4[..]).unwrap();
        let repr = AdvertRepr::parse(&p, A4, M4, ChecksumMode::PseudoHeader);
        assert_eq!(repr, Ok(v3_repr()));
        let mut out = [0xa5; 16];
        let mut p = Packet::new_unchecked(&mut out[..]);
        v3_repr()
            .emit(&mut p, A4, M4, ChecksumMode::PseudoHeader)
            .unwrap();
        assert_eq!(out, V3_V4);
    }

    #[test]
    fn accessors_and_setters_round_trip() {
        let mut buf = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_version(3);
        p.set_msg_type(1);
        p.set_vrid(33);
        p.set_priority(200);
        p.set_count_ip_addrs(1);
        p.set_reserved(0xa);
        p.set_max_advert_int(0xfff);
        p.set_checksum(0x1234);
        p.addresses_mut(Family::Ipv4)
            .unwrap()
            .copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(p.version(), 3);
        assert_eq!(p.msg_type(), 1);
        assert_eq!(p.vrid(), 33);
        assert_eq!(p.priority(), 200);
        assert_eq!(p.reserved(), 0xa);
        assert_eq!(p.max_advert_int(), 0xfff);
        assert_eq!(p.checksum(), 0x1234);
        assert_eq!(p.addresses(Family::Ipv4), Some(&[1, 2, 3, 4][..]));
        assert_eq!(p.addresses(Family::Ipv6), None);
        assert_eq!(p.auth_data(), None);
        assert_eq!(buf[..8], [0x31, 33, 200, 1, 0xaf, 0xff, 0x12, 0x34]);
    }

    #[test]
    fn old_unicast_checksum_sums_the_group_whatever_the_destination() {
        // V3_V4 was summed to the group: a keepalived 1.3.6 unicast advert
        // to any peer carries that same checksum.
        let p = Packet::new_checked(&V3_V4[..]).unwrap();
        let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        let old = ChecksumMode::OldUnicast(MULTICAST_V4);
        assert!(p.verify_checksum(A4, peer, old));
        assert!(!p.verify_checksum(A4, peer, ChecksumMode::PseudoHeader));
        let other = ChecksumMode::OldUnicast(Ipv4Addr::new(224, 0, 0, 19));
        assert!(!p.verify_checksum(A4, peer, other));
        // VRRPv2 and IPv6 are not affected.
        let p2 = Packet::new_checked(&V2_PASS[..]).unwrap();
        assert!(p2.verify_checksum(A4, peer, old));
    }

    #[test]
    fn fill_then_verify_checksum() {
        let mut buf = [0x31, 33, 200, 1, 0, 10, 0, 0, 192, 0, 2, 130];
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        for mode in [ChecksumMode::PseudoHeader, ChecksumMode::V2Style] {
            p.fill_checksum(A4, M4, mode);
            assert!(p.verify_checksum(A4, M4, mode));
        }
        // The two modes give different sums over IPv4.
        assert!(!p.verify_checksum(A4, M4, ChecksumMode::PseudoHeader));
    }

    #[test]
    fn new_checked_needs_the_fixed_header() {
        assert_eq!(
            Packet::new_checked(&[0u8; 7][..]),
            Err(WireError::Truncated)
        );
        assert!(Packet::new_checked(&[0u8; 8][..]).is_ok());
    }

    #[test]
    fn simple_text_truncates_to_8_bytes() {
        assert_eq!(
            Auth::simple_text(b"passwordgoeshere"),
            Auth::SimpleText(*b"password")
        );
        assert_eq!(
            Auth::simple_text(b"pw"),
            Auth::SimpleText(*b"pw\0\0\0\0\0\0")
        );
    }

    #[test]
    fn ttl_must_be_255_for_multicast_only() {
        assert!(check_ttl(255, true, None).is_ok());
        assert_eq!(
            check_ttl(254, true, Some(0..=255)),
            Err(WireError::BadTtl {
                ttl: 254,
                min: 255,
                max: 255
            })
        );
        assert!(check_ttl(1, false, None).is_ok());
        assert!(check_ttl(250, false, Some(250..=255)).is_ok());
        assert!(check_ttl(249, false, Some(250..=255)).is_err());
    }
}
