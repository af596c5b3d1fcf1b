//! keepalived's `auth_hmac` advert authentication (keepalived master, 2026;
//! draft-cassen-vrrp-auth-hmac): a 28-byte trailer after the VRRP message.
//!
//! ```text
//!  0       1       2       3
//! +-------+-------+-------+-------+
//! |ext_type|key_id|   reserved 0  |   ext_type 1 = HMAC-SHA256/128
//! +-------+-------+-------+-------+
//! |      seconds (UTC, u32)       |   \
//! +-------+-------+-------+-------+    | 64-bit sequence:
//! | 1/65536 s     | counter       |   /  secs << 32 | frac << 16 | ctr
//! +-------+-------+-------+-------+
//! |  HMAC-SHA256 truncated to 16  |
//! |  bytes (4 words)              |
//! +-------+-------+-------+-------+
//! ```
//!
//! The HMAC covers, in order: a 20-byte pseudo-header (4 or 6, the VRRP
//! version, the VRID, a zero, the IP source address zero padded to 16
//! bytes), the VRRP message with its checksum read as zero, the trailer's
//! first 12 bytes, and 16 zero bytes in place of the HMAC. The IP header is
//! not covered. The VRRP checksum stays what it was for IPv4 (the message
//! only); for IPv6 the kernel sums the whole payload, trailer included.
//! A receiver finds the trailer by length: exactly the message plus 28.
//!
//! Pure: the caller passes the wall clock (UTC) it read.

use std::net::IpAddr;

use ring::hmac;

use super::types::{Version, Vrid};

/// The trailer's length on the wire.
pub const TRAILER_LEN: usize = 28;
/// The truncated HMAC's length.
pub const HMAC_LEN: usize = 16;
/// `ext_type` of HMAC-SHA256 truncated to 128 bits, the only scheme.
pub const EXT_SHA256: u8 = 1;
/// Key length bounds in bytes.
pub const KEY_MIN: usize = 32;
pub const KEY_MAX: usize = 64;
/// `time_window` bounds in seconds, and the floor of the derived default.
pub const WINDOW_MIN: u32 = 1;
pub const WINDOW_MAX: u32 = 300;
pub const WINDOW_FLOOR: u32 = 5;
/// Multicast senders whose replay mark is kept per instance (least
/// recently used evicted): several senders per VRID only during contention.
pub const MCAST_SENDERS: usize = 4;

const PSEUDO_LEN: usize = 20;
const CHECKSUM: std::ops::Range<usize> = 6..8;
/// The trailer bytes before the HMAC.
const HEAD_LEN: usize = TRAILER_LEN - HMAC_LEN;

/// The 64-bit sequence: UTC seconds, a 1/65536 s fraction, a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Seq(pub u64);

impl Seq {
    /// A wall-clock reading (seconds and nanoseconds since the Unix epoch)
    /// with the counter cleared; seconds are taken modulo 2^32 as upstream.
    pub fn from_unix(secs: u64, nanos: u32) -> Seq {
        let frac = (u64::from(nanos.min(999_999_999)) << 16) / 1_000_000_000;
        Seq((secs & 0xffff_ffff) << 32 | frac << 16)
    }

    /// The seconds field.
    pub fn secs(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// RFC 1982 serial order: whether `self` comes strictly after `other`.
    pub fn after(self, other: Seq) -> bool {
        (self.0.wrapping_sub(other.0) as i64) > 0
    }
}

/// Signed distance `a - b` in seconds on the 32-bit seconds circle.
fn secs_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// `mode`: what is sent and what is accepted without a trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Verifies a trailer when present, sends none, accepts adverts without.
    ReceiveOnly,
    /// Signs, and still accepts adverts without a trailer.
    Permissive,
    /// Signs and requires a valid trailer.
    #[default]
    Enforce,
}

impl Mode {
    pub fn signs(self) -> bool {
        self != Mode::ReceiveOnly
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReceiveOnly => "receive-only",
            Mode::Permissive => "permissive",
            Mode::Enforce => "enforce",
        }
    }
}

/// `anti_replay`: a freshness window on the sender's UTC seconds (clocks in
/// sync), or only strictly growing sequences per sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AntiReplay {
    Time { window: u32 },
    Monotonic,
}

/// The configured keys, ready to sign with: which id signs, and every id
/// accepted. Debug shows ids only.
pub struct Keyring {
    keys: Vec<(u8, hmac::Key)>,
    active: u8,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<u8> = self.keys.iter().map(|(id, _)| *id).collect();
        f.debug_struct("Keyring")
            .field("ids", &ids)
            .field("active", &self.active)
            .finish()
    }
}

impl Keyring {
    /// Keys by id; `active` signs. The config layer has checked lengths,
    /// duplicates and that `active` is among the ids.
    pub fn new<'a>(keys: impl IntoIterator<Item = (u8, &'a [u8])>, active: u8) -> Keyring {
        Keyring {
            keys: keys
                .into_iter()
                .map(|(id, k)| (id, hmac::Key::new(hmac::HMAC_SHA256, k)))
                .collect(),
            active,
        }
    }

    pub fn active(&self) -> u8 {
        self.active
    }

    fn get(&self, id: u8) -> Option<&hmac::Key> {
        self.keys.iter().find(|(k, _)| *k == id).map(|(_, k)| k)
    }
}

/// The pseudo-header bound into the HMAC.
fn pseudo(version: Version, vrid: Vrid, src: IpAddr) -> [u8; PSEUDO_LEN] {
    let mut p = [0; PSEUDO_LEN];
    p[1] = version.number();
    p[2] = vrid.get();
    match src {
        IpAddr::V4(a) => {
            p[0] = 4;
            p[4..8].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            p[0] = 6;
            p[4..20].copy_from_slice(&a.octets());
        }
    }
    p
}

/// Who an advert claims to be: what the pseudo-header binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    pub version: Version,
    pub vrid: Vrid,
    /// The IP source address.
    pub src: IpAddr,
}

/// The truncated HMAC of `msg` (the VRRP message, at least 8 bytes) and
/// the trailer head. No allocation: ring's context lives on the stack.
fn digest(key: &hmac::Key, b: &Binding, msg: &[u8], head: &[u8]) -> [u8; HMAC_LEN] {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(&pseudo(b.version, b.vrid, b.src));
    ctx.update(msg.get(..CHECKSUM.start).unwrap_or(msg));
    ctx.update(&[0, 0]);
    ctx.update(msg.get(CHECKSUM.end..).unwrap_or(&[]));
    ctx.update(head);
    ctx.update(&[0; HMAC_LEN]);
    let tag = ctx.sign();
    let mut out = [0; HMAC_LEN];
    out.copy_from_slice(&tag.as_ref()[..HMAC_LEN]);
    out
}

/// Writes a signed trailer for `msg` into `out` (exactly [`TRAILER_LEN`]
/// bytes) with the active key and `seq`. The message's checksum may be
/// filled before or after: the HMAC reads it as zero.
pub fn sign(keys: &Keyring, b: &Binding, seq: Seq, msg: &[u8], out: &mut [u8; TRAILER_LEN]) {
    out[0] = EXT_SHA256;
    out[1] = keys.active;
    out[2..4].copy_from_slice(&[0, 0]);
    out[4..8].copy_from_slice(&(seq.secs()).to_be_bytes());
    out[8..10].copy_from_slice(&((seq.0 >> 16) as u16).to_be_bytes());
    out[10..12].copy_from_slice(&(seq.0 as u16).to_be_bytes());
    // An undefined active key (the config forbids it) leaves a zero HMAC,
    // which every receiver rejects.
    let tag = match keys.get(keys.active) {
        Some(key) => digest(key, b, msg, &out[..HEAD_LEN]),
        None => [0; HMAC_LEN],
    };
    out[HEAD_LEN..].copy_from_slice(&tag);
}

/// A received trailer's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    pub ext_type: u8,
    pub key_id: u8,
    pub reserved: u16,
    pub seq: Seq,
    pub hmac: [u8; HMAC_LEN],
}

impl Trailer {
    pub fn parse(bytes: &[u8; TRAILER_LEN]) -> Trailer {
        let u16_at = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
        let secs = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let mut hmac = [0; HMAC_LEN];
        hmac.copy_from_slice(&bytes[HEAD_LEN..]);
        Trailer {
            ext_type: bytes[0],
            key_id: bytes[1],
            reserved: u16_at(2),
            seq: Seq(u64::from(secs) << 32 | u64::from(u16_at(8)) << 16 | u64::from(u16_at(10))),
            hmac,
        }
    }
}

/// Splits a received VRRP payload into the message and a trailer: the
/// trailer is there when the payload is exactly `message_len` + 28 bytes.
pub fn split(payload: &[u8], message_len: usize) -> (&[u8], Option<&[u8; TRAILER_LEN]>) {
    if payload.len() == message_len + TRAILER_LEN {
        let (msg, tail) = payload.split_at(message_len);
        (msg, tail.try_into().ok())
    } else {
        (payload, None)
    }
}

/// Why an advert failed authentication. Stable names for counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthDrop {
    /// No trailer while enforcing.
    Missing,
    /// Unknown `ext_type` or non-zero reserved bytes.
    Malformed,
    /// A key id not configured.
    UnknownKey,
    BadHmac,
    /// Time mode: seconds outside the window of our clock.
    Stale,
    /// Not after the sender's last accepted sequence.
    Replay,
    /// Unicast: a source that is no configured peer has no replay mark.
    NotAPeer,
}

impl AuthDrop {
    pub const ALL: [AuthDrop; 7] = [
        AuthDrop::Missing,
        AuthDrop::Malformed,
        AuthDrop::UnknownKey,
        AuthDrop::BadHmac,
        AuthDrop::Stale,
        AuthDrop::Replay,
        AuthDrop::NotAPeer,
    ];

    /// Counter name (the `drops` map of an instance).
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthDrop::Missing => "auth_hmac_missing",
            AuthDrop::Malformed => "auth_hmac_malformed",
            AuthDrop::UnknownKey => "auth_hmac_unknown_key",
            AuthDrop::BadHmac => "auth_hmac_invalid",
            AuthDrop::Stale => "auth_hmac_stale",
            AuthDrop::Replay => "auth_hmac_replay",
            AuthDrop::NotAPeer => "auth_hmac_not_a_peer",
        }
    }
}

/// Compares without an early exit, so timing tells a forger nothing about
/// how many leading bytes were right.
fn constant_time_eq(a: &[u8; HMAC_LEN], b: &[u8; HMAC_LEN]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// One sender's high-water mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Mark(Option<Seq>);

/// What [`Verifier::check`] accepted: the clock skew in seconds (time mode)
/// for the "approaching window" warning past half the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub skew: Option<i32>,
    /// Whether the advert carried a trailer (migration modes accept none).
    pub signed: bool,
}

impl Accepted {
    /// Whether the skew is past half the window (upstream's early warning).
    pub fn skew_warning(&self, anti_replay: AntiReplay) -> bool {
        match (self.skew, anti_replay) {
            (Some(s), AntiReplay::Time { window }) => s.unsigned_abs() > window / 2,
            _ => false,
        }
    }
}

/// Receive-side state of one instance: the policy and one replay mark per
/// sender (per configured unicast peer, or per multicast source in a small
/// LRU table). Marks are per sender, not per key, as upstream keeps them:
/// a key rotation does not reopen a window for replays.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub mode: Mode,
    pub anti_replay: AntiReplay,
    /// Unicast: the configured peers, each with its mark. Empty: multicast.
    peers: Vec<(IpAddr, Mark)>,
    unicast: bool,
    mcast: [(Option<IpAddr>, Mark, u32); MCAST_SENDERS],
    lru: u32,
}

impl Verifier {
    /// A verifier for a multicast instance (`peers` empty and `unicast`
    /// false) or a unicast one with these peers.
    pub fn new(mode: Mode, anti_replay: AntiReplay, unicast: bool, peers: &[IpAddr]) -> Verifier {
        Verifier {
            mode,
            anti_replay,
            peers: peers.iter().map(|p| (*p, Mark::default())).collect(),
            unicast,
            mcast: [(None, Mark::default(), 0); MCAST_SENDERS],
            lru: 0,
        }
    }

    /// Takes a reloaded policy, keeping the marks of senders still
    /// configured: forgetting them would let a capture from just before the
    /// reload replay once.
    pub fn reconfigure(
        &mut self,
        mode: Mode,
        anti_replay: AntiReplay,
        unicast: bool,
        peers: &[IpAddr],
    ) {
        let old = std::mem::take(&mut self.peers);
        self.peers = peers
            .iter()
            .map(|p| {
                let mark = old
                    .iter()
                    .find(|(a, _)| a == p)
                    .map_or_else(Mark::default, |(_, m)| *m);
                (*p, mark)
            })
            .collect();
        self.mode = mode;
        self.anti_replay = anti_replay;
        self.unicast = unicast;
    }

    /// Checks a received advert: `msg` is the VRRP message, `trailer` what
    /// [`split`] found, `now` our UTC seconds. The order is upstream's:
    /// missing, malformed, stale (before the HMAC, so replayed captures cost
    /// no digest), unknown key, HMAC, replay. The mark moves only on a
    /// verified advert, so forged packets never touch the state.
    pub fn check(
        &mut self,
        keys: &Keyring,
        now: u64,
        b: &Binding,
        msg: &[u8],
        trailer: Option<&[u8; TRAILER_LEN]>,
    ) -> Result<Accepted, AuthDrop> {
        let Some(raw) = trailer else {
            return match self.mode {
                Mode::Enforce => Err(AuthDrop::Missing),
                _ => Ok(Accepted {
                    skew: None,
                    signed: false,
                }),
            };
        };
        let slot = if self.unicast {
            match self.peers.iter().position(|(a, _)| *a == b.src) {
                Some(i) => Some(i),
                None => return Err(AuthDrop::NotAPeer),
            }
        } else {
            None
        };
        let t = Trailer::parse(raw);
        if t.ext_type != EXT_SHA256 || t.reserved != 0 {
            return Err(AuthDrop::Malformed);
        }
        let now_secs = (now & 0xffff_ffff) as u32;
        let skew = match self.anti_replay {
            AntiReplay::Time { window } => {
                let delta = secs_delta(now_secs, t.seq.secs());
                if delta.unsigned_abs() > window {
                    return Err(AuthDrop::Stale);
                }
                Some(delta)
            }
            AntiReplay::Monotonic => None,
        };
        let key = keys.get(t.key_id).ok_or(AuthDrop::UnknownKey)?;
        let want = digest(key, b, msg, &raw[..HEAD_LEN]);
        if !constant_time_eq(&want, &t.hmac) {
            return Err(AuthDrop::BadHmac);
        }
        let anti_replay = self.anti_replay;
        let mark = match slot {
            Some(i) => &mut self.peers[i].1,
            None => self.mcast_mark(b.src),
        };
        if !replay_ok(mark, anti_replay, now_secs, t.seq) {
            return Err(AuthDrop::Replay);
        }
        Ok(Accepted { skew, signed: true })
    }

    /// The multicast mark of `src`, taking the least recently used slot
    /// for a new sender (reached only after the HMAC verified, so forged
    /// sources cannot churn the table).
    fn mcast_mark(&mut self, src: IpAddr) -> &mut Mark {
        self.lru = self.lru.wrapping_add(1).max(1);
        let rank = self.lru;
        let i = match self.mcast.iter().position(|(a, _, _)| *a == Some(src)) {
            Some(i) => i,
            None => {
                let victim = (0..MCAST_SENDERS)
                    .min_by_key(|&i| {
                        if self.mcast[i].0.is_none() {
                            0
                        } else {
                            self.mcast[i].2
                        }
                    })
                    .unwrap_or(0);
                self.mcast[victim] = (Some(src), Mark::default(), 0);
                victim
            }
        };
        self.mcast[i].2 = rank;
        &mut self.mcast[i].1
    }
}

/// Strict growth per sender. In time mode a mark whose seconds are outside
/// the window of `now` is forgotten first (keepalived 10d8ff6b): it only
/// orders packets the window already refuses, and keeping it would lock
/// out a sender that came back from a forward clock step.
fn replay_ok(mark: &mut Mark, anti_replay: AntiReplay, now: u32, seq: Seq) -> bool {
    if let (Some(last), AntiReplay::Time { window }) = (mark.0, anti_replay) {
        if secs_delta(now, last.secs()).unsigned_abs() > window {
            mark.0 = None;
        }
    }
    if let Some(last) = mark.0 {
        if !seq.after(last) {
            return false;
        }
    }
    mark.0 = Some(seq);
    true
}

/// Send-side sequence state of one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sender {
    last: Seq,
}

impl Sender {
    /// The sequence for the next advert, given the clock now: the clock if
    /// it is ahead of the last one sent, else the last plus one. In time
    /// mode, once the last sent is more than the window ahead of the clock
    /// (a forward step since corrected), restart from the clock (keepalived
    /// 1b0e8c11): receivers forget their marks past the window as well.
    pub fn next(&mut self, clock: Seq, anti_replay: AntiReplay) -> Seq {
        if clock.after(self.last) {
            self.last = clock;
            return clock;
        }
        let ahead = secs_delta(self.last.secs(), clock.secs());
        self.last = match anti_replay {
            AntiReplay::Time { window } if i64::from(ahead) > i64::from(window) => clock,
            _ => Seq(self.last.0.wrapping_add(1)),
        };
        self.last
    }
}

/// The window keepalived derives when `time_window` is not set:
/// max(3 × advert interval in whole seconds, 5), at most 300.
pub fn default_window(advert_centis: u16) -> u32 {
    (3 * (u32::from(advert_centis) / 100)).clamp(WINDOW_FLOOR, WINDOW_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const KEY1: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
    const KEY2: &[u8; 32] = b"fedcba9876543210fedcba9876543210";
    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    const NOW: u64 = 1_800_000_000;
    const TIME5: AntiReplay = AntiReplay::Time { window: 5 };

    fn keys(active: u8) -> Keyring {
        Keyring::new([(1, &KEY1[..]), (2, &KEY2[..])], active)
    }

    fn binding(src: IpAddr) -> Binding {
        Binding {
            version: Version::V3,
            vrid: Vrid::new(51).unwrap(),
            src,
        }
    }

    /// A v3 advert (VRID 51, prio 200, 1 s, VIP 192.0.2.100), checksum filled.
    fn msg() -> [u8; 12] {
        [0x31, 51, 200, 1, 0, 100, 0xab, 0xcd, 192, 0, 2, 100]
    }

    fn signed(k: &Keyring, src: IpAddr, seq: Seq) -> [u8; TRAILER_LEN] {
        let mut t = [0; TRAILER_LEN];
        sign(k, &binding(src), seq, &msg(), &mut t);
        t
    }

    fn at(secs: u64) -> Seq {
        Seq::from_unix(secs, 0)
    }

    fn check(
        v: &mut Verifier,
        k: &Keyring,
        now: u64,
        src: IpAddr,
        t: &[u8; 28],
    ) -> Result<Accepted, AuthDrop> {
        v.check(k, now, &binding(src), &msg(), Some(t))
    }

    #[test]
    fn sequence_packs_seconds_fraction_and_counter() {
        let s = Seq::from_unix(0x1_2345_6789, 500_000_000);
        assert_eq!(s.0, 0x2345_6789_8000_0000);
        assert_eq!(s.secs(), 0x2345_6789);
        assert!(Seq(1).after(Seq(u64::MAX)), "serial order wraps");
    }

    #[test]
    fn trailer_matches_an_independent_hmac() {
        // Python's hmac over pseudo-header, message (checksum zeroed),
        // trailer head and 16 zeros; key KEY1, source 192.0.2.1.
        let golden = "010100006b49d2008000000774add8fbd656887c351ce38bb7e2a61a";
        let t = signed(&keys(1), A, Seq(0x6b49_d200_8000_0007));
        let hex: String = t.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, golden);
        let parsed = Trailer::parse(&t);
        assert_eq!((parsed.key_id, parsed.seq.secs()), (1, 1_800_000_000));
    }

    #[test]
    fn signed_advert_verifies_with_the_same_key() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let t = signed(&k, A, at(NOW));
        assert_eq!(t[0], EXT_SHA256);
        assert_eq!(t[1], 1);
        assert!(check(&mut v, &k, NOW, A, &t).is_ok());
    }

    #[test]
    fn checksum_is_read_as_zero() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let t = signed(&k, A, at(NOW));
        let mut m = msg();
        m[6] = 0x12;
        assert!(v.check(&k, NOW, &binding(A), &m, Some(&t)).is_ok());
    }

    #[test]
    fn any_changed_byte_fails_the_hmac() {
        let k = keys(1);
        let t = signed(&k, A, at(NOW));
        for i in (0..msg().len()).filter(|i| !CHECKSUM.contains(i)) {
            let mut m = msg();
            m[i] ^= 1;
            let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
            assert_eq!(
                v.check(&k, NOW, &binding(A), &m, Some(&t)),
                Err(AuthDrop::BadHmac),
                "byte {i}"
            );
        }
        let mut bad = t;
        bad[27] ^= 1;
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert_eq!(check(&mut v, &k, NOW, A, &bad), Err(AuthDrop::BadHmac));
    }

    #[test]
    fn source_address_is_bound() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let t = signed(&k, A, at(NOW));
        assert_eq!(check(&mut v, &k, NOW, B, &t), Err(AuthDrop::BadHmac));
    }

    #[test]
    fn vrid_and_version_are_bound() {
        let k = keys(1);
        let t = signed(&k, A, at(NOW));
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let other = Binding {
            vrid: Vrid::new(52).unwrap(),
            ..binding(A)
        };
        assert_eq!(
            v.check(&k, NOW, &other, &msg(), Some(&t)),
            Err(AuthDrop::BadHmac)
        );
        let v2 = Binding {
            version: Version::V2,
            ..binding(A)
        };
        assert_eq!(
            v.check(&k, NOW, &v2, &msg(), Some(&t)),
            Err(AuthDrop::BadHmac)
        );
    }

    #[test]
    fn enforce_drops_a_missing_trailer() {
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert_eq!(
            v.check(&keys(1), NOW, &binding(A), &msg(), None),
            Err(AuthDrop::Missing)
        );
    }

    #[test]
    fn migration_modes_accept_a_missing_trailer_but_verify_a_present_one() {
        let k = keys(1);
        for mode in [Mode::ReceiveOnly, Mode::Permissive] {
            let mut v = Verifier::new(mode, TIME5, false, &[]);
            let ok = v.check(&k, NOW, &binding(A), &msg(), None).unwrap();
            assert!(!ok.signed);
            let mut bad = signed(&k, A, at(NOW));
            bad[20] ^= 0xff;
            assert_eq!(
                check(&mut v, &k, NOW, A, &bad),
                Err(AuthDrop::BadHmac),
                "{mode:?}"
            );
        }
        assert!(!Mode::ReceiveOnly.signs());
        assert!(Mode::Permissive.signs() && Mode::Enforce.signs());
    }

    #[test]
    fn unknown_ext_type_or_reserved_is_malformed() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let mut t = signed(&k, A, at(NOW));
        t[0] = 2;
        assert_eq!(check(&mut v, &k, NOW, A, &t), Err(AuthDrop::Malformed));
        let mut t = signed(&k, A, at(NOW));
        t[3] = 1;
        assert_eq!(check(&mut v, &k, NOW, A, &t), Err(AuthDrop::Malformed));
    }

    #[test]
    fn unknown_key_id_is_refused() {
        let signer = Keyring::new([(9, &KEY1[..])], 9);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let t = signed(&signer, A, at(NOW));
        assert_eq!(
            check(&mut v, &keys(1), NOW, A, &t),
            Err(AuthDrop::UnknownKey)
        );
    }

    #[test]
    fn time_mode_refuses_outside_the_window_both_ways() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert_eq!(
            check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW - 6))),
            Err(AuthDrop::Stale)
        );
        assert_eq!(
            check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW + 6))),
            Err(AuthDrop::Stale)
        );
        assert!(check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW - 5))).is_ok());
        assert!(check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW + 5))).is_ok());
    }

    #[test]
    fn stale_is_decided_before_the_hmac() {
        // A forged (bad HMAC) and stale advert reports stale: no digest spent.
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let mut t = signed(&k, A, at(NOW - 60));
        t[20] ^= 1;
        assert_eq!(check(&mut v, &k, NOW, A, &t), Err(AuthDrop::Stale));
    }

    #[test]
    fn replay_of_the_same_sequence_is_refused() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let t = signed(&k, A, at(NOW));
        assert!(check(&mut v, &k, NOW, A, &t).is_ok());
        assert_eq!(check(&mut v, &k, NOW, A, &t), Err(AuthDrop::Replay));
        let older = signed(&k, A, Seq(at(NOW).0 - 1));
        assert_eq!(check(&mut v, &k, NOW, A, &older), Err(AuthDrop::Replay));
        assert!(check(&mut v, &k, NOW, A, &signed(&k, A, Seq(at(NOW).0 + 1))).is_ok());
    }

    #[test]
    fn forged_adverts_do_not_move_the_mark() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let mut forged = signed(&k, A, at(NOW + 3));
        forged[20] ^= 1;
        assert_eq!(check(&mut v, &k, NOW, A, &forged), Err(AuthDrop::BadHmac));
        assert!(check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW))).is_ok());
    }

    #[test]
    fn monotonic_mode_has_no_window_but_strict_growth() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, AntiReplay::Monotonic, false, &[]);
        let old = signed(&k, A, at(NOW - 100_000));
        assert!(check(&mut v, &k, NOW, A, &old).is_ok());
        assert_eq!(check(&mut v, &k, NOW, A, &old), Err(AuthDrop::Replay));
        // The mark never expires in monotonic mode.
        let older = signed(&k, A, at(NOW - 200_000));
        assert_eq!(
            check(&mut v, &k, NOW + 1_000_000, A, &older),
            Err(AuthDrop::Replay)
        );
    }

    #[test]
    fn marks_are_per_sender() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert!(check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW))).is_ok());
        assert!(check(&mut v, &k, NOW, B, &signed(&k, B, at(NOW - 1))).is_ok());
    }

    #[test]
    fn marks_are_per_sender_not_per_key() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert!(check(&mut v, &k, NOW, A, &signed(&keys(2), A, at(NOW))).is_ok());
        assert_eq!(
            check(&mut v, &k, NOW, A, &signed(&keys(1), A, at(NOW))),
            Err(AuthDrop::Replay)
        );
    }

    #[test]
    fn rotation_accepts_every_configured_key_and_signs_with_the_active_one() {
        let old = Keyring::new([(1, &KEY1[..])], 1);
        let both = keys(2);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert!(check(&mut v, &both, NOW, A, &signed(&old, A, at(NOW))).is_ok());
        let t = signed(&both, A, at(NOW + 1));
        assert_eq!(t[1], 2);
        assert!(check(&mut v, &both, NOW, A, &t).is_ok());
        assert_eq!(
            check(&mut v, &old, NOW, A, &signed(&both, A, at(NOW + 2))),
            Err(AuthDrop::UnknownKey)
        );
    }

    #[test]
    fn a_reload_keeps_the_marks_of_kept_senders() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Permissive, TIME5, true, &[A]);
        let t = signed(&k, A, at(NOW));
        assert!(check(&mut v, &k, NOW, A, &t).is_ok());
        v.reconfigure(Mode::Enforce, TIME5, true, &[A, B]);
        assert_eq!(v.mode, Mode::Enforce);
        assert_eq!(check(&mut v, &k, NOW, A, &t), Err(AuthDrop::Replay));
        let mut m = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert!(check(&mut m, &k, NOW, A, &t).is_ok());
        m.reconfigure(Mode::Enforce, AntiReplay::Monotonic, false, &[]);
        assert_eq!(check(&mut m, &k, NOW, A, &t), Err(AuthDrop::Replay));
    }

    #[test]
    fn unicast_needs_a_configured_peer() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, true, &[A]);
        assert_eq!(
            check(&mut v, &k, NOW, B, &signed(&k, B, at(NOW))),
            Err(AuthDrop::NotAPeer)
        );
        assert!(check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW))).is_ok());
    }

    #[test]
    fn multicast_table_evicts_the_least_recently_used_sender() {
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        let src = |n: u8| IpAddr::V4(Ipv4Addr::new(192, 0, 2, n));
        for n in 1..=4 {
            assert!(check(&mut v, &k, NOW, src(n), &signed(&k, src(n), at(NOW))).is_ok());
        }
        // Sender 1 is used again, so sender 2 is the one a fifth evicts.
        assert!(check(&mut v, &k, NOW, src(1), &signed(&k, src(1), at(NOW + 1))).is_ok());
        assert!(check(&mut v, &k, NOW, src(5), &signed(&k, src(5), at(NOW))).is_ok());
        // Sender 2's mark is gone: its old advert passes again; sender 3's is kept.
        assert!(check(&mut v, &k, NOW, src(2), &signed(&k, src(2), at(NOW))).is_ok());
        assert_eq!(
            check(&mut v, &k, NOW, src(1), &signed(&k, src(1), at(NOW + 1))),
            Err(AuthDrop::Replay)
        );
    }

    #[test]
    fn time_mode_mark_expires_outside_the_window() {
        // A forward-dated advert accepted at NOW+5, then the sender's clock
        // is corrected: after the window the receiver forgets the mark.
        let k = keys(1);
        let mut v = Verifier::new(Mode::Enforce, TIME5, false, &[]);
        assert!(check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW + 5))).is_ok());
        assert_eq!(
            check(&mut v, &k, NOW, A, &signed(&k, A, at(NOW + 1))),
            Err(AuthDrop::Replay)
        );
        assert!(check(&mut v, &k, NOW + 11, A, &signed(&k, A, at(NOW + 11))).is_ok());
    }

    #[test]
    fn sender_follows_the_clock_and_counts_when_it_stands_still() {
        let mut s = Sender::default();
        assert_eq!(s.next(at(NOW), TIME5), at(NOW));
        assert_eq!(s.next(at(NOW), TIME5), Seq(at(NOW).0 + 1));
        assert_eq!(s.next(at(NOW - 1), TIME5), Seq(at(NOW).0 + 2));
        assert_eq!(s.next(at(NOW + 1), TIME5), at(NOW + 1));
    }

    #[test]
    fn sender_restarts_from_the_clock_after_a_corrected_step_in_time_mode() {
        let mut s = Sender::default();
        s.next(at(NOW + 3600), TIME5);
        // Within the window of the clock: still counts up.
        let mut t = Sender::default();
        t.next(at(NOW + 5), TIME5);
        assert_eq!(t.next(at(NOW), TIME5), Seq(at(NOW + 5).0 + 1));
        // Past it: back to the clock.
        assert_eq!(s.next(at(NOW), TIME5), at(NOW));
    }

    #[test]
    fn sender_keeps_strict_growth_in_monotonic_mode() {
        let mut s = Sender::default();
        s.next(at(NOW + 3600), AntiReplay::Monotonic);
        assert_eq!(
            s.next(at(NOW), AntiReplay::Monotonic),
            Seq(at(NOW + 3600).0 + 1)
        );
    }

    #[test]
    fn default_window_is_three_intervals_at_least_five_seconds() {
        assert_eq!(default_window(10), 5);
        assert_eq!(default_window(100), 5);
        assert_eq!(default_window(300), 9);
        assert_eq!(default_window(4095), 120);
    }

    #[test]
    fn split_finds_the_trailer_by_exact_length() {
        let payload = [0u8; 12 + TRAILER_LEN];
        assert!(split(&payload, 12).1.is_some());
        assert!(split(&payload[..12], 12).1.is_none());
        assert!(split(&payload[..13], 12).1.is_none());
    }

    #[test]
    fn keyring_debug_shows_no_key_material() {
        let text = format!("{:?}", keys(1));
        assert!(!text.contains("0123"), "{text}");
        assert!(text.contains("active: 1"));
    }
}
