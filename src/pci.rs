//! PCI function addresses: the one strict parser every address goes
//! through, and the type that carries one.

use std::fmt;
use std::str::FromStr;

use crate::value::quoted;

/// The numbers of a PCI address as the kernel names a function
/// (drivers/pci/probe.c `pci_setup_device`: `"%04x:%02x:%02x.%d"` of
/// domain, bus, slot and function): a domain of at least four hex digits
/// and no more than its value needs (Intel VMD and Hyper-V domains go past
/// `ffff`), a two-digit bus, a slot up to 0x1f, a function 0-7. Hex case is
/// not significant. The one parser every address goes through: sysfs
/// names, kernel log lines and the user's `PCI=` values.
pub fn parse_pci_addr(s: &str) -> Option<(u32, u8, u8, u8)> {
    let hex = |t: &str, digits: std::ops::RangeInclusive<usize>| {
        (digits.contains(&t.len()) && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(t, 16).ok())
            .flatten()
    };
    let mut parts = s.split(':');
    let (Some(domain), Some(bus), Some(slot), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (dev, func) = slot.split_once('.')?;
    let d = hex(domain, 4..=8)?;
    if format!("{d:04x}").len() != domain.len() {
        return None;
    }
    let b = hex(bus, 2..=2)?;
    let v = hex(dev, 2..=2).filter(|v| *v <= 0x1f)?;
    let f = match func.as_bytes() {
        [c @ b'0'..=b'7'] => c - b'0',
        _ => return None,
    };
    Some((d, b as u8, v as u8, f))
}

/// Whether `s` is a PCI address as the kernel names functions ([`parse_pci_addr`]).
pub fn is_pci_addr(s: &str) -> bool {
    parse_pci_addr(s).is_some()
}

/// A PCI function address, normalized to the kernel's `dddd:bb:dd.f`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddr(String);

/// `as_str` and `Display` for the normalized-string address types.
macro_rules! address_text {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The normalized address.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
address_text!(PciAddr);

impl FromStr for PciAddr {
    type Err = String;

    /// Accepts `0000:04:00.0` and `04:00.0` (domain 0), any hex case.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "invalid PCI address {}: expected DDDD:BB:DD.F or BB:DD.F",
                quoted(s)
            )
        };
        let full = match s.matches(':').count() {
            2 => s.to_string(),
            1 => format!("0000:{s}"),
            _ => return Err(bad()),
        };
        let (d, b, v, f) = parse_pci_addr(&full).ok_or_else(bad)?;
        Ok(PciAddr(format!("{d:04x}:{b:02x}:{v:02x}.{f:x}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pci(s: &str) -> PciAddr {
        s.parse().unwrap()
    }

    #[test]
    fn pci_addresses_are_recognised_strictly() {
        assert!(is_pci_addr("0000:04:00.0"));
        assert!(is_pci_addr("10000:e0:17.0"));
        assert!(!is_pci_addr("pci0000:00"));
        assert!(!is_pci_addr("0000:04:00:0"));
        assert!(!is_pci_addr("0000:0g:00.0"));
        assert!(!is_pci_addr("0000:04:00.8"), "functions are 0-7");
        assert!(!is_pci_addr("0000:04:20.0"), "slots are up to 0x1f");
        assert!(
            !is_pci_addr("00000:04:00.0"),
            "a domain has no extra leading zeros"
        );
        assert!(is_pci_addr("0000:4B:1F.7"));
    }

    #[test]
    fn pci_addresses_parse_and_normalize() {
        #[rustfmt::skip]
        let cases = [
            ("0000:04:00.0", Some("0000:04:00.0")), ("04:00.0", Some("0000:04:00.0")),
            ("0000:4B:1F.7", Some("0000:4b:1f.7")), ("10000:e0:17.0", Some("10000:e0:17.0")),
            ("04:20.0", None), ("04:00.8", None), ("4:00.0", None), ("00000:04:00.0", None),
            ("0000:04:00", None), ("0000:04:00.0.1", None), ("0:0000:04:00.0", None),
            (" 04:00.0", None), ("+4:00.0", None), ("04:00.00", None), ("", None),
        ];
        for (case, want) in cases {
            let got = case.parse::<PciAddr>().ok();
            assert_eq!(got.as_ref().map(PciAddr::as_str), want, "case {case}");
        }
        assert_eq!(pci("04:00.0").to_string(), "0000:04:00.0");
    }
}
