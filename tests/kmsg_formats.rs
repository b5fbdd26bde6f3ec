//! The kernel log formats netsettle reads, at their edges: records at the
//! size bound, numbers that only look like numbers, lines pasted from other
//! programs' logs, and a fake log larger than one read.

mod common;

use common::{state_of, FakeRoot};
use netsettle::kmsg::{parse_record, parse_text};

/// A kmsg record whose whole length, header included, is `len` bytes.
fn record_of_len(len: usize) -> String {
    let head = "6,1,1,-;";
    format!("{head}{}", "x".repeat(len - head.len()))
}

#[test]
fn a_record_of_exactly_16_kib_is_read_and_one_byte_more_is_not() {
    let at = record_of_len(16 * 1024);
    assert!(parse_record(at.as_bytes()).is_some());
    assert_eq!(parse_text(&at).len(), 1);
    let over = record_of_len(16 * 1024 + 1);
    assert!(parse_record(over.as_bytes()).is_none());
    assert_eq!(parse_text(&over).len(), 0);
}

#[test]
fn header_numbers_are_plain_decimal_digits() {
    for raw in [
        "+6,1,1,-;text",
        "6,+1,1,-;text",
        "6,1,+1,-;text",
        ",1,1,-;text",
    ] {
        assert!(parse_record(raw.as_bytes()).is_none(), "{raw}");
    }
    let rec = parse_record(b"6,17,123456,-;text").unwrap();
    assert_eq!((rec.level, rec.seq, rec.usec), (6, 17, 123456));
}

#[test]
fn other_programs_lines_that_mention_kernel_are_not_kernel_records() {
    for line in [
        "Mar 05 10:00:01 host network: ifup failed, kernel: says no",
        "Mar 05 10:00:01 host prog[12] kernel: says no",
        "Mar 05 10:00:01 host network[2914]: kernel: says no",
    ] {
        assert_eq!(parse_text(line), vec![], "{line}");
    }
    let recs = parse_text(
        "Mar 05 10:00:01 host kernel: e1000e: probe of 0000:00:04.0 failed with error -5",
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(
        recs[0].text,
        "e1000e: probe of 0000:00:04.0 failed with error -5"
    );
}

#[test]
fn an_indented_dmesg_line_with_an_equals_sign_is_a_record_not_a_continuation() {
    // Pasted from a Markdown code block: indented, and its text has a `=`.
    let text = "    [   17.433467] kernel BUG at drivers/net/foo.c:42! flags=0x2\n";
    let recs = parse_text(text);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(
        recs[0].text,
        "kernel BUG at drivers/net/foo.c:42! flags=0x2"
    );
    // A real continuation line still attaches to the record before it.
    let recs = parse_text(
        "3,5,10,-;e1000e 0000:00:04.0: oops\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:04.0\n",
    );
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].device.as_deref(), Some("+pci:0000:00:04.0"));
    assert_eq!(recs[0].subsystem.as_deref(), Some("pci"));
}

#[test]
fn a_fake_kernel_log_larger_than_one_read_is_read_to_its_end() {
    // 3 MiB of chatter, then the failure: one `status` must still see it.
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    let filler = format!("6,1,1,-;{}\n", "c".repeat(150));
    root.kmsg(&filler.repeat(3 * 1024 * 1024 / filler.len()))
        .kmsg("4,387,8531997,-;e1000e: probe of 0000:00:04.0 failed with error -5\n");
    let (code, r) = root.status();
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "probe-failed");
}

#[test]
fn an_unreadable_kernel_log_is_reported_once_per_reason_in_the_debug_log() {
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e")
        .remove("dev/kmsg");
    std::fs::create_dir(root.path().join("dev/kmsg")).unwrap();
    let mut child = root.spawn(&["--format", "json", "-vv", "-t", "10h"]);
    let mut stderr = common::wait_until_watching(&mut child);
    // Two more evaluations, each trying the log again.
    root.bind("0000:00:04.0", "e1000");
    common::read_until(&mut stderr, "no-driver -> no-netdev");
    root.unbind("0000:00:04.0");
    common::read_until(&mut stderr, "no-netdev -> no-driver");
    common::signal(&child, nix::sys::signal::Signal::SIGTERM);
    let (code, r, rest) = common::finish_with(child, stderr);
    assert_eq!(code, 143);
    assert!(
        state_of(&r, "0000:00:04.0")
            .1
            .contains("kernel log unreadable"),
        "{r:#}"
    );
    assert!(!rest.contains("kernel log: "), "said again: {rest}");
}

#[test]
fn a_kernel_log_line_longer_than_one_read_is_skipped_and_the_next_record_read() {
    use std::io::{Seek, SeekFrom, Write};
    let root = FakeRoot::new();
    root.pci("0000:00:04.0", "0x020000", "0x8086", "0x100e");
    // 32 MiB and a bit of one "line" (sparse NULs), then a real record.
    let path = root.path().join("dev/kmsg");
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len((32 << 20) + 100).unwrap();
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(b"\n4,387,8531997,-;e1000e: probe of 0000:00:04.0 failed with error -5\n")
        .unwrap();
    drop(f);
    let (code, r) = root.status();
    assert_eq!(code, 3, "{r:#}");
    assert_eq!(state_of(&r, "0000:00:04.0").0, "probe-failed");
}

#[test]
fn a_replaced_empty_kernel_log_is_no_change() {
    let root = FakeRoot::new();
    let log_root = netsettle::root::Root::new(root.path());
    let mut log = netsettle::kmsg::KernelLog::open(&log_root);
    assert!(!log.refresh());
    // A new, still empty file in its place: nothing was lost, nothing came.
    root.remove("dev/kmsg").file("dev/kmsg", "");
    assert!(!log.refresh());
    root.kmsg("6,1,1,-;hello\n");
    assert!(log.refresh());
    // Replaced again: what was read is gone, which is a change.
    root.remove("dev/kmsg").file("dev/kmsg", "");
    assert!(log.refresh());
    assert!(log.records().is_empty());
}
