//! Value types and serde adapters shared by the model's front ends.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::proto::wire::Auth;
use crate::proto::Centis;

/// `aa:bb:cc:dd:ee:ff` (hex octets of one or two digits), as keepalived
/// reads the MAC of `use_vmac`; `None` for anything else.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for octet in &mut mac {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 2 {
            return None;
        }
        *octet = u8::from_str_radix(part, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Why `mac` cannot be a VMAC's own MAC (keepalived's `vrrp_vmac_handler`).
pub fn mac_problem(mac: &[u8; 6]) -> Option<&'static str> {
    if mac[0] & 1 != 0 {
        Some("is multicast")
    } else if mac[..4] == [0, 0, 0x5e, 0] && matches!(mac[4], 1 | 2) {
        Some("is an RFC 5798 VRRP address (use_vmac without a MAC uses those)")
    } else {
        None
    }
}

/// A non-negative duration in whole microseconds (keepalived's timer resolution),
/// written in configs as decimal seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Secs(u64);

impl Secs {
    pub const ZERO: Secs = Secs(0);

    pub const fn from_secs(secs: u64) -> Secs {
        Secs(secs.saturating_mul(1_000_000))
    }

    pub const fn from_micros(micros: u64) -> Secs {
        Secs(micros)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    pub const fn as_duration(self) -> std::time::Duration {
        std::time::Duration::from_micros(self.0)
    }

    /// Parses keepalived's decimal seconds (`"5"`, `"0.001"`): at most 6
    /// fractional digits, no sign, no exponent.
    pub fn parse(text: &str) -> Option<Secs> {
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        if (int.is_empty() && frac.is_empty())
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 6
            || int.len() > 12
        {
            return None;
        }
        let whole: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut micros: u64 = 0;
        for (i, d) in frac.bytes().enumerate() {
            micros += u64::from(d - b'0') * 10u64.pow(5 - i as u32);
        }
        Some(Secs(whole.checked_mul(1_000_000)?.checked_add(micros)?))
    }
}

impl fmt::Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, us) = (self.0 / 1_000_000, self.0 % 1_000_000);
        if us == 0 {
            write!(f, "{s}")
        } else {
            let frac = format!("{us:06}");
            write!(f, "{s}.{}", frac.trim_end_matches('0'))
        }
    }
}

impl Serialize for Secs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1_000_000 == 0 {
            s.serialize_u64(self.0 / 1_000_000)
        } else {
            s.serialize_f64(self.0 as f64 / 1e6)
        }
    }
}

/// Seconds as an integer or float; rejects negative, non-finite and sub-µs values.
fn secs_from_f64<E: de::Error>(v: f64) -> Result<u64, E> {
    if !v.is_finite() || !(0.0..=1e12).contains(&v) {
        return Err(E::custom(format!(
            "expected a duration in seconds >= 0, got {v}"
        )));
    }
    let micros = (v * 1e6).round();
    if (micros - v * 1e6).abs() > 1e-3 {
        return Err(E::custom(format!(
            "{v} s is finer than the microsecond resolution"
        )));
    }
    Ok(micros as u64)
}

struct SecsVisitor;

impl de::Visitor<'_> for SecsVisitor {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration in seconds (integer or decimal)")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        v.checked_mul(1_000_000)
            .ok_or_else(|| E::custom("duration too large"))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        let v = u64::try_from(v).map_err(|_| E::custom("duration must not be negative"))?;
        self.visit_u64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        secs_from_f64(v)
    }
}

impl<'de> Deserialize<'de> for Secs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Secs, D::Error> {
        d.deserialize_any(SecsVisitor).map(Secs)
    }
}

/// `Centis` written as seconds (`1`, `0.5`) so `advert_int = 1` means one second.
pub mod centis_secs {
    use super::*;

    pub fn serialize<S: Serializer>(c: &Centis, s: S) -> Result<S::Ok, S::Error> {
        if c.get() % 100 == 0 {
            s.serialize_u64(u64::from(c.get() / 100))
        } else {
            s.serialize_f64(f64::from(c.get()) / 100.0)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Centis, D::Error> {
        let micros = d.deserialize_any(SecsVisitor)?;
        if micros % 10_000 != 0 {
            return Err(de::Error::custom("advert_int must be a multiple of 0.01 s"));
        }
        let cs = u16::try_from(micros / 10_000)
            .map_err(|_| de::Error::custom("advert_int too large"))?;
        Ok(Centis(cs))
    }
}

/// `Version` written as the number keepalived uses: `version = 3`.
pub mod version_num {
    use super::*;
    use crate::proto::Version;

    pub fn serialize<S: Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(v.number())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Version, D::Error> {
        match u8::deserialize(d)? {
            2 => Ok(Version::V2),
            3 => Ok(Version::V3),
            n => Err(de::Error::custom(format!(
                "version must be 2 or 3, got {n}"
            ))),
        }
    }
}

/// `Family` written as `"ipv4"` or `"ipv6"`.
pub mod family_name {
    use super::*;
    use crate::proto::Family;

    pub fn serialize<S: Serializer>(f: &Family, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match f {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Family, D::Error> {
        match String::deserialize(d)?.as_str() {
            "ipv4" => Ok(Family::Ipv4),
            "ipv6" => Ok(Family::Ipv6),
            other => Err(de::Error::custom(format!(
                "family must be \"ipv4\" or \"ipv6\", got \"{other}\""
            ))),
        }
    }
}

/// VRRPv2 PASS authentication written as its password text (at most 8 bytes).
pub mod auth_text {
    use super::*;

    pub fn serialize<S: Serializer>(a: &Auth, s: S) -> Result<S::Ok, S::Error> {
        match a {
            Auth::None => s.serialize_none(),
            Auth::SimpleText(bytes) => s.serialize_str(&password_text(bytes)),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Auth, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() > 8 {
            return Err(de::Error::custom(format!(
                "auth_pass is {} bytes; VRRPv2 carries at most 8",
                text.len()
            )));
        }
        Ok(pass_auth(text.as_bytes()))
    }
}

/// The password bytes as text, trailing zero padding removed.
pub fn password_text(bytes: &[u8; 8]) -> String {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// PASS auth from at most 8 bytes, zero padded (longer input is truncated).
pub fn pass_auth(bytes: &[u8]) -> Auth {
    let mut pass = [0u8; 8];
    let n = bytes.len().min(8);
    pass[..n].copy_from_slice(&bytes[..n]);
    Auth::SimpleText(pass)
}

pub fn no_auth() -> Auth {
    Auth::None
}

pub fn is_no_auth(a: &Auth) -> bool {
    matches!(a, Auth::None)
}

/// For `skip_serializing_if`: leave default values out of dumps and conversions.
pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secs_parse_keepalived_decimals() {
        assert_eq!(Secs::parse("5"), Some(Secs::from_secs(5)));
        assert_eq!(Secs::parse("0"), Some(Secs::ZERO));
        assert_eq!(Secs::parse("0.001"), Some(Secs::from_micros(1000)));
        assert_eq!(Secs::parse(".5"), Some(Secs::from_micros(500_000)));
        assert_eq!(Secs::parse("1.0000001"), None);
        assert_eq!(Secs::parse("-1"), None);
        assert_eq!(Secs::parse("1e3"), None);
        assert_eq!(Secs::parse(""), None);
        assert_eq!(Secs::from_micros(1_500_000).to_string(), "1.5");
    }

    #[test]
    fn password_text_strips_padding() {
        assert_eq!(password_text(b"1111\0\0\0\0"), "1111");
        assert_eq!(password_text(b"password"), "password");
        assert_eq!(
            pass_auth(b"passwordgoeshere"),
            Auth::SimpleText(*b"password")
        );
    }
}
