//! udev's run-time state: `/run/udev/control`, `/run/udev/queue` and the
//! device database `/run/udev/data/n<ifindex>` (systemd's `src/libsystemd/
//! sd-device/device-private.c` writes it; `udevadm settle` reads the queue
//! marker the same way).

use std::fmt::Write;
use std::os::unix::fs::FileTypeExt;

use crate::root::{Dir, Root};

/// udevd as seen from the file system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UdevState {
    /// udevd is running (something listens on its control socket).
    pub running: bool,
    /// `run/udev/queue` is absent: no event is being processed.
    pub queue_empty: bool,
}

/// How far udev got with one netdev.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbState {
    /// No database entry yet: the add event is still queued or running.
    Missing,
    /// `ID_RENAMING` is set: the kernel name is about to change.
    Renaming,
    /// `ID_PROCESSING=1`: udev (v255+) is still running RUN programs for it.
    Processing,
    /// Processed: the name is final.
    Done,
}

/// Reads udev's state under `root`.
pub fn udev_state(root: &Root) -> UdevState {
    UdevState {
        running: control_alive(root),
        queue_empty: queue_empty(root),
    }
}

/// Whether udev's queue marker is absent (src/udev/udevd.c
/// `event_queue_update` creates it while events are queued).
pub fn queue_empty(root: &Root) -> bool {
    !root.path("run/udev/queue").exists()
}

/// Whether udevd listens on its control socket. A plain file (fake roots)
/// counts by its existence. For a socket, the root's own `proc/net/unix`
/// decides where it has one (a udevd that died leaves its socket file
/// behind); a tree without a socket table (a captured tree, a test fixture)
/// goes by existence, as its socket node has no listener and never can.
///
/// Never by connecting: udevd serves one control connection at a time, and
/// taking it makes a `udevadm settle` running beside netsettle give up
/// ("Failed to connect to udev daemon") and return at once.
fn control_alive(root: &Root) -> bool {
    let path = root.path(CONTROL);
    let Ok(meta) = std::fs::metadata(&path) else {
        return false;
    };
    if !meta.file_type().is_socket() {
        return true;
    }
    match root.read_text("proc/net/unix", 16 << 20) {
        Ok(table) => {
            let real = path.to_string_lossy();
            // udevd bound the path as it sees it: from its own root.
            listening(&table, &format!("/{CONTROL}")) || listening(&table, &real)
        }
        Err(_) => true,
    }
}

/// udevd's control socket.
const CONTROL: &str = "run/udev/control";

/// `__SO_ACCEPTCON` in the Flags column of `/proc/net/unix`.
const ACCEPTCON: u32 = 0x10000;

/// Whether `/proc/net/unix` lists a listening socket bound to `path`.
pub fn listening(table: &str, path: &str) -> bool {
    table.lines().skip(1).any(|line| {
        // "Num RefCount Protocol Flags Type St Inode Path"
        let mut fields = line.split_whitespace();
        let flags = fields.nth(3).and_then(|f| u32::from_str_radix(f, 16).ok());
        fields.nth(3) == Some(path) && flags.is_some_and(|f| f & ACCEPTCON != 0)
    })
}

/// The database state and `ID_NET_DRIVER` of the netdev with this ifindex.
pub fn netdev_entry(root: &Root, ifindex: u32) -> (DbState, Option<String>) {
    let mut path = String::with_capacity(32);
    let _ = write!(path, "run/udev/data/n{ifindex}");
    root.read_bytes_with(&path, entry_of)
        .unwrap_or((DbState::Missing, None))
}

/// udev's database directory held open, to read many entries: each then
/// costs a lookup of its own name only.
pub struct Entries(Option<Dir>);

impl Entries {
    /// Opens `run/udev/data`; when it is missing, every entry is.
    pub fn open(root: &Root) -> Entries {
        Entries(root.open_dir(DATA))
    }

    /// [`netdev_entry`], read from the directory held open.
    pub fn netdev_entry(&self, ifindex: u32) -> (DbState, Option<String>) {
        let mut name = String::with_capacity(16);
        let _ = write!(name, "n{ifindex}");
        self.0
            .as_ref()
            .and_then(|dir| dir.read_bytes_with(&name, entry_of))
            .unwrap_or((DbState::Missing, None))
    }
}

/// udev's device database.
const DATA: &str = "run/udev/data";

fn entry_of(bytes: &[u8]) -> (DbState, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_entry(text),
        Err(_) => parse_entry(&String::from_utf8_lossy(bytes)),
    }
}

/// Parses a database entry (`I:`, `E:KEY=VALUE`, `G:` … lines).
pub fn parse_entry(text: &str) -> (DbState, Option<String>) {
    let mut state = DbState::Done;
    let mut driver = None;
    for line in text.lines() {
        // Every key that matters starts so; an entry holds some twenty
        // other properties, not worth splitting.
        let Some(prop) = line.strip_prefix("E:ID_") else {
            continue;
        };
        let value = |key: &str| match prop.strip_prefix(key)?.as_bytes().first() {
            None => Some(""),
            Some(b'=') => Some(&prop[key.len() + 1..]),
            Some(_) => None,
        };
        // systemd checks only that ID_RENAMING is present, whatever its value.
        if value("RENAMING").is_some() {
            state = DbState::Renaming;
        } else if value("PROCESSING") == Some("1") {
            if state == DbState::Done {
                state = DbState::Processing;
            }
        } else if let Some(v) = value("NET_DRIVER").filter(|v| !v.is_empty()) {
            driver = Some(v.to_string());
        }
    }
    (state, driver)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_states_follow_systemd_markers() {
        let cases = [
            (
                "I:123\nE:ID_NET_DRIVER=e1000\n",
                DbState::Done,
                Some("e1000"),
            ),
            ("I:1\nE:ID_RENAMING=\n", DbState::Renaming, None),
            (
                "E:ID_RENAMING=1\nE:ID_PROCESSING=1\n",
                DbState::Renaming,
                None,
            ),
            ("E:ID_PROCESSING=1\n", DbState::Processing, None),
            ("E:ID_PROCESSING=0\n", DbState::Done, None),
            ("", DbState::Done, None),
            ("garbage\n\0\u{1}E:", DbState::Done, None),
            (
                "E:ID_RENAMINGX=1\nE:ID_NET_DRIVERS=x\n",
                DbState::Done,
                None,
            ),
            (
                "E:ID_PROCESSING=10\nE:ID_NET_DRIVER=\n",
                DbState::Done,
                None,
            ),
            (
                "E:ID_NET_DRIVER=a=b\r\nE:ID_PROCESSING\n",
                DbState::Done,
                Some("a=b"),
            ),
            (" E:ID_RENAMING=\nX:ID_RENAMING=\n", DbState::Done, None),
            ("\n\r\nE:ID_NET_DRIVER=x\r", DbState::Done, Some("x\r")),
            ("E:ID_NET_DRIVER=x\r\r\n", DbState::Done, Some("x\r")),
        ];
        for (case, (text, state, driver)) in cases.into_iter().enumerate() {
            let got = parse_entry(text);
            assert_eq!(got, (state, driver.map(str::to_string)), "case {case}");
        }
    }

    #[test]
    fn socket_table_shows_who_listens() {
        let table = "Num       RefCount Protocol Flags    Type St Inode Path\n\
            0000000000000000: 00000002 00000000 00010000 0005 01 17425 /run/udev/control\n\
            0000000000000000: 00000003 00000000 00000000 0005 03 17430 /run/udev/other\n\
            0000000000000000: 00000002 00000000 00010000 0001 01 999\n";
        let control = format!("/{CONTROL}");
        assert!(listening(table, &control));
        assert!(
            !listening(table, &control.replace("control", "other")),
            "connected, not listening"
        );
        assert!(!listening(
            table,
            &control.replace("udev/control", "systemd/notify")
        ));
        assert!(!listening("garbage\n\u{0}\n", &control));
    }

    #[test]
    fn control_socket_is_judged_by_the_roots_own_socket_table_never_by_connecting() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("run/udev")).unwrap();
        let path = dir.path().join("run/udev/control");
        let root = Root::new(dir.path());
        assert!(!udev_state(&root).running, "no socket");
        {
            let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
            drop(listener);
        }
        // A captured tree: a socket node without a socket table counts by
        // its existence, whatever listens or not.
        assert!(udev_state(&root).running, "socket node, no table");
        let header = "Num       RefCount Protocol Flags    Type St Inode Path\n";
        std::fs::create_dir_all(dir.path().join("proc/net")).unwrap();
        std::fs::write(dir.path().join("proc/net/unix"), header).unwrap();
        assert!(
            !udev_state(&root).running,
            "the tree's table lists no listener"
        );
        std::fs::write(
            dir.path().join("proc/net/unix"),
            format!("{header}0000000000000000: 00000002 00000000 00010000 0005 01 17425 /run/udev/control\n"),
        )
        .unwrap();
        assert!(udev_state(&root).running, "the tree's table lists udevd");
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "").unwrap();
        assert!(udev_state(&root).running, "plain file in a fake root");
    }

    #[test]
    fn live_control_socket_means_udevd_is_running() {
        use nix::sys::socket::{
            bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, UnixAddr,
        };
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("run/udev")).unwrap();
        let path = dir.path().join("run/udev/control");
        let fd = socket(
            AddressFamily::Unix,
            SockType::SeqPacket,
            SockFlag::empty(),
            None,
        )
        .unwrap();
        bind(fd.as_raw_fd(), &UnixAddr::new(&path).unwrap()).unwrap();
        listen(&fd, Backlog::new(4).unwrap()).unwrap();
        assert!(udev_state(&Root::new(dir.path())).running);
    }
}
