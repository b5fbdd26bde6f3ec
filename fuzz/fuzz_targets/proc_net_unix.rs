//! `/proc/net/unix`, searched for udevd's listening control socket.
#![no_main]

use libfuzzer_sys::fuzz_target;

// Input: TABLE NUL PATH.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (table, path) = text
        .split_once('\0')
        .unwrap_or((&text, "/run/udev/control"));
    let _ = netsettle::udevdb::listening(table, path);
});
