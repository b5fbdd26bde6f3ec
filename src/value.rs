//! Values as users write them, in config files and on both command lines:
//! one parser each, shared by every place that reads them, and the quoting
//! their error messages use.

use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;
use std::str::FromStr;
use std::time::Duration;

/// Longer durations saturate here (about 136 years), so adding a timeout to
/// an `Instant` can never overflow.
const MAX_DURATION: Duration = Duration::from_secs(1 << 32);

/// Parses a timeout: bare seconds as udevadm takes them (`90`), or a
/// humantime span (`90s`, `2min`, `1h 30m`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let parsed = if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse()
            .map(Duration::from_secs)
            .map_err(|_| "number is too large")
    } else {
        // Term by term, summed here with saturation: humantime 2.4 panics
        // (overflow in Duration::new) when its own running sum reaches
        // u64::MAX seconds with a carry, as in "18446744073709551615s 0.5s
        // 0.5s", and `netsettle.timeout=` must never abort a boot.
        span_terms(s)
            .try_fold(Duration::ZERO, |sum, term| {
                humantime::parse_duration(term).map(|d| sum.saturating_add(d))
            })
            .map_err(|e| match e {
                humantime::DurationError::NumberOverflow => "number is too large",
                // humantime's own messages point at byte offsets; an example helps more.
                _ => "expected seconds (\"90\") or a time span (\"90s\", \"2min\", \"1h 30m\")",
            })
    };
    parsed
        .map(|d| d.min(MAX_DURATION))
        .map_err(|e| format!("invalid duration {}: {e}", quoted(s)))
}

/// Splits a time span where humantime starts a new term, at the first digit
/// after a unit: "1h 30m" → "1h ", "30m"; "1h30m" → "1h", "30m". An empty
/// span is one empty term, which humantime rejects.
fn span_terms(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    let mut first = true;
    std::iter::from_fn(move || {
        if rest.is_empty() && !std::mem::take(&mut first) {
            return None;
        }
        first = false;
        let mut in_unit = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                in_unit |= c.is_alphabetic();
                in_unit && c.is_ascii_digit()
            })
            .map_or(rest.len(), |(i, _)| i);
        let (term, tail) = rest.split_at(end);
        rest = tail;
        Some(term)
    })
}

/// Parses a boolean the way systemd does (`yes`/`no`, `on`/`off`, `1`/`0`, ...).
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Ok(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Ok(false),
        _ => Err(format!("invalid boolean {}: expected yes or no", quoted(s))),
    }
}

/// A hardware address: 6 octets (Ethernet) or 20 (InfiniBand), lowercase, `:`-separated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(String);

impl FromStr for Mac {
    type Err = String;

    /// Accepts `:` or `-` between octets (one kind per address), any hex case.
    fn from_str(s: &str) -> Result<Self, String> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let octets: Vec<&str> = s.split(sep).collect();
        let hex = |o: &&str| o.len() == 2 && o.bytes().all(|b| b.is_ascii_hexdigit());
        if !matches!(octets.len(), 6 | 20) || !octets.iter().all(hex) {
            return Err(format!(
                "invalid MAC address {}: expected 6 (Ethernet) or 20 (InfiniBand) hex octets \
                 like 52:54:00:12:34:56",
                quoted(s)
            ));
        }
        Ok(Mac(octets.join(":").to_ascii_lowercase()))
    }
}

impl Mac {
    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses an interface name given to `Link=` and friends: what the kernel's
/// `dev_valid_name()` (net/core/dev.c) accepts, at most `IFNAMSIZ - 1` bytes
/// and no `/`, `:` or whitespace (an `eth0:1` alias label is no netdev).
pub fn parse_iface(v: &str) -> Result<String, String> {
    // The kernel's isspace() also counts the vertical tab, which Rust's does not.
    let bad_byte = |b: u8| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0x0b;
    if v.is_empty() || v == "." || v == ".." || v.len() > 15 || v.bytes().any(bad_byte) {
        return Err(format!("invalid interface name {}", quoted(v)));
    }
    Ok(v.to_string())
}

/// Removes repeated items, keeping the first of each in place.
pub fn dedupe<T: Eq + Hash + Clone>(list: &mut Vec<T>) {
    let mut seen = HashSet::new();
    list.retain(|item| seen.insert(item.clone()));
}

/// A value for an error message: quoted, escaped and cut short, so the
/// message stays one readable line whatever the input.
pub fn quoted(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_parse_and_normalize() {
        let ib = "80:00:02:08:FE:80:00:00:00:00:00:00:00:02:C9:03:00:0A:BC:DE";
        #[rustfmt::skip]
        let cases = [
            ("52:54:00:12:34:56", Some("52:54:00:12:34:56".to_string())),
            ("52-54-00-AB-CD-EF", Some("52:54:00:ab:cd:ef".to_string())),
            (ib, Some(ib.to_ascii_lowercase())),
            ("52:54:00:12:34", None), ("52:54:00:12:34:56:78", None), ("52-54-00:12:34:56", None),
            ("5:54:00:12:34:56", None), ("52:54:00:12:34:5g", None), ("", None),
        ];
        for (case, want) in cases {
            let got = case.parse::<Mac>().ok().map(|m| m.to_string());
            assert_eq!(got, want, "case {case}");
        }
    }

    #[test]
    fn durations_take_udevadm_seconds_and_humantime_spans() {
        let secs = |s| Some(Duration::from_secs(s));
        #[rustfmt::skip]
        let cases = [
            ("90", secs(90)), (" 90s ", secs(90)), ("2min", secs(120)), ("0", secs(0)),
            ("1ms", Some(Duration::from_millis(1))), ("1h 30m", secs(5400)),
            ("100years", secs(3_155_760_000)), ("1000000years", Some(MAX_DURATION)),
            ("99999999999999999999", None), ("-5", None), ("abc", None), ("", None),
        ];
        for (case, want) in cases {
            assert_eq!(parse_duration(case).ok(), want, "case {case}");
        }
        let want = "invalid duration \"abc\": expected seconds (\"90\") or a time span \
            (\"90s\", \"2min\", \"1h 30m\")";
        assert_eq!(parse_duration(" abc ").unwrap_err(), want);
        let want = "invalid duration \"99999999999999999999\": number is too large";
        assert_eq!(parse_duration("99999999999999999999").unwrap_err(), want);
    }

    #[test]
    fn interface_names_follow_the_kernels_dev_valid_name() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "eth0:1",
            "a b",
            "a\tb",
            "a\x0bb",
            "averyveryverylong",
        ] {
            assert!(parse_iface(bad).is_err(), "case {bad:?}");
        }
        for good in ["eno1", "enp3s0f1np1", "ib0.8001", "a..b", "fifteen-chars-x"] {
            assert_eq!(parse_iface(good).as_deref(), Ok(good), "case {good:?}");
        }
    }

    #[test]
    fn booleans_follow_systemd() {
        for case in ["1", "yes", "Y", "TRUE", "t", "on"] {
            assert_eq!(parse_bool(case), Ok(true), "case {case}");
        }
        for case in ["0", "No", "n", "false", "f", "OFF"] {
            assert_eq!(parse_bool(case), Ok(false), "case {case}");
        }
        for case in ["2", "", "yess"] {
            assert!(parse_bool(case).is_err(), "case {case}");
        }
    }
}
