//! `/proc/cmdline`, and applying its `netsettle.*` keys to the settings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::cmdline;
use netsettle::config::Settings;

fuzz_target!(|text: &str| {
    let parsed = cmdline::parse(text);
    for (key, value) in &parsed.args {
        assert!(!key.is_empty() || value.is_some());
    }
    let _ = parsed.blacklist();
    let mut settings = Settings::default();
    let before = settings.clone();
    if netsettle::config::kernel::apply(&parsed, &mut settings).is_err() {
        assert_eq!(settings, before);
    }
});
