//! Property tests of every parser netsettle applies to what the kernel, udev
//! and the admin left behind (issue 7): no panic on arbitrary input, and the
//! round-trips and invariants each format allows. The fuzz targets in
//! `fuzz/` push the same parsers much further; these keep `cargo test`
//! honest between fuzz runs.

use std::time::Duration;

use netsettle::config::{self, parse_into, Settings};
use netsettle::kmsg::{self, parse_record, parse_text, probe_failure};
use netsettle::modules::{fnmatch, modprobe_args, normalize, parse_stat, AliasDb};
use netsettle::pci::{is_pci_addr, PciAddr};
use netsettle::root::escape_name;
use netsettle::sysfs::{nearest_pci, PciFunction};
use netsettle::udevdb::{listening, parse_entry, DbState};
use netsettle::value::{parse_duration, Mac};
use netsettle::{cmdline, uevent};
use proptest::prelude::*;

/// The most a timeout can be (config's saturation point, ~136 years).
const MAX_TIMEOUT_SECS: u64 = 1 << 32;

/// Lines a config file is made of: mostly plausible, some broken.
fn config_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\[(Settle|Expect|Ignore|Foo|settle)\\]",
        "\\[[ -~]{0,12}",
        "(Timeout|Auto|IPoIB|WaitForUdev|FailFast|Interface|PCI|MAC|Driver|MinInterfaces|Bogus) ?= ?[ -~]{0,24}",
        "(Timeout|Interface)=[0-9a-z :.*-]{0,16} \\\\",
        "[#;][^\n]{0,20}",
        "[ \t]{0,3}",
        "[^\n]{0,30}",
    ]
}

fn config_text() -> impl Strategy<Value = String> {
    prop::collection::vec(config_line(), 0..24).prop_map(|lines| lines.join("\n"))
}

fn apply(text: &str) -> (Settings, Result<(), config::ConfigError>) {
    let mut s = Settings::default();
    let r = parse_into(&mut s, "p.conf", text);
    (s, r)
}

proptest! {
    #[test]
    fn config_never_panics_and_errors_leave_settings_untouched(text in config_text()) {
        let (s, r) = apply(&text);
        match r {
            Err(e) => {
                prop_assert_eq!(s, Settings::default());
                let msg = e.to_string();
                prop_assert!(msg.starts_with("p.conf:"), "{}", msg);
                prop_assert!(!msg.contains('\n'), "one line: {}", msg);
                prop_assert!(e.line <= text.lines().count() + 1, "line {} of {:?}", e.line, text);
            }
            Ok(()) => {
                prop_assert!(s.timeout <= Duration::from_secs(MAX_TIMEOUT_SECS));
                // Applying a file twice changes nothing more: lists dedupe,
                // scalars are overwritten with the same value.
                let mut twice = s.clone();
                prop_assert!(parse_into(&mut twice, "p.conf", &text).is_ok());
                prop_assert_eq!(twice, s);
            }
        }
    }

    #[test]
    fn config_takes_any_string_without_panicking(text in any::<String>()) {
        let (s, r) = apply(&text);
        if r.is_err() {
            prop_assert_eq!(s, Settings::default());
        }
    }

    #[test]
    fn durations_never_overflow(text in any::<String>()) {
        if let Ok(d) = parse_duration(&text) {
            prop_assert!(d <= Duration::from_secs(MAX_TIMEOUT_SECS));
            let _ = std::time::Instant::now() + d;
        }
    }

    #[test]
    fn durations_read_seconds_and_spans(n in any::<u32>(), unit in 0usize..4) {
        let n = u64::from(n);
        prop_assert_eq!(parse_duration(&n.to_string()), Ok(Duration::from_secs(n)));
        let (suffix, want) = [
            ("s", Duration::from_secs(n)),
            ("ms", Duration::from_millis(n)),
            ("min", Duration::from_secs(n * 60).min(Duration::from_secs(MAX_TIMEOUT_SECS))),
            ("h", Duration::from_secs(n * 3600).min(Duration::from_secs(MAX_TIMEOUT_SECS))),
        ][unit];
        prop_assert_eq!(parse_duration(&format!("{n}{suffix}")), Ok(want));
        let negative = format!("-{n}");
        prop_assert!(parse_duration(&negative).is_err());
    }

    // See: issue 7 — the duration fuzz target found humantime 2.4 panicking
    // ("overflow in Duration::new") when a sum of terms reached u64::MAX
    // seconds with a carry of exactly one second from the fractions.
    #[test]
    fn durations_of_many_terms_saturate_instead_of_panicking(
        big in prop::sample::select(vec![u64::MAX, u64::MAX - 1, 1 << 63, 1 << 32]),
        halves in 0usize..6,
        spaced in any::<bool>(),
    ) {
        let sep = if spaced { " " } else { "" };
        let text = format!("{big}s{}", format!("{sep}0.5s").repeat(halves));
        prop_assert_eq!(parse_duration(&text), Ok(Duration::from_secs(MAX_TIMEOUT_SECS)));
    }

    #[test]
    fn durations_of_several_terms_add_up(
        terms in prop::collection::vec((0u64..100_000, 0usize..5), 1..6),
        spaced in any::<bool>(),
    ) {
        let units = [("ms", 1u64), ("s", 1000), ("min", 60_000), ("h", 3_600_000), ("d", 86_400_000)];
        let text: Vec<String> = terms.iter().map(|(n, u)| format!("{n}{}", units[*u].0)).collect();
        let text = text.join(if spaced { " " } else { "" });
        let ms: u64 = terms.iter().map(|(n, u)| n * units[*u].1).sum();
        let want = Duration::from_millis(ms).min(Duration::from_secs(MAX_TIMEOUT_SECS));
        prop_assert_eq!(parse_duration(&text), Ok(want), "{}", text);
    }

    #[test]
    fn pci_addresses_never_panic_and_normalize_to_what_sysfs_lists(text in any::<String>()) {
        if let Ok(addr) = text.parse::<PciAddr>() {
            let shown = addr.to_string();
            prop_assert!(is_pci_addr(&shown), "{}", shown);
            prop_assert_eq!(shown.parse::<PciAddr>(), Ok(addr));
        }
    }

    #[test]
    fn pci_addresses_round_trip(
        domain in prop_oneof![0u32..=0xffff, 0x10000u32..=u32::MAX],
        bus in any::<u8>(),
        dev in 0u32..32,
        func in 0u32..8,
        upper in any::<bool>(),
    ) {
        let long = format!("{domain:04x}:{bus:02x}:{dev:02x}.{func:x}");
        let input = if upper { long.to_ascii_uppercase() } else { long.clone() };
        let addr: PciAddr = input.parse().unwrap();
        prop_assert_eq!(addr.to_string(), long.clone());
        prop_assert_eq!(addr.to_string().parse::<PciAddr>().unwrap(), addr);
        prop_assert!(is_pci_addr(&addr.to_string()));
        prop_assert_eq!(addr.function() as u32, func);
        if domain == 0 {
            let short = format!("{bus:02x}:{dev:02x}.{func:x}");
            prop_assert_eq!(short.parse::<PciAddr>().unwrap(), addr);
        }
        // Out-of-range device and function numbers are not addresses.
        let bad_dev = format!("{domain:04x}:{bus:02x}:{:02x}.{func:x}", dev + 32);
        prop_assert!(bad_dev.parse::<PciAddr>().is_err());
        let bad_func = format!("{domain:04x}:{bus:02x}:{dev:02x}.{}", func + 8);
        prop_assert!(bad_func.parse::<PciAddr>().is_err());
    }

    #[test]
    fn macs_never_panic_and_round_trip(text in any::<String>()) {
        if let Ok(mac) = text.parse::<Mac>() {
            prop_assert_eq!(mac.to_string().parse::<Mac>(), Ok(mac));
        }
    }

    #[test]
    fn macs_accept_colons_or_dashes_in_any_case(
        octets in prop_oneof![prop::collection::vec(any::<u8>(), 6), prop::collection::vec(any::<u8>(), 20)],
        dash in any::<bool>(),
        upper in any::<bool>(),
    ) {
        let want: Vec<String> = octets.iter().map(|o| format!("{o:02x}")).collect();
        let want = want.join(":");
        let mut input = if dash { want.replace(':', "-") } else { want.clone() };
        if upper {
            input = input.to_ascii_uppercase();
        }
        let mac: Mac = input.parse().unwrap();
        prop_assert_eq!(mac.as_str(), want.as_str());
        prop_assert_eq!(mac.to_string().parse::<Mac>().unwrap(), mac);
        // One octet more or less is not an address.
        let longer = format!("{want}:00");
        prop_assert!(longer.parse::<Mac>().is_err());
    }

    #[test]
    fn kmsg_records_never_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Some(rec) = parse_record(&raw) {
            prop_assert!(rec.level <= 7);
            if let Some(f) = probe_failure(&rec) {
                prop_assert!((1..=4095).contains(&f.errno));
                prop_assert!(kmsg::names_device(&rec, f.pci));
            }
        }
    }

    #[test]
    fn kmsg_headers_and_dictionaries_are_read_back(
        prio in 0u64..200,
        seq in any::<u64>(),
        usec in any::<u64>(),
        text in "[ -~]{0,80}",
        device in "[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\\.[0-7]",
    ) {
        let raw = format!("{prio},{seq},{usec},-;{text}\n SUBSYSTEM=pci\n DEVICE=+pci:{device}\n");
        let rec = parse_record(raw.as_bytes()).unwrap();
        prop_assert_eq!(u64::from(rec.level), prio & 7);
        prop_assert_eq!((rec.seq, rec.usec), (seq, usec));
        prop_assert_eq!(&rec.text, &text);
        prop_assert_eq!(rec.subsystem.as_deref(), Some("pci"));
        prop_assert!(kmsg::names_device(&rec, device.parse().unwrap()));
    }

    #[test]
    fn kmsg_records_beyond_the_kernel_maximum_are_refused(extra in 1usize..4096) {
        let mut raw = b"3,1,1,-;".to_vec();
        raw.resize(kmsg::RECORD_MAX + extra, b'x');
        prop_assert!(parse_record(&raw).is_none());
        // Cut short anywhere inside the header, a record is no record.
        let whole = b"3,1022,37536789,-;mlx5_core: probe of 0000:31:00.0 failed with error -12";
        let cut = extra % 17;
        prop_assert!(parse_record(&whole[..cut]).is_none(), "{:?}", &whole[..cut]);
    }

    #[test]
    fn probe_failures_are_found_in_both_kernel_wordings(
        driver in "[a-z][a-z0-9_-]{0,15}",
        pci in "[0-9a-f]{4}:[0-9a-f]{2}:[01][0-9a-f]\\.[0-7]",
        errno in 1i32..=4095,
        new in any::<bool>(),
    ) {
        let text = if new {
            format!("3,1,1,-;{driver} {pci}: probe with driver {driver} failed with error -{errno}")
        } else {
            format!("4,1,1,-;{driver}: probe of {pci} failed with error -{errno}")
        };
        let f = probe_failure(&parse_record(text.as_bytes()).unwrap()).unwrap();
        prop_assert_eq!((f.pci.to_string(), f.driver.as_str(), f.errno), (pci.clone(), driver.as_str(), errno));
    }

    #[test]
    fn kmsg_text_never_panics_and_gives_at_most_a_record_per_line(
        raw in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        let text = String::from_utf8_lossy(&raw);
        let records = parse_text(&text);
        prop_assert!(records.len() <= text.lines().count());
        for r in &records {
            prop_assert!(r.level <= 7);
            let _ = probe_failure(r);
        }
    }

    #[test]
    fn udev_entries_never_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&raw);
        let (state, driver) = parse_entry(&text);
        if !text.contains("E:") {
            prop_assert_eq!((state, driver), (DbState::Done, None));
        }
    }

    #[test]
    fn an_id_renaming_line_anywhere_means_renaming(
        lines in prop::collection::vec("(I:[0-9]{1,6}|E:ID_[A-Z_]{1,12}=[ -~]{0,12}|E:ID_PROCESSING=1|G:[a-z]{1,8}|[ -~]{0,20})", 0..10),
        at in any::<prop::sample::Index>(),
        value in "[ -~]{0,6}",
    ) {
        let mut lines = lines;
        let at = at.index(lines.len() + 1);
        lines.insert(at, format!("E:ID_RENAMING={value}"));
        prop_assert_eq!(parse_entry(&lines.join("\n")).0, DbState::Renaming);
    }

    #[test]
    fn socket_tables_never_panic(text in any::<String>(), path in any::<String>()) {
        let _ = listening(&text, &path);
    }

    #[test]
    fn a_listening_socket_is_found_by_its_path_and_only_while_listening(
        others in prop::collection::vec("/[a-z/]{1,20}", 0..6),
        flags in any::<u32>(),
        path in "/[a-z/]{1,20}",
    ) {
        let line = |flags: u32, p: &str| {
            format!("0000000000000000: 00000002 00000000 {flags:08X} 0005 01 12345 {p}\n")
        };
        let mut table = "Num       RefCount Protocol Flags    Type St Inode Path\n".to_string();
        for o in others.iter().filter(|o| **o != path) {
            table.push_str(&line(0x10000, o));
        }
        table.push_str(&line(flags, &path));
        prop_assert_eq!(listening(&table, &path), flags & 0x10000 != 0);
        // The header line is never a socket.
        prop_assert!(!listening("Num RefCount Protocol 00010000 Type St Inode /x\n", "/x"));
    }

    #[test]
    fn uevents_never_panic(raw in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Some(ev) = uevent::parse(&raw) {
            prop_assert!(!ev.action.is_empty());
            prop_assert!(ev.devpath.starts_with('/'));
        }
    }

    #[test]
    fn uevents_are_read_back(
        action in "(add|remove|change|move|bind|unbind)",
        devpath in "(/[a-z0-9:._-]{1,12}){1,6}",
        subsystem in "[a-z_]{1,12}",
        extra in prop::collection::vec("[A-Z_]{1,8}=[ -~]{0,12}", 0..5),
    ) {
        let mut msg = format!("{action}@{devpath}\0ACTION={action}\0").into_bytes();
        for e in &extra {
            msg.extend_from_slice(e.as_bytes());
            msg.push(0);
        }
        msg.extend_from_slice(format!("SUBSYSTEM={subsystem}\0").as_bytes());
        let ev = uevent::parse(&msg).unwrap();
        prop_assert_eq!(&ev.action, &action);
        prop_assert_eq!(&ev.devpath, &devpath);
        // The first SUBSYSTEM= wins; the generated extras never spell it.
        if !extra.iter().any(|e| e.starts_with("SUBSYSTEM=")) {
            prop_assert_eq!(ev.subsystem.as_deref(), Some(subsystem.as_str()));
        }
    }

    #[test]
    fn fnmatch_never_panics(pattern in any::<String>(), text in any::<String>()) {
        let _ = fnmatch(&pattern, &text);
    }

    #[test]
    fn fnmatch_literals_match_themselves(literal in "[^*?\\[\\\\]{0,40}", other in "[^*?\\[\\\\]{0,40}") {
        prop_assert!(fnmatch(&literal, &literal));
        prop_assert_eq!(fnmatch(&literal, &other), literal == other);
        prop_assert!(fnmatch("*", &literal));
        let (pattern, text) = (format!("*{literal}*"), format!("{other}{literal}{other}"));
        prop_assert!(fnmatch(&pattern, &text));
    }

    #[test]
    fn fnmatch_escaped_text_matches_exactly_itself(text in any::<String>(), other in any::<String>()) {
        let escaped: String = text.chars().flat_map(|c| ['\\', c]).collect();
        prop_assert!(fnmatch(&escaped, &text));
        prop_assert_eq!(fnmatch(&escaped, &other), text == other);
    }

    #[test]
    fn fnmatch_question_marks_match_any_byte_of_the_same_length(text in "[ -~]{0,30}") {
        prop_assert!(fnmatch(&"?".repeat(text.len()), &text));
        prop_assert!(!fnmatch(&"?".repeat(text.len() + 1), &text));
    }

    #[test]
    fn fnmatch_stars_take_linear_time(n in 1usize..200) {
        // `*a*a*…*b` against `aaaa…`: exponential for a naive backtracker.
        let pattern = format!("{}b", "*a".repeat(n));
        prop_assert!(!fnmatch(&pattern, &"a".repeat(4 * n)));
    }

    #[test]
    fn alias_index_finds_what_a_linear_scan_finds(
        aliases in prop::collection::vec(("[a-z:0-9A-F*?\\[\\]!-]{0,24}", "[a-z][a-z0-9_-]{0,8}"), 0..12),
        builtin in prop::collection::vec(("[a-z:0-9A-F*?]{0,24}", "[a-z][a-z0-9_]{0,8}"), 0..4),
        modalias in "[a-z:0-9A-F]{0,30}",
        junk in "[^\n]{0,40}",
    ) {
        let render = |list: &[(String, String)]| {
            list.iter().map(|(p, m)| format!("alias {p} {m}\n")).collect::<String>()
        };
        let text = format!("# comment\n{}{junk}\n", render(&aliases));
        let builtin = render(&builtin);
        let db = AliasDb::parse(&text, Some(&builtin));
        let got: Vec<String> = db.matches(&modalias).into_iter().map(|m| m.module).collect();
        let mut want: Vec<String> = Vec::new();
        for line in text.lines().chain(builtin.lines()) {
            let mut w = line.split_whitespace();
            if let (Some("alias"), Some(p), Some(m)) = (w.next(), w.next(), w.next()) {
                let m = normalize(m);
                if !want.contains(&m) && fnmatch(p, &modalias) {
                    want.push(m);
                }
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn alias_files_never_panic(text in any::<String>(), builtin in any::<String>(), modalias in any::<String>()) {
        let db = AliasDb::parse(&text, Some(&builtin));
        let _ = db.matches(&modalias);
    }

    #[test]
    fn proc_stat_never_panics(text in any::<String>()) {
        let _ = parse_stat(&text);
    }

    #[test]
    fn proc_stat_comm_may_hold_spaces_and_parentheses(
        pid in 1u32..4_194_304,
        comm in "[ -~]{0,15}",
        state in "[RSDZTI]",
        ppid in any::<u32>(),
    ) {
        let text = format!("{pid} ({comm}) {state} {ppid} 0 0 0 -1 4194560 0 0 0 0\n");
        prop_assert_eq!(parse_stat(&text), Some((comm, ppid)));
    }

    #[test]
    fn modprobe_args_never_panic(raw in prop::collection::vec(any::<u8>(), 0..256)) {
        for m in modprobe_args(&raw) {
            prop_assert!(!m.is_empty() && !m.contains('=') && !m.contains('-'), "{:?}", m);
        }
    }

    #[test]
    fn modprobe_loads_its_first_operand(
        opts in prop::collection::vec("-(q|v|b|-quiet|-use-blacklist)", 0..4),
        module in "[a-z][a-z0-9_-]{0,15}",
        params in prop::collection::vec("[a-z_]{1,8}=[0-9]{1,3}", 0..3),
    ) {
        let mut argv = vec!["/sbin/modprobe".to_string()];
        argv.extend(opts);
        argv.push("--".into());
        argv.push(module.clone());
        argv.extend(params);
        let raw: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
        prop_assert_eq!(modprobe_args(&raw), vec![normalize(&module)]);
    }

    #[test]
    fn kernel_cmdlines_never_panic(text in any::<String>()) {
        let parsed = cmdline::parse(&text);
        for (key, value) in &parsed.args {
            prop_assert!(!key.is_empty() || value.is_some());
        }
        let _ = parsed.blacklist();
        let mut s = Settings::default();
        if config::kernel::apply(&parsed, &mut s).is_err() {
            prop_assert_eq!(s, Settings::default());
        }
    }

    #[test]
    fn kernel_cmdline_words_are_read_back(
        words in prop::collection::vec(("[a-z][a-z0-9_.-]{0,12}", prop::option::of("[!-~&&[^\"]]{0,12}")), 0..10),
        sep in "[ \t\n]{1,3}",
    ) {
        let text: Vec<String> = words
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => k.clone(),
            })
            .collect();
        let parsed = cmdline::parse(&text.join(&sep));
        prop_assert_eq!(parsed.args, words);
    }

    #[test]
    fn escaped_names_are_printable_and_reversible(name in prop::collection::vec(any::<u8>(), 0..32)) {
        let shown = escape_name(&name);
        prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
        prop_assert_eq!(unescape(&shown), name);
    }

    #[test]
    fn sysfs_values_never_panic(text in any::<String>()) {
        let f = PciFunction {
            addr: "0000:04:00.0".parse().unwrap(),
            class: Some(text.clone()),
            vendor: None,
            device: None,
            modalias: Some(text.clone()),
            driver: None,
            is_vf: false,
        };
        let _ = (f.class_code(), f.is_network(), f.is_infiniband());
        let _ = is_pci_addr(&text);
        let _ = nearest_pci(std::path::Path::new(&text));
    }

    #[test]
    fn class_codes_decide_network_and_infiniband(code in 0u32..=0xff_ffff, prefix in any::<bool>()) {
        let class = if prefix { format!("0x{code:06x}") } else { format!("{code:06x}") };
        let f = PciFunction {
            addr: "0000:04:00.0".parse().unwrap(),
            class: Some(class),
            vendor: None,
            device: None,
            modalias: None,
            driver: None,
            is_vf: false,
        };
        prop_assert_eq!(f.class_code(), Some(code));
        prop_assert_eq!(f.is_network(), code >> 16 == 0x02);
        prop_assert_eq!(f.is_infiniband(), code >> 8 == 0x0207);
    }
}

/// The inverse of [`escape_name`]: `\\` and `\xNN`.
fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'x') {
            let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}
