//! Kernel uevents from the `NETLINK_KOBJECT_UEVENT` socket, multicast group 1
//! (the kernel's own; udevd re-broadcasts on group 2 after its rules ran).
//! Every uevent that could change readiness triggers a full re-read, so the
//! message only needs enough parsing to filter out the irrelevant ones.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{
    bind, recv, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag,
    SockProtocol, SockType,
};

/// The parts of a uevent netsettle looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    /// `add`, `remove`, `bind`, `move` (rename), …
    pub action: String,
    /// `/devices/pci0000:00/…`
    pub devpath: String,
    /// `SUBSYSTEM=` value, if present.
    pub subsystem: Option<String>,
}

/// Parses a kernel uevent: `ACTION@DEVPATH\0KEY=VALUE\0…`.
pub fn parse(msg: &[u8]) -> Option<Uevent> {
    let mut fields = msg.split(|b| *b == 0);
    let head = std::str::from_utf8(fields.next()?).ok()?;
    let (action, devpath) = head.split_once('@')?;
    if action.is_empty() || !devpath.starts_with('/') {
        return None;
    }
    let subsystem = fields
        .filter_map(|f| f.strip_prefix(b"SUBSYSTEM="))
        .find_map(|v| std::str::from_utf8(v).ok())
        .map(str::to_string);
    Some(Uevent {
        action: action.to_string(),
        devpath: devpath.to_string(),
        subsystem,
    })
}

impl Uevent {
    /// Whether this event can change what netsettle reports.
    pub fn is_relevant(&self) -> bool {
        matches!(
            self.subsystem.as_deref(),
            Some(
                "net"
                    | "pci"
                    | "module"
                    | "infiniband"
                    | "drivers"
                    | "virtio"
                    | "auxiliary"
                    | "infiniband_verbs"
            )
        )
    }
}

/// What reading the socket found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// At least one relevant event arrived.
    pub relevant: bool,
    /// The kernel dropped events (ENOBUFS): only a full re-read is safe.
    pub overflow: bool,
}

/// A bound, non-blocking uevent socket.
pub struct UeventSocket {
    fd: OwnedFd,
}

impl UeventSocket {
    /// Opens and binds the socket to the kernel's multicast group.
    pub fn open() -> nix::Result<UeventSocket> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Datagram,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::NetlinkKObjectUEvent,
        )?;
        // Coldplug and module loads come in bursts; a larger buffer makes
        // ENOBUFS rarer (it is handled anyway).
        let _ = setsockopt(&fd, sockopt::RcvBuf, &(1 << 20));
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 1))?;
        Ok(UeventSocket { fd })
    }

    /// Reads every queued message.
    pub fn drain(&self) -> Drained {
        let mut buf = vec![0u8; 16 * 1024];
        let mut out = Drained::default();
        loop {
            match recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::MSG_DONTWAIT) {
                Ok(0) => break,
                Ok(n) => {
                    if let Some(ev) = parse(&buf[..n]) {
                        log::debug!("uevent {}@{} ({:?})", ev.action, ev.devpath, ev.subsystem);
                        out.relevant |= ev.is_relevant();
                    }
                }
                Err(Errno::ENOBUFS) => out.overflow = true,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        out
    }
}

impl AsFd for UeventSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_uevents_are_parsed_and_filtered() {
        let msg = b"add@/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0\0ACTION=add\0SUBSYSTEM=net\0INTERFACE=eth0\0";
        let ev = parse(msg).unwrap();
        assert_eq!(ev.action, "add");
        assert_eq!(ev.subsystem.as_deref(), Some("net"));
        assert!(ev.is_relevant());
        let block = parse(b"change@/devices/virtual/block/loop0\0SUBSYSTEM=block\0").unwrap();
        assert!(!block.is_relevant());
    }

    #[test]
    fn garbage_is_not_a_uevent() {
        for msg in [
            &b""[..],
            b"libudev\0\xfe\xed",
            b"add",
            b"@/x",
            b"add@rel\0",
            b"\xff@/x",
        ] {
            assert_eq!(parse(msg), None, "{msg:?}");
        }
    }
}
