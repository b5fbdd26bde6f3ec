//! `[Settle]`/`[Expect]`/`[Ignore]` INI text, as `/etc/netsettle.conf` holds it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::config::{parse_into, Settings};

fuzz_target!(|data: &[u8]| {
    // Files that are not UTF-8 are rejected before parsing (config::read).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut settings = Settings::default();
    let before = settings.clone();
    match parse_into(&mut settings, "fuzz.conf", text) {
        // On error the settings are untouched and the message is one line.
        Err(e) => {
            assert_eq!(settings, before);
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        // Applying the same file twice changes nothing more (lists dedupe).
        Ok(()) => {
            let once = settings.clone();
            parse_into(&mut settings, "fuzz.conf", text).unwrap();
            assert_eq!(settings, once);
        }
    }
});
