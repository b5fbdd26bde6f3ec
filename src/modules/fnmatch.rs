//! fnmatch(3) as libkmod matches `modules.alias` patterns against a
//! device's modalias (libkmod-index.c `index_searchwild`, behind
//! libkmod-module.c `kmod_module_new_from_lookup`).

/// fnmatch(3) without flags: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`, `\` escapes.
/// Iterative with one backtrack point, so time is O(pattern × text) even for
/// `*a*a*a*…b`; an unclosed `[` is an ordinary character.
pub fn fnmatch(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // After a '*': where the pattern resumes and how much text the star took.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if let Some(next) = match_one(p, pi, t[ti]) {
            pi = next;
            ti += 1;
            continue;
        }
        if p.get(pi) == Some(&b'*') {
            pi += 1;
            star = Some((pi, ti));
            continue;
        }
        // Mismatch: let the last star swallow one more character, or fail.
        let Some((resume, taken)) = star else {
            return false;
        };
        pi = resume;
        ti = taken + 1;
        star = Some((resume, taken + 1));
    }
    p[pi..].iter().all(|&b| b == b'*')
}

/// Matches one text byte against the pattern element at `pi`; returns the
/// index after that element, or `None` on mismatch, end of pattern or `*`.
fn match_one(p: &[u8], pi: usize, c: u8) -> Option<usize> {
    match *p.get(pi)? {
        b'*' => None,
        b'?' => Some(pi + 1),
        b'[' => match bracket(p, pi, c) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            None => (c == b'[').then_some(pi + 1),
        },
        b'\\' if pi + 1 < p.len() => (p[pi + 1] == c).then_some(pi + 2),
        lit => (lit == c).then_some(pi + 1),
    }
}

/// A bracket expression at `start`: whether `c` is in it and where it ends;
/// `None` when there is no closing `]`.
fn bracket(p: &[u8], start: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some(b'!' | b'^'));
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let mut lo = *p.get(i)?;
        // A ']' right after '[' or '[!' is a member, not the end.
        if lo == b']' && !first {
            return Some((hit != negate, i + 1));
        }
        first = false;
        if lo == b'\\' {
            i += 1;
            lo = *p.get(i)?;
        }
        i += 1;
        let is_range = p.get(i) == Some(&b'-') && p.get(i + 1).is_some_and(|&b| b != b']');
        if is_range {
            let mut hi = p[i + 1];
            i += 2;
            if hi == b'\\' {
                hi = *p.get(i)?;
                i += 1;
            }
            hit |= lo <= c && c <= hi;
        } else {
            hit |= lo == c;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_follows_fnmatch3() {
        let table = [
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "a", true),
            ("a*b", "axxb", true),
            ("a*b", "axxbc", false),
            ("a*b*c", "abbbc", true),
            ("?", "a", true),
            ("?", "", false),
            ("a?c", "abc", true),
            ("[abc]", "b", true),
            ("[abc]", "d", false),
            ("[a-z]x", "qx", true),
            ("[a-z]", "Q", false),
            ("[!x]", "y", true),
            ("[!x]", "x", false),
            ("[!x]", "!", true),
            ("[0-\\]]", "A", true),
            ("[a-\\]]", "]", false),
            ("[!x]", "[", true),
            ("*ab", "aaab", true),
            ("*ab*b", "aaabab", true),
            ("[^x]", "x", false),
            ("[]]", "]", true),
            ("[!]]", "]", false),
            ("[a-]", "-", true),
            ("[\\]]", "]", true),
            ("\\*", "*", true),
            ("\\*", "a", false),
            ("a\\", "a\\", true),
            ("[", "[", true),
            ("[abc", "[abc", true),
            ("[abc", "a", false),
            ("x[", "x[", true),
            ("[!", "[!", true),
            ("d0[0-9]*", "d05x", true),
            ("d0[0-9]*", "d0ax", false),
            (
                "pci:v00008086d0000100Esv*sd*bc*sc*i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                true,
            ),
            (
                "pci:v00008086d0000100esv*sd*bc*sc*i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                false,
            ),
            (
                "pci:v*d*sv*sd*bc02sc00i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                true,
            ),
            (
                "pci:v*d*sv*sd*bc02sc80i*",
                "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00",
                false,
            ),
        ];
        for (pattern, text, want) in table {
            assert_eq!(fnmatch(pattern, text), want, "case {pattern:?} vs {text:?}");
        }
    }

    #[test]
    fn fnmatch_finishes_pathological_patterns() {
        // Recursive backtracking would take exponential time on these (and
        // this test would not finish); one backtrack point keeps it linear
        // in pattern × text.
        let text = "a".repeat(4000);
        assert!(!fnmatch(&format!("{}b", "*a".repeat(200)), &text));
        assert!(!fnmatch(&format!("{}x", "*".repeat(5000)), &text));
        assert!(fnmatch(&"*a".repeat(200), &text));
        assert!(!fnmatch(&"[a-".repeat(100), &text));
    }
}
