//! Log lines on stderr: `netsettle: message` on a terminal or in a file,
//! `<N>message` when stderr is the journal (`$JOURNAL_STREAM`), so that
//! `journalctl -p warning` finds the failures. No timestamps: the journal
//! and the console add their own.

use std::io::Write;

use log::Level;

/// syslog priority of a log level, as `sd-daemon(3)` prefixes expect.
pub fn priority(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

/// Starts logging: warnings by default, errors only with `-q`, state changes
/// with `-v`, debug with `-vv`; `$NETSETTLE_LOG` (env_logger syntax) wins.
pub fn init(quiet: bool, verbose: u8) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let env = env_logger::Env::new().filter_or("NETSETTLE_LOG", default);
    let _ = env_logger::Builder::from_env(env)
        .format(move |buf, record| {
            if journal {
                writeln!(buf, "<{}>{}", priority(record.level()), record.args())
            } else {
                writeln!(buf, "netsettle: {}", record.args())
            }
        })
        .try_init();
}
