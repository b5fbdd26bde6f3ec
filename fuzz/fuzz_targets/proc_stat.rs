//! `/proc/PID/stat`, whose COMM may hold spaces and parentheses.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let _ = netsettle::modules::parse_stat(text);
});
