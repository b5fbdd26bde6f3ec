//! A fake root's `dev/kmsg` file: kmsg, dmesg and journal lines mixed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::kmsg;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let records = kmsg::parse_text(&text);
    // Every record comes from its own line.
    assert!(records.len() <= text.lines().count());
    for rec in &records {
        assert!(rec.level <= 7);
        if let Some(f) = kmsg::probe_failure(rec) {
            assert!((1..=4095).contains(&f.errno), "{f:?}");
        }
        let _ = kmsg::is_problem(rec, &["0000:00:04.0".parse().unwrap()], &["e1000e"]);
    }
});
