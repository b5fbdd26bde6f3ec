//! systemd's notification protocol (`sd_notify(3)`): `STATUS=` lines on the
//! datagram socket named by `$NOTIFY_SOCKET`, so `systemctl status` shows
//! what a boot is waiting for. Without the variable every call is a no-op.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};

/// A connection to the service manager, if there is one.
pub struct Notifier {
    target: Option<(UnixDatagram, SocketAddr)>,
    last: String,
}

impl Notifier {
    /// Connects to `$NOTIFY_SOCKET` when set (`@name` is an abstract socket).
    pub fn from_env() -> Notifier {
        let target = std::env::var_os("NOTIFY_SOCKET").and_then(|path| {
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
            let addr = match bytes.strip_prefix(b"@") {
                Some(name) => SocketAddr::from_abstract_name(name).ok()?,
                None => SocketAddr::from_pathname(&path).ok()?,
            };
            // Non-blocking: a manager that does not drain its queue must not
            // stop the wait (SIGTERM is read from a signalfd, after the send);
            // a status that does not fit is dropped, the next one follows.
            let sock = UnixDatagram::unbound().ok()?;
            sock.set_nonblocking(true).ok()?;
            Some((sock, addr))
        });
        Notifier {
            target,
            last: String::new(),
        }
    }

    /// Sends `STATUS=line` unless it is what was sent last.
    pub fn status(&mut self, line: &str) {
        let Some((sock, addr)) = &self.target else {
            return;
        };
        if self.last == line {
            return;
        }
        self.last = line.to_string();
        // One line: a newline would start a new assignment in the protocol.
        let msg = format!("STATUS={}", line.replace('\n', " "));
        if let Err(e) = sock.send_to_addr(msg.as_bytes(), addr) {
            log::debug!("sd_notify: {e}");
        }
    }
}
