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
    let journal = stderr_is_journal();
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

/// Whether stderr is the journal stream systemd set up: `$JOURNAL_STREAM`
/// holds its `DEVICE:INODE`, and it counts only while stderr is still that
/// stream, not when a script pipes our stderr elsewhere (systemd.exec(5):
/// "compare … with the device and inode of stderr as returned by fstat()").
fn stderr_is_journal() -> bool {
    use std::os::unix::fs::MetadataExt;
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value
        .to_str()
        .and_then(|v| v.split_once(':'))
        .and_then(|(d, i)| Some((d.parse::<u64>().ok()?, i.parse::<u64>().ok()?)))
    else {
        return false;
    };
    // SAFETY: fd 2 is only borrowed for the fstat below.
    let stderr = unsafe { std::os::fd::BorrowedFd::borrow_raw(2) };
    let Ok(file) = stderr.try_clone_to_owned().map(std::fs::File::from) else {
        return false;
    };
    file.metadata()
        .is_ok_and(|m| m.dev() == dev && m.ino() == ino)
}
