//! Reaching files below the root without ever following a symbolic link.
//!
//! Every path is opened one component at a time, each relative to the
//! directory opened before it and with `O_NOFOLLOW`. A link planted anywhere
//! under the root (`objects/etc -> /etc`) is found and refused instead of
//! being followed out of the root, and swapping a directory for a link
//! between two steps cannot redirect a step already taken, because no step
//! goes back to a path: there is no check-then-open race.
//!
//! A link found is an error of kind `Forbidden` that names the link's path
//! relative to the root. The root itself is opened by its configured path:
//! whatever leads to it is the operator's choice.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;
use storage_core::{Error, ErrorKind, Provider, Result};

use crate::durable::Fsync;
use crate::fsops::{folder_conflict, io_error, keyed};
use crate::layout::{Layout, TOP_DIRS};

/// How often a walk starts over when a concurrent delete removes a folder
/// it has just opened or created.
const RESTARTS: usize = 8;

/// Read and write for everyone, as `File::create` does; the umask narrows it.
pub(crate) fn file_mode() -> Mode {
    Mode::RUSR | Mode::WUSR | Mode::RGRP | Mode::WGRP | Mode::ROTH | Mode::WOTH
}

fn dir_mode() -> Mode {
    Mode::RWXU | Mode::RWXG | Mode::RWXO
}

/// The error for a symbolic link found under the root.
pub(crate) fn link_refused(rel: &Path, key: &str) -> Error {
    keyed(
        Error::new(ErrorKind::Forbidden, Provider::Local).with_message(format!(
            "`{}` under the store root is a symbolic link; the local store refuses links under \
             its root, so that nothing outside the root is read, written or deleted through \
             one: replace it with a real file or directory",
            rel.display()
        )),
        key,
    )
}

/// A directory below the root, opened without following links.
pub(crate) struct Dir {
    fd: OwnedFd,
    /// Where it is, relative to the root, for messages.
    rel: PathBuf,
}

/// What a name in a directory turned out to be.
enum Lookup {
    Dir(Dir),
    Absent,
    NotDir,
}

impl Dir {
    /// The store root, opened by its configured path.
    fn root(layout: &Layout, key: &str) -> Result<Dir> {
        let fd = rustix::fs::open(
            &layout.root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_error(e.into(), Path::new(""), key, "opening the store root"))?;
        Ok(Dir {
            fd,
            rel: PathBuf::new(),
        })
    }

    /// One of the store's fixed folders (`objects`, `meta`, `tmp`, `locks`),
    /// recreated if someone removed it.
    pub(crate) fn top(layout: &Layout, name: &str, key: &str) -> Result<Dir> {
        // Opened by its path in one call: links on the way to the root are
        // the operator's choice, and O_NOFOLLOW refuses one in the fixed
        // folder's place. Anything else (missing, a link) takes the path
        // that recreates the folder or names the link.
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::open(layout.root.join(name), flags, Mode::empty()) {
            Ok(fd) => Ok(Dir {
                fd,
                rel: PathBuf::from(name),
            }),
            Err(_) => Dir::root(layout, key)?.subdir_or_create(OsStr::new(name), key, layout.fsync),
        }
    }

    /// The path of `name` in this directory, relative to the root.
    pub(crate) fn rel(&self, name: &OsStr) -> PathBuf {
        self.rel.join(name)
    }

    /// The directory's own state (its inode, times and size).
    pub(crate) fn stat_self(&self, key: &str) -> Result<rustix::fs::Stat> {
        rustix::fs::fstat(&self.fd)
            .map_err(|e| io_error(e.into(), &self.rel, key, "looking at a folder"))
    }

    /// Fails with [`link_refused`] when `name` is a symbolic link.
    fn refuse_link(&self, name: &OsStr, key: &str) -> Result<()> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                Err(link_refused(&self.rel(name), key))
            }
            _ => Ok(()),
        }
    }

    fn lookup(&self, name: &OsStr, key: &str) -> Result<Lookup> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Lookup::Dir(Dir {
                fd,
                rel: self.rel(name),
            })),
            Err(Errno::NOENT) => Ok(Lookup::Absent),
            Err(Errno::NOTDIR | Errno::LOOP) => {
                self.refuse_link(name, key)?;
                Ok(Lookup::NotDir)
            }
            Err(e) => Err(io_error(e.into(), &self.rel(name), key, "opening a folder")),
        }
    }

    /// The subdirectory `name`, or `None` when nothing, or a file, is there.
    pub(crate) fn subdir(&self, name: &OsStr, key: &str) -> Result<Option<Dir>> {
        match self.lookup(name, key)? {
            Lookup::Dir(dir) => Ok(Some(dir)),
            Lookup::Absent | Lookup::NotDir => Ok(None),
        }
    }

    /// The subdirectory `name`, created if missing. `Ok(None)` means this
    /// directory itself was removed meanwhile, and the caller starts over.
    /// A folder created is flushed into this one before anything goes in
    /// it, so a file made durable in it cannot be lost with its folder.
    fn subdir_or_create_here(&self, name: &OsStr, key: &str, fsync: Fsync) -> Result<Option<Dir>> {
        for _ in 0..RESTARTS {
            match self.lookup(name, key)? {
                Lookup::Dir(dir) => return Ok(Some(dir)),
                Lookup::NotDir => return Err(folder_conflict(key)),
                Lookup::Absent => {}
            }
            // Created fresh, and then opened with O_NOFOLLOW like anything
            // else: a link swapped in between the two is refused, not used.
            match rustix::fs::mkdirat(&self.fd, name, dir_mode()) {
                Ok(()) => fsync.dir(self),
                Err(Errno::EXIST) => {}
                Err(Errno::NOENT) => return Ok(None),
                Err(e) => {
                    return Err(io_error(
                        e.into(),
                        &self.rel(name),
                        key,
                        "creating a folder",
                    ))
                }
            }
        }
        Err(io_error(
            io::Error::other("it kept disappearing while being created"),
            &self.rel(name),
            key,
            "creating a folder",
        ))
    }

    fn subdir_or_create(&self, name: &OsStr, key: &str, fsync: Fsync) -> Result<Dir> {
        self.subdir_or_create_here(name, key, fsync)?
            .ok_or_else(|| {
                io_error(
                    io::ErrorKind::NotFound.into(),
                    &self.rel,
                    key,
                    "creating a folder in a removed folder",
                )
            })
    }

    /// Opens the file `name` for reading; `None` when nothing is there. The
    /// open never blocks (a FIFO someone placed here is not waited on); the
    /// caller checks what kind of file it got.
    pub(crate) fn open_file(&self, name: &OsStr, key: &str) -> Result<Option<File>> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        match rustix::fs::openat(&self.fd, name, flags, Mode::empty()) {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(Errno::NOENT | Errno::NOTDIR | Errno::NXIO) => Ok(None),
            Err(Errno::LOOP) => {
                self.refuse_link(name, key)?;
                Ok(None)
            }
            Err(e) => Err(io_error(e.into(), &self.rel(name), key, "opening a file")),
        }
    }

    /// Creates the new file `name`, which must not exist yet.
    pub(crate) fn create_file(&self, name: &OsStr) -> io::Result<File> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(File::from(rustix::fs::openat(
            &self.fd,
            name,
            flags,
            file_mode(),
        )?))
    }

    /// Opens `name` for writing, creating it if missing; a link is refused.
    pub(crate) fn open_or_create_file(&self, name: &OsStr, key: &str) -> Result<File> {
        let flags = OFlags::RDWR | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(&self.fd, name, flags, file_mode()) {
            Ok(fd) => Ok(File::from(fd)),
            Err(e) => {
                if e == Errno::LOOP {
                    self.refuse_link(name, key)?;
                }
                Err(io_error(e.into(), &self.rel(name), key, "opening a file"))
            }
        }
    }

    /// What `name` is, without following it; `None` when nothing is there.
    /// A symbolic link is refused.
    pub(crate) fn stat(&self, name: &OsStr, key: &str) -> Result<Option<Stat>> {
        match self.stat_entry(name, key)? {
            Some(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                Err(link_refused(&self.rel(name), key))
            }
            found => Ok(found),
        }
    }

    /// What `name` is, a link included, without following it.
    pub(crate) fn stat_entry(&self, name: &OsStr, key: &str) -> Result<Option<Stat>> {
        match rustix::fs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(st)),
            Err(Errno::NOENT | Errno::NOTDIR) => Ok(None),
            Err(e) => Err(io_error(
                e.into(),
                &self.rel(name),
                key,
                "looking at a file",
            )),
        }
    }

    /// Removes the file (or, with `AtFlags::REMOVEDIR`, the empty folder)
    /// `name`. A link is removed itself, never what it points at.
    pub(crate) fn unlink(&self, name: &OsStr, flags: AtFlags) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&self.fd, name, flags)?)
    }

    /// Moves `name` to `to_name` in `to`; never follows a link at either end.
    pub(crate) fn rename(&self, name: &OsStr, to: &Dir, to_name: &OsStr) -> io::Result<()> {
        Ok(rustix::fs::renameat(&self.fd, name, &to.fd, to_name)?)
    }

    /// Flushes the directory's entries (a rename or unlink in it) to disk.
    pub(crate) fn sync(&self) {
        // Durability of the rename, not its atomicity, depends on this; some
        // filesystems refuse to fsync directories, and the write is still whole.
        let _ = rustix::fs::fsync(&self.fd);
    }

    /// The names in this directory, `.` and `..` left out, each with what
    /// it is (see [`Dir::scan`]).
    pub(crate) fn entries(&self, key: &str) -> Result<Vec<(OsString, FileType)>> {
        let mut entries = Vec::new();
        self.scan(key, |name, file_type| {
            entries.push((name, file_type));
            None::<()>
        })?;
        Ok(entries)
    }

    /// Hands each name in this directory (`.` and `..` left out) to `visit`
    /// with what it is (a link is a link, never what it points at), until
    /// `visit` returns something. The type comes with the name on most
    /// filesystems; where it does not, the name is looked at, and one that
    /// vanished meanwhile is left out.
    pub(crate) fn scan<T>(
        &self,
        key: &str,
        mut visit: impl FnMut(OsString, FileType) -> Option<T>,
    ) -> Result<Option<T>> {
        use std::os::unix::ffi::OsStrExt;
        let failed = |e: Errno| io_error(e.into(), &self.rel, key, "reading a folder");
        for entry in rustix::fs::Dir::read_from(&self.fd).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = OsStr::from_bytes(name).to_os_string();
            let file_type = match entry.file_type() {
                FileType::Unknown => match self.stat_entry(&name, key)? {
                    Some(stat) => FileType::from_raw_mode(stat.st_mode),
                    None => continue,
                },
                known => known,
            };
            if let Some(found) = visit(name, file_type) {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }
}

/// The folders leading to a file, all open, and the file's name in the last.
pub(crate) struct Parent {
    /// From the fixed folder (`objects/` ...) down to the file's folder.
    dirs: Vec<Dir>,
    /// `names[i]` is the name of `dirs[i + 1]` in `dirs[i]`.
    names: Vec<OsString>,
    /// The file's name in its folder.
    pub(crate) name: OsString,
}

impl Parent {
    /// The folder holding the file.
    pub(crate) fn dir(&self) -> &Dir {
        // A walk always opens at least the fixed folder.
        &self.dirs[self.dirs.len() - 1]
    }

    /// The file's path relative to the root.
    pub(crate) fn rel(&self) -> PathBuf {
        self.dir().rel(&self.name)
    }

    /// Removes the folders below the fixed one that became empty, deepest
    /// first; stops at the first that is not (or is no longer) an empty folder.
    pub(crate) fn prune(&self) {
        for i in (0..self.names.len()).rev() {
            if self.dirs[i]
                .unlink(&self.names[i], AtFlags::REMOVEDIR)
                .is_err()
            {
                break;
            }
        }
    }
}

/// Opens the folders to `rel` below the fixed folder `top`. `None` when one
/// of them is missing or is a file: then nothing lives at `rel`.
pub(crate) fn walk(layout: &Layout, top: &str, rel: &Path, key: &str) -> Result<Option<Parent>> {
    let (dirs_rel, name) = split(rel);
    let mut dirs = vec![Dir::top(layout, top, key)?];
    let mut names = Vec::new();
    for component in dirs_rel {
        let Some(next) = dirs[dirs.len() - 1].subdir(component, key)? else {
            return Ok(None);
        };
        dirs.push(next);
        names.push(component.to_os_string());
    }
    Ok(Some(Parent { dirs, names, name }))
}

/// Opens the folders to `rel` below `top`, creating those missing. A file
/// where a folder must go is a blob-and-folder conflict.
pub(crate) fn create_parent(layout: &Layout, top: &str, rel: &Path, key: &str) -> Result<Parent> {
    let (dirs_rel, name) = split(rel);
    'restart: for _ in 0..RESTARTS {
        let mut dirs = vec![Dir::top(layout, top, key)?];
        let mut names = Vec::new();
        for component in &dirs_rel {
            let Some(next) =
                dirs[dirs.len() - 1].subdir_or_create_here(component, key, layout.fsync)?
            else {
                continue 'restart;
            };
            dirs.push(next);
            names.push(component.to_os_string());
        }
        return Ok(Parent { dirs, names, name });
    }
    Err(io_error(
        io::Error::other("its folders kept disappearing while being created"),
        &Path::new(top).join(rel),
        key,
        "creating the blob's folder",
    ))
}

/// Opens the folder `rel` below `top`; `None` when it is missing or a file.
pub(crate) fn open_dir(layout: &Layout, top: &str, rel: &Path, key: &str) -> Result<Option<Dir>> {
    let mut dir = Dir::top(layout, top, key)?;
    for component in rel.iter() {
        match dir.subdir(component, key)? {
            Some(next) => dir = next,
            None => return Ok(None),
        }
    }
    Ok(Some(dir))
}

/// Creates the store's fixed folders, refusing any that is a link.
pub(crate) fn prepare(layout: &Layout) -> Result<()> {
    let root = Dir::root(layout, "")?;
    for name in TOP_DIRS {
        root.subdir_or_create(OsStr::new(name), "", layout.fsync)?;
    }
    Ok(())
}

fn split(rel: &Path) -> (Vec<&OsStr>, OsString) {
    let mut components: Vec<&OsStr> = rel.iter().collect();
    let name = components.pop().unwrap_or_default().to_os_string();
    (components, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> (tempfile::TempDir, Layout) {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = Layout::new(dir.path().to_path_buf(), crate::durable::Fsync::Always);
        prepare(&layout).expect("prepare");
        (dir, layout)
    }

    #[test]
    fn a_linked_folder_is_refused_by_name_and_nothing_is_created_through_it() {
        let (dir, layout) = layout();
        let outside = tempfile::tempdir().expect("outside");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("objects/etc"))
            .expect("plant link");
        let err = create_parent(&layout, "objects", Path::new("etc/sub/x"), "etc/sub/x")
            .err()
            .expect("a link in the path must be refused");
        assert_eq!(err.kind(), &ErrorKind::Forbidden, "{err}");
        assert!(err.to_string().contains("`objects/etc`"), "{err}");
        assert!(!outside.path().join("sub").exists());
        let err = walk(&layout, "objects", Path::new("etc/x"), "etc/x")
            .err()
            .expect("walk refuses");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn a_linked_fixed_folder_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = tempfile::tempdir().expect("outside");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("tmp")).expect("plant link");
        let err = prepare(&Layout::new(
            dir.path().to_path_buf(),
            crate::durable::Fsync::Always,
        ))
        .expect_err("refused");
        assert!(err.to_string().contains("`tmp`"), "{err}");
    }

    #[test]
    fn prune_stops_at_the_fixed_folder_and_at_non_empty_folders() {
        let (dir, layout) = layout();
        std::fs::create_dir_all(dir.path().join("objects/a/b/c")).expect("mkdir");
        std::fs::write(dir.path().join("objects/a/keep"), "x").expect("write");
        let parent = walk(&layout, "objects", Path::new("a/b/c/x"), "a/b/c/x")
            .expect("walk")
            .expect("folders exist");
        parent.prune();
        assert!(!dir.path().join("objects/a/b").exists());
        assert!(dir.path().join("objects/a/keep").exists());
        assert!(dir.path().join("objects").is_dir());
    }
}
