//! `modules.alias` glob patterns against modaliases (fnmatch(3)).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netsettle::modules::fnmatch;

// Input: PATTERN NUL TEXT, so seeds stay readable.
fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, text) = input.split_once('\0').unwrap_or((input, ""));
    let _ = fnmatch(pattern, text);
    // Every byte escaped is a literal: it matches exactly itself.
    let mut escaped = String::new();
    for c in text.chars() {
        escaped.push('\\');
        escaped.push(c);
    }
    assert!(fnmatch(&escaped, text));
    assert!(fnmatch("*", text));
    // A star before and after can only widen a match (unless the pattern
    // ends in a lone `\`, which the appended star would turn into `\*`).
    if !pattern.ends_with('\\') && fnmatch(pattern, text) {
        assert!(
            fnmatch(&format!("*{pattern}*"), text),
            "{pattern:?} {text:?}"
        );
    }
});
