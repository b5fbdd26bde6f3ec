//! The one place that touches the file system.
//!
//! Every path in netsettle is relative (`"sys/class/net"`, `"run/udev/data"`)
//! and joined to one [`Root`], so tests, chroots and rescue images can point
//! the whole tool at another tree with `--root`.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode};

use crate::rtnl::LinkAttrs;

/// sysfs attributes are at most a page; a bound keeps a hostile or broken
/// file (a 100 MB "class") from costing more than one small read.
pub const ATTR_LIMIT: u64 = 64 * 1024;

/// A directory tree that stands for `/`.
#[derive(Debug, Clone)]
pub struct Root {
    base: PathBuf,
}

impl Root {
    /// A root at `base` (`/` for the running system).
    pub fn new(base: impl Into<PathBuf>) -> Self {
        Root { base: base.into() }
    }

    /// The directory this root stands for.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Whether this is the running system's own root.
    pub fn is_system(&self) -> bool {
        self.base == Path::new("/")
    }

    /// Name, index, type and address of every interface from one
    /// `RTM_GETLINK` dump ([`crate::rtnl`]), on the running system only: a
    /// tree given with `--root` is read from its files. `None` when the
    /// dump fails; sysfs is read instead.
    pub fn links(&self) -> Option<HashMap<String, LinkAttrs>> {
        if !self.is_system() {
            return None;
        }
        let links = crate::rtnl::dump()
            .map_err(|e| log::debug!("RTM_GETLINK dump failed ({e}); reading sysfs"))
            .ok()?;
        Some(
            links
                .into_iter()
                .map(|(name, attrs)| (escape_name(&name), attrs))
                .collect(),
        )
    }

    /// The real path of a root-relative path.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        let rel = rel.as_ref();
        let rel = rel.strip_prefix("/").unwrap_or(rel);
        // `base.join(rel)`, without join's reallocation of an exact-size copy.
        let mut path =
            PathBuf::with_capacity(self.base.as_os_str().len() + 1 + rel.as_os_str().len());
        path.push(&self.base);
        path.push(rel);
        path
    }

    /// Reads a small file, bounded by [`ATTR_LIMIT`]; `None` when it does not
    /// exist, a device vanished, or the attribute is not readable on this
    /// device (sysfs answers EINVAL or EOPNOTSUPP for such attributes).
    pub fn read_bytes(&self, rel: impl AsRef<Path>) -> Option<Vec<u8>> {
        self.read_bytes_limited(rel, ATTR_LIMIT)
    }

    /// Like [`Root::read_bytes`] with an explicit bound.
    pub fn read_bytes_limited(&self, rel: impl AsRef<Path>, limit: u64) -> Option<Vec<u8>> {
        self.read_with(rel.as_ref(), limit, <[u8]>::to_vec)
    }

    /// Reads a sysfs-style attribute as trimmed text (lossy for non-UTF-8).
    pub fn read_attr(&self, rel: impl AsRef<Path>) -> Option<String> {
        self.read_with(rel.as_ref(), ATTR_LIMIT, attr_text)
    }

    /// Like [`Root::read_bytes`], handing the bytes to `f` instead of
    /// copying them out.
    pub fn read_bytes_with<T>(
        &self,
        rel: impl AsRef<Path>,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Option<T> {
        self.read_with(rel.as_ref(), ATTR_LIMIT, f)
    }

    /// Reads a file bounded by `limit` and hands its bytes to `f`.
    ///
    /// Three syscalls per attribute: open, one read, close. No fstat: opened
    /// with O_NONBLOCK, a FIFO in place of a file reads as empty at once, a
    /// directory fails with EISDIR, and any other file is bounded by
    /// `limit`; [`read_open`] reads it.
    fn read_with<T>(&self, rel: &Path, limit: u64, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let path = self.path(rel);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(&path)
            .map_err(|e| unreadable(&path, &e))
            .ok()?;
        read_open(file, limit, f)
            .map_err(|e| unreadable(&path, &e))
            .ok()
    }

    /// Opens a directory to read several entries of it through [`Dir`]:
    /// each entry then costs a lookup of one name, not of the whole path
    /// again (a netdev's attributes sit eleven components deep, a PCI
    /// function's behind a symlink). `None` when it is missing or not a
    /// directory, as [`Path::is_dir`] would say.
    pub fn open_dir(&self, rel: impl AsRef<Path>) -> Option<Dir> {
        let rel = rel.as_ref();
        let path = self.path(rel);
        // O_PATH: only a handle for the *at() calls, no read permission needed.
        let fd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(&path)
            .map_err(|e| unreadable(&path, &e))
            .ok()?;
        Some(Dir {
            fd,
            path,
            rel: rel.to_path_buf(),
        })
    }

    /// Reads a whole text file with a larger bound (module lists, configs).
    pub fn read_text(&self, rel: impl AsRef<Path>, limit: u64) -> io::Result<String> {
        let path = self.path(rel);
        let mut buf = Vec::new();
        open_regular(&path)?.take(limit).read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Whether the path exists (following symlinks: a dangling link does not).
    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.path(rel).exists()
    }

    /// The file name of a symlink's target (`driver` → `e1000e`); `None` when
    /// the link is missing or dangling.
    pub fn link_name(&self, rel: impl AsRef<Path>) -> Option<String> {
        let path = self.path(rel);
        let target = std::fs::read_link(&path).ok()?;
        // A dangling link means the driver went away (probe failed, unbind).
        if !path.exists() {
            return None;
        }
        Some(String::from_utf8_lossy(target.file_name()?.as_bytes()).into_owned())
    }

    /// Resolves a symlink lexically, inside the root, to a root-relative path.
    ///
    /// sysfs links are relative (`../../devices/pci0000:00/...`) and point at
    /// real directories, so `..` can be applied to the text; this never leaves
    /// the root even for absolute or hostile links, and costs one syscall.
    pub fn resolve_link(&self, rel: impl AsRef<Path>) -> Option<PathBuf> {
        let rel = rel.as_ref();
        let target = std::fs::read_link(self.path(rel)).ok()?;
        Some(resolve_lexically(
            rel.parent().unwrap_or(Path::new("")),
            target,
        ))
    }

    /// Whether a configuration file is masked the systemd way: a symlink
    /// to `/dev/null`, or an empty file (systemd.unit(5), systemd.network(5)).
    pub fn is_masked(&self, rel: impl AsRef<Path>) -> bool {
        let path = self.path(rel);
        std::fs::read_link(&path).is_ok_and(|t| t == Path::new("/dev/null"))
            || std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.len() == 0)
    }

    /// Names in a directory, sorted; empty when it does not exist.
    pub fn list(&self, rel: impl AsRef<Path>) -> Vec<OsString> {
        let Ok(rd) = std::fs::read_dir(self.path(rel)) else {
            return Vec::new();
        };
        let mut names: Vec<OsString> = rd.filter_map(|e| e.ok().map(|e| e.file_name())).collect();
        names.sort();
        names
    }
}

/// Where a link in the root-relative directory `dir` with this target
/// points, as a root-relative path ([`Root::resolve_link`]).
///
/// Done on the bytes, as [`Path::components`] splits them (empty and `.`
/// components dropped, `..` drops the one before): component by component
/// through `PathBuf` was a tenth of a scan's instructions.
fn resolve_lexically(dir: &Path, target: PathBuf) -> PathBuf {
    let target = target.into_os_string().into_vec();
    let parent = match target.first() {
        Some(b'/') => &[][..],
        _ => dir.as_os_str().as_bytes(),
    };
    let mut out: Vec<u8> = Vec::with_capacity(parent.len() + target.len() + 1);
    let parts = parent
        .split(|&b| b == b'/')
        .chain(target.split(|&b| b == b'/'));
    for part in parts {
        match part {
            b"" | b"." => {}
            b".." => {
                let cut = out.iter().rposition(|&b| b == b'/').unwrap_or(0);
                out.truncate(cut);
            }
            _ => {
                if !out.is_empty() {
                    out.push(b'/');
                }
                out.extend_from_slice(part);
            }
        }
    }
    PathBuf::from(OsString::from_vec(out))
}

/// A directory held open by [`Root::open_dir`]; its entries are named
/// relative to it.
#[derive(Debug)]
pub struct Dir {
    fd: File,
    path: PathBuf,
    /// Root-relative, for [`Dir::resolve_link`].
    rel: PathBuf,
}

impl Dir {
    /// Like [`Root::resolve_link`], for a link in this directory.
    pub fn resolve_link(&self, name: impl AsRef<Path>) -> Option<PathBuf> {
        let name = name.as_ref();
        let target = readlinkat(Some(self.fd.as_raw_fd()), name).ok()?;
        Some(resolve_lexically(&self.rel, target.into()))
    }

    /// Like [`Root::read_attr`], for a path relative to this directory.
    pub fn read_attr(&self, name: impl AsRef<Path>) -> Option<String> {
        self.read_with(name.as_ref(), attr_text)
    }

    /// Like [`Root::read_bytes_with`], for a path relative to this directory.
    pub fn read_bytes_with<T>(
        &self,
        name: impl AsRef<Path>,
        f: impl FnOnce(&[u8]) -> T,
    ) -> Option<T> {
        self.read_with(name.as_ref(), f)
    }

    /// Whether the path is a directory, following links (as [`Path::is_dir`]).
    pub fn is_dir(&self, name: impl AsRef<Path>) -> bool {
        fstatat(Some(self.fd.as_raw_fd()), name.as_ref(), AtFlags::empty())
            .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
    }

    fn read_with<T>(&self, name: &Path, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
        let file = openat(Some(self.fd.as_raw_fd()), name, flags, Mode::empty())
            // SAFETY: openat returned a new descriptor that nothing else owns.
            .map(|fd| unsafe { File::from_raw_fd(fd) })
            .map_err(io::Error::from);
        file.and_then(|file| read_open(file, ATTR_LIMIT, f))
            .map_err(|e| unreadable(&self.path.join(name), &e))
            .ok()
    }

    /// Like [`Root::link_name`], for an entry of this directory.
    pub fn link_name(&self, name: &str) -> Option<String> {
        let target = readlinkat(Some(self.fd.as_raw_fd()), name).ok()?;
        // A dangling link means the driver went away (probe failed, unbind).
        fstatat(Some(self.fd.as_raw_fd()), name, AtFlags::empty()).ok()?;
        let name = Path::new(&target).file_name()?;
        Some(String::from_utf8_lossy(name.as_bytes()).into_owned())
    }

    /// Whether the entry exists, itself (a dangling link counts).
    pub fn has(&self, name: &str) -> bool {
        fstatat(
            Some(self.fd.as_raw_fd()),
            name,
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .is_ok()
    }
}

/// Reads an opened file bounded by `limit` and hands its bytes to `f`.
///
/// The first page goes into a per-thread buffer: a scan reads some 25,000
/// attributes, and a fresh zeroed page for each was a memset of 4 KiB
/// apiece (a third of a 4,096-netdev scan's instructions). A read shorter
/// than the page asked for is the end of a sysfs or procfs attribute (they
/// are produced whole by one `show()`) and of a regular file, so no second
/// read looks for EOF.
fn read_open<T>(file: File, limit: u64, f: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    thread_local! {
        static PAGE: std::cell::RefCell<[u8; 4096]> = const {
            std::cell::RefCell::new([0; 4096])
        };
    }
    let mut file = file.take(limit);
    let first = limit.min(4096) as usize;
    PAGE.with(|page| match page.try_borrow_mut() {
        Ok(mut page) => read_into(&mut file, &mut page[..first], limit, f),
        // `f` reading another file: that read gets a page of its own.
        Err(_) => read_into(&mut file, &mut vec![0; first], limit, f),
    })
}

/// [`read_open`]'s read, into `page` first.
fn read_into<T>(
    file: &mut io::Take<File>,
    page: &mut [u8],
    limit: u64,
    f: impl FnOnce(&[u8]) -> T,
) -> io::Result<T> {
    let n = loop {
        match file.read(page) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => break other?,
        }
    };
    if n < page.len() || n as u64 >= limit {
        return Ok(f(&page[..n]));
    }
    let mut buf = page[..n].to_vec();
    file.read_to_end(&mut buf)?;
    Ok(f(&buf))
}

/// Says why a file could not be read. Absence is normal (a device that
/// vanished, an optional file), and so are the errors sysfs gives for an
/// attribute a device does not support (EINVAL, EOPNOTSUPP, ENODEV,
/// EAGAIN from a FIFO): debug only. Anything else (EACCES, EIO, ELOOP) may
/// change a verdict and is a warning, once per path.
fn unreadable(path: &Path, e: &io::Error) {
    use std::sync::{Mutex, OnceLock};
    let normal = matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::ENOTDIR | libc::EINVAL | libc::EOPNOTSUPP | libc::ENODEV)
            | Some(libc::EAGAIN | libc::EISDIR | libc::ENXIO)
    );
    if normal {
        log::debug!("reading {}: {e}", path.display());
        return;
    }
    static WARNED: OnceLock<Mutex<std::collections::HashSet<PathBuf>>> = OnceLock::new();
    let first = WARNED
        .get_or_init(Default::default)
        .lock()
        .map(|mut w| w.insert(path.to_path_buf()))
        .unwrap_or(false);
    if first {
        log::warn!("cannot read {}: {e}", path.display());
    }
}

/// An attribute's bytes as trimmed text, lossy for non-UTF-8.
pub(crate) fn attr_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.trim().to_string(),
        Err(_) => String::from_utf8_lossy(bytes).trim().to_string(),
    }
}

/// Opens a file for reading that must be a regular file, as every sysfs and
/// procfs attribute is. A FIFO in its place (a broken `--root`, a stray
/// `mkfifo`) would block a plain open() until a writer came, past any
/// deadline: O_NONBLOCK makes that open return at once, and the fstat after
/// it refuses whatever is not a regular file. (A stat before opening would
/// cost a syscall per attribute, 25,000 of them on a 4,096-netdev scan.)
pub fn open_regular(path: &Path) -> io::Result<File> {
    let not_regular = || io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(not_regular());
    }
    Ok(file)
}

/// Renders file-system bytes as text, escaping what is not printable UTF-8
/// (`\xNN`), so interface names with control bytes stay one safe token.
pub fn escape_name(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch.is_control() || ch == '\\' {
                if ch == '\\' {
                    out.push_str("\\\\");
                } else {
                    let mut b = [0u8; 4];
                    for byte in ch.encode_utf8(&mut b).bytes() {
                        out.push_str(&format!("\\x{byte:02x}"));
                    }
                }
            } else {
                out.push(ch);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_name_keeps_plain_names_and_escapes_the_rest() {
        assert_eq!(escape_name(b"enp3s0"), "enp3s0");
        assert_eq!(escape_name(b"a\nb"), "a\\x0ab");
        assert_eq!(escape_name(b"\xffx"), "\\xffx");
        assert_eq!(escape_name(b"a\\b"), "a\\\\b");
    }

    #[test]
    fn resolve_link_stays_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::new(dir.path());
        std::fs::create_dir_all(dir.path().join("sys/class/net")).unwrap();
        std::os::unix::fs::symlink(
            "../../devices/pci0000:00/0000:00:03.0/net/eth0",
            dir.path().join("sys/class/net/eth0"),
        )
        .unwrap();
        std::os::unix::fs::symlink("/../../../etc", dir.path().join("sys/class/net/evil")).unwrap();
        assert_eq!(
            root.resolve_link("sys/class/net/eth0").unwrap(),
            PathBuf::from("sys/devices/pci0000:00/0000:00:03.0/net/eth0")
        );
        assert_eq!(
            root.resolve_link("sys/class/net/evil").unwrap(),
            PathBuf::from("etc")
        );
    }

    #[test]
    fn links_resolve_lexically_as_path_components_do() {
        fn by_components(rel: &Path, target: PathBuf) -> PathBuf {
            use std::path::Component;
            let joined = if target.is_absolute() {
                target
            } else {
                rel.parent().unwrap_or(Path::new("")).join(target)
            };
            let mut out = PathBuf::new();
            for c in joined.components() {
                match c {
                    Component::Normal(p) => out.push(p),
                    Component::ParentDir => {
                        out.pop();
                    }
                    _ => {}
                }
            }
            out
        }
        let rels = ["sys/class/net/eth0", "x", "", "a//b/./c/", "/abs/link"];
        let targets = [
            "../../devices/pci0000:00/0000:00:03.0/net/eth0",
            "/../../../etc",
            "../../../../../../x",
            ".//a/./../b//",
            "",
            ".",
            "..",
            "/",
            "a/b/../../..",
            "\u{ff}/\n",
        ];
        for rel in rels {
            for target in targets {
                let (rel, target) = (Path::new(rel), PathBuf::from(target));
                assert_eq!(
                    resolve_lexically(rel.parent().unwrap_or(Path::new("")), target.clone()),
                    by_components(rel, target.clone()),
                    "{rel:?} -> {target:?}"
                );
            }
        }
    }

    #[test]
    fn a_read_inside_another_reads_both_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "outer\n").unwrap();
        std::fs::write(dir.path().join("b"), "inner\n").unwrap();
        let root = Root::new(dir.path());
        let both = root.read_bytes_with("a", |a| {
            let b = root.read_attr("b");
            (String::from_utf8_lossy(a).into_owned(), b)
        });
        assert_eq!(both, Some(("outer\n".into(), Some("inner".into()))));
    }

    #[test]
    fn only_a_directory_opens_as_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/a"), "x\n").unwrap();
        std::fs::write(dir.path().join("f"), "x\n").unwrap();
        let root = Root::new(dir.path());
        let d = root.open_dir("d").expect("a directory");
        assert_eq!(d.read_attr("a").as_deref(), Some("x"));
        assert!(root.open_dir("f").is_none(), "a file is no directory");
        assert!(root.open_dir("missing").is_none());
    }

    #[test]
    fn read_bytes_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("big"), vec![b'x'; 200_000]).unwrap();
        let root = Root::new(dir.path());
        assert_eq!(root.read_bytes("big").unwrap().len() as u64, ATTR_LIMIT);
        assert!(root.read_bytes("missing").is_none());
    }
}
