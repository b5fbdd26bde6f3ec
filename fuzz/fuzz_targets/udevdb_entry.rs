//! A `/run/udev/data/n<ifindex>` database entry.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::udevdb::{parse_entry, DbState};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (state, driver) = parse_entry(&text);
    // No property line at all: nothing can hold the netdev back.
    if !text.contains("E:") {
        assert_eq!((state, driver), (DbState::Done, None));
    }
});
