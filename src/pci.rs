//! PCI function addresses: the one strict parser every address goes
//! through, and the type that carries one.

use std::fmt;
use std::str::FromStr;

use crate::value::quoted;

/// A PCI function address: domain, bus, slot and function. Shown (and
/// serialized) as the kernel names the function; ordered by its numbers,
/// which is the kernel's order too (a five-digit VMD domain after `ffff`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddr {
    domain: u32,
    bus: u8,
    slot: u8,
    function: u8,
}

impl PciAddr {
    /// The function number, 0-7 (`0000:81:00.4` → 4).
    pub fn function(&self) -> u8 {
        self.function
    }

    /// Parses an address as the kernel names a function (drivers/pci/probe.c
    /// `pci_setup_device`: `"%04x:%02x:%02x.%d"` of domain, bus, slot and
    /// function): a domain of at least four hex digits and no more than its
    /// value needs (Intel VMD and Hyper-V domains go past `ffff`), a
    /// two-digit bus, a slot up to 0x1f, a function 0-7. Hex case is not
    /// significant. The one parser every address goes through: sysfs names,
    /// uevents, kernel log lines and the user's `PCI=` values.
    pub fn from_kernel(s: &str) -> Option<PciAddr> {
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
        // `%04x` pads to four digits and never further.
        if domain.len() > 4 && domain.starts_with('0') {
            return None;
        }
        let b = hex(bus, 2..=2)?;
        let v = hex(dev, 2..=2).filter(|v| *v <= 0x1f)?;
        let f = match func.as_bytes() {
            [c @ b'0'..=b'7'] => c - b'0',
            _ => return None,
        };
        Some(PciAddr {
            domain: d,
            bus: b as u8,
            slot: v as u8,
            function: f,
        })
    }
}

/// Whether `s` is a PCI address as the kernel names functions ([`PciAddr::from_kernel`]).
pub fn is_pci_addr(s: &str) -> bool {
    PciAddr::from_kernel(s).is_some()
}

impl fmt::Display for PciAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let PciAddr {
            domain,
            bus,
            slot,
            function,
        } = self;
        write!(f, "{domain:04x}:{bus:02x}:{slot:02x}.{function}")
    }
}

/// The address itself, so test failures and debug logs read as addresses.
impl fmt::Debug for PciAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl serde::Serialize for PciAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The same function, however the text spells it (hex case).
impl PartialEq<str> for PciAddr {
    fn eq(&self, other: &str) -> bool {
        PciAddr::from_kernel(other) == Some(*self)
    }
}

impl PartialEq<&str> for PciAddr {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

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
        match s.matches(':').count() {
            2 => PciAddr::from_kernel(s),
            1 => PciAddr::from_kernel(&format!("0000:{s}")),
            _ => None,
        }
        .ok_or_else(bad)
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
            let got = case.parse::<PciAddr>().ok().map(|a| a.to_string());
            assert_eq!(got.as_deref(), want, "case {case}");
        }
        assert_eq!(pci("04:00.0").to_string(), "0000:04:00.0");
    }

    #[test]
    fn addresses_order_by_their_numbers_and_compare_with_any_spelling() {
        let mut addrs = [
            "10000:00:01.0",
            "0000:04:00.1",
            "0000:04:00.0",
            "ffff:00:00.0",
        ]
        .map(pci)
        .to_vec();
        addrs.sort();
        let shown: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "0000:04:00.0",
                "0000:04:00.1",
                "ffff:00:00.0",
                "10000:00:01.0"
            ]
        );
        assert!(pci("0000:4b:00.0") == "0000:4B:00.0");
        assert!(pci("0000:4b:00.0") != "0000:4b:00.1");
        assert!(
            pci("0000:4b:00.0") != "4b:00.0",
            "the kernel always names the domain"
        );
        assert_eq!(format!("{:?}", pci("4b:00.7")), "0000:4b:00.7");
        assert_eq!(
            serde_json::to_string(&pci("0000:04:1f.3")).unwrap(),
            "\"0000:04:1f.3\""
        );
    }
}
