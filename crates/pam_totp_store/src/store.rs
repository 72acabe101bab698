//! Opening, locking and atomically replacing a user's secret file.
//!
//! Every directory below the administrator's base directory (the home for `~` templates) is
//! opened with `O_NOFOLLOW` relative to its parent's descriptor; the file itself is opened
//! with `O_NOFOLLOW | O_NONBLOCK` and its type, owner and mode are checked on the descriptor.
//! Updates hold an exclusive `flock` on the file and re-check that the path still names the
//! locked inode. A change of the login state alone is written in place into the state slot
//! that does not hold the current state, then `fdatasync`; other changes write a temporary
//! file, fsync it, rename it over the old one and fsync the directory. In directories the user
//! controls the file is opened, created and replaced with the user's filesystem identity, so
//! root never creates or replaces anything there as root.

use crate::bounded::{self, ReadError};
use crate::identity::ActingAs;
use crate::ownership::{self, Distrust};
use nix::errno::Errno;
use nix::fcntl::{openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fchmod, fstat, fstatat, FileStat, Mode, SFlag};
use nix::unistd::{fchown, fsync, unlinkat, Gid, Uid, UnlinkatFlags};
use pam_totp_core::secret_file::{FileFormatError, SecretFile, MAX_FILE_BYTES};
use pam_totp_core::state_slots::{self, SlotLayout};
use pam_totp_core::template::SecretPath;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// A random suffix for temporary file names.
fn unique_suffix() -> String {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: pid and time still make a collision unlikely, and O_EXCL catches one.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        bytes = (u64::from(std::process::id()) << 32 | u64::from(t)).to_le_bytes();
    }
    pam_totp_core::hex::encode(&bytes)
}

/// How long a login waits for another login's update before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_REOPEN: usize = 64;

/// The account whose file this is.
#[derive(Debug, Clone)]
pub struct Owner {
    /// User name, for messages.
    pub name: String,
    /// Numeric uid.
    pub uid: Uid,
    /// Primary gid.
    pub gid: Gid,
}

/// Why the secret file cannot be used. Messages name the file and the fix.
#[derive(Debug, Error)]
pub enum StoreError {
    /// No file: the user is not enrolled.
    #[error("{0} does not exist; the user is not enrolled (run totp-enroll)")]
    NotFound(PathBuf),
    /// A directory below the base directory (or the home) on the way to the file does not
    /// exist, so neither does the file: the user is not enrolled.
    #[error("{path} does not exist, nor does the directory {dir} on its way; the user is not enrolled (run totp-enroll)")]
    SubdirectoryNotFound {
        /// The secret file.
        path: PathBuf,
        /// The first directory on the way that does not exist.
        dir: PathBuf,
    },
    /// The user's home directory does not exist (yet: pam_mkhomedir creates it at session
    /// time), so no file can be in it: the user is not enrolled.
    #[error(
        "home directory {0} does not exist, so {0} holds no secret file; the user is not enrolled"
    )]
    HomeMissing(PathBuf),
    /// No file, in or below a directory that is not trusted: nothing could have been planted
    /// there, so the user is not enrolled (a file that exists there is refused).
    #[error("{path} does not exist (not enrolled); note: {distrust}")]
    AbsentFromUntrusted {
        /// The secret file.
        path: PathBuf,
        /// Why the directory would not be trusted if the file existed.
        distrust: Box<StoreError>,
    },
    /// The file name cannot be looked up because the directory is encrypted and locked
    /// (fscrypt key not loaded, eCryptfs not mounted) until the user's session unlocks it.
    #[error("{path} cannot be looked up: {dir} is {kind} and locked until the user's session unlocks it; refusing rather than treating the user as not enrolled; fix: keep secret files outside encrypted homes, e.g. secret=/var/lib/pam_totp/%u.toml")]
    EncryptedLocked {
        /// The secret file.
        path: PathBuf,
        /// The locked directory.
        dir: PathBuf,
        /// "encrypted with fscrypt" or "an eCryptfs home that is not mounted".
        kind: &'static str,
    },
    /// The home (or the file system it is on) is not there now, though it may hold an
    /// enrolled user's file: refused, never "not enrolled".
    #[error("home directory {home} {reason}; refusing rather than treating the user as not enrolled; fix: mount it, or keep secret files outside the home, e.g. secret=/var/lib/pam_totp/%u.toml")]
    HomeUnavailable {
        /// The home directory.
        home: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A directory that must be there is not: the administrator's base directory (not
    /// mounted, or a wrong `secret=` path), or the file's directory, removed while in use. Not
    /// the same as "not enrolled".
    #[error("directory {0} does not exist (not mounted, or a wrong secret= path), or it was removed while in use; refusing rather than treating the user as not enrolled")]
    DirectoryNotFound(PathBuf),
    /// A directory on the way that others could use to swap the file.
    #[error("directory {path} {reason}; fix: {fix}")]
    UnsafeDirectory {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The command that fixes it.
        fix: String,
    },
    /// A symlink where a directory or the file should be.
    #[error("{0} is a symbolic link; links are not followed below the home or secret directory (replace it with the real file or directory)")]
    Symlink(PathBuf),
    /// A system call failed.
    #[error("cannot {op} {path}: {errno}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The error.
        errno: Errno,
    },
    /// A FIFO, device or directory where the file should be.
    #[error("{0} is not a regular file; remove it and run totp-enroll")]
    NotRegular(PathBuf),
    /// Owned by someone else.
    #[error("{path} is owned by uid {found}, not by {user}; fix: chown {user} {path} (or remove it and run totp-enroll)")]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        found: u32,
        /// The user it should belong to.
        user: String,
    },
    /// Group or others have permissions.
    #[error("{path} is accessible by other users (mode {mode:04o}); fix: chmod 600 {path}")]
    OpenMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The contents are not a valid secret file.
    #[error("{path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: FileFormatError,
    },
    /// Another login held the lock too long.
    #[error("{0} stayed locked by another login for {LOCK_TIMEOUT:?}; try again")]
    LockTimeout(PathBuf),
    /// The file kept being replaced while we tried to lock it.
    #[error("{0} kept changing while being locked; try again")]
    Unstable(PathBuf),
    /// A file exists where a new enrollment should be written.
    #[error("{0} already exists")]
    Exists(PathBuf),
    /// setfsuid failed.
    #[error("cannot act as the user on {path}: {source}")]
    Identity {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

impl StoreError {
    /// True when the file does not exist, nor perhaps a directory below the base on its way
    /// (the user is not enrolled). A missing base directory, or a directory that vanished
    /// while in use, is [`StoreError::DirectoryNotFound`] instead: refused.
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            StoreError::NotFound(_) | StoreError::SubdirectoryNotFound { .. }
        )
    }

    /// True when no file exists and none could be hidden from us: the file (or a directory
    /// below the base on its way) is missing, the home is missing, or nothing exists in a
    /// directory we would not trust.
    pub fn is_not_enrolled(&self) -> bool {
        self.is_not_found()
            || matches!(
                self,
                StoreError::HomeMissing(_) | StoreError::AbsentFromUntrusted { .. }
            )
    }
}

/// The directory that holds a user's secret file, opened safely.
#[derive(Debug)]
pub struct SecretDir {
    dir: OwnedFd,
    name: OsString,
    path: PathBuf,
    owner: Owner,
    /// The directory is not a root-only directory: work in it as the user.
    user_managed: bool,
    /// The directory is the user's home itself.
    is_home: bool,
}

/// A secret file opened and checked, not yet read: what the module holds while the user types.
#[derive(Debug)]
pub struct Opened {
    dir: SecretDir,
    file: File,
    stat: FileStat,
}

/// A secret file read without a lock: a snapshot.
#[derive(Debug)]
pub struct Loaded {
    opened: Opened,
    content: SecretFile,
}

/// A secret file under an exclusive lock, parsed, current as of the lock.
#[derive(Debug)]
pub struct Locked {
    file: LockedFile,
    content: SecretFile,
    /// For a version-2 file: the contents as read and where its state slots are, so that an
    /// update of the state alone is written in place.
    read: Option<(SecretFile, SlotLayout)>,
}

impl SecretDir {
    /// Opens the directory chain of `path` for `owner` without following symlinks below the base.
    ///
    /// A directory on the way that fails the ownership and mode checks is refused only when
    /// the file could be reached through it: where the file (or a directory before it) does
    /// not exist, the answer is [`StoreError::AbsentFromUntrusted`], which means "not enrolled"
    /// ([`StoreError::is_not_enrolled`]). A missing home, or a missing directory below the base
    /// ([`StoreError::SubdirectoryNotFound`]), is not enrolled either; a missing administrator's
    /// directory ([`StoreError::DirectoryNotFound`]) is not. A name that cannot be found in an encrypted directory
    /// whose key is not loaded is [`StoreError::EncryptedLocked`], never "not enrolled".
    pub fn open(path: &SecretPath, owner: Owner) -> Result<Self, StoreError> {
        let display = path.display_path();
        let _act = if path.in_home() {
            acting_as(&owner, &display)?
        } else {
            ActingAs::caller()
        };
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let base = nix::fcntl::open(path.base(), flags, Mode::empty()).map_err(|e| match e {
            Errno::ENOENT if path.in_home() => missing_home(path.base()),
            Errno::ENOENT => StoreError::DirectoryNotFound(path.base().to_path_buf()),
            e => io_err("open directory", path.base(), e),
        })?;
        // The first check a directory failed: it decides only if the file turns out to exist.
        let mut distrust: Option<StoreError> = None;
        let mut last = check_directory(&base, path.base(), &owner).map_err(|e| {
            distrust.get_or_insert(e);
        });
        let mut dir = base;
        let mut walked = path.base().to_path_buf();
        for comp in path.directories_below() {
            let next = openat(
                &dir,
                comp.as_os_str(),
                flags | OFlag::O_NOFOLLOW,
                Mode::empty(),
            );
            dir = match next {
                Ok(fd) => fd,
                Err(Errno::ENOENT) => {
                    let at_home = path.in_home() && walked == path.base();
                    let missing = walked.join(comp);
                    return Err(absent(
                        &dir,
                        &walked,
                        &display,
                        Some(&missing),
                        distrust,
                        at_home,
                    ));
                }
                Err(e) => {
                    walked.push(comp);
                    return Err(distrust.unwrap_or_else(|| io_err("open directory", &walked, e)));
                }
            };
            walked.push(comp);
            last = check_directory(&dir, &walked, &owner).map_err(|e| {
                distrust.get_or_insert(e);
            });
        }
        if let Some(refusal) = distrust {
            return match fstatat(&dir, path.file_name(), AtFlags::AT_SYMLINK_NOFOLLOW) {
                Err(Errno::ENOENT) => Err(absent(
                    &dir,
                    &walked,
                    &display,
                    None,
                    Some(refusal),
                    path.in_home() && path.directories_below().is_empty(),
                )),
                _ => Err(refusal),
            };
        }
        let root_only = last.is_ok_and(|st| ownership::root_only(st.st_uid, st.st_mode));
        Ok(SecretDir {
            dir,
            name: path.file_name().to_os_string(),
            path: display,
            owner,
            user_managed: path.in_home() || !root_only,
            is_home: path.in_home() && path.directories_below().is_empty(),
        })
    }

    fn act(&self) -> Result<ActingAs, StoreError> {
        if self.user_managed {
            acting_as(&self.owner, &self.path)
        } else {
            Ok(ActingAs::caller())
        }
    }

    /// Opens and checks the file; the caller holds the right identity. The file is opened for
    /// reading and writing when it may be (so that the login state can be written in place),
    /// else for reading only (a mode-0400 file in the user's directory, a read-only file
    /// system): updates then replace the file.
    fn open_checked(&self) -> Result<(File, FileStat), StoreError> {
        let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY;
        let open = |access: OFlag| {
            openat(
                &self.dir,
                self.name.as_os_str(),
                access | flags,
                Mode::empty(),
            )
        };
        let fd = match open(OFlag::O_RDWR) {
            // A directory, or a file we may not write: checked (and refused, or read) below.
            Err(Errno::EISDIR | Errno::EACCES | Errno::EPERM | Errno::EROFS | Errno::ETXTBSY) => {
                open(OFlag::O_RDONLY)
            }
            other => other,
        }
        .map_err(|e| match e {
            Errno::ENOENT => absent(
                &self.dir,
                Path::new(""),
                &self.path,
                None,
                None,
                self.is_home,
            ),
            e => io_err("open", &self.path, e),
        })?;
        let st = fstat(&fd).map_err(|e| io_err("inspect", &self.path, e))?;
        self.check_stat(&st)?;
        Ok((File::from(fd), st))
    }

    fn check_stat(&self, st: &FileStat) -> Result<(), StoreError> {
        if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) != SFlag::S_IFREG {
            return Err(StoreError::NotRegular(self.path.clone()));
        }
        let owner_ok =
            st.st_uid == self.owner.uid.as_raw() || (!self.user_managed && st.st_uid == 0);
        if !owner_ok {
            return Err(StoreError::WrongOwner {
                path: self.path.clone(),
                found: st.st_uid,
                user: self.owner.name.clone(),
            });
        }
        if st.st_mode & 0o077 != 0 {
            return Err(StoreError::OpenMode {
                path: self.path.clone(),
                mode: st.st_mode & 0o7777,
            });
        }
        Ok(())
    }

    fn read_parse(
        &self,
        file: &mut File,
        st: &FileStat,
    ) -> Result<(SecretFile, Option<SlotLayout>), StoreError> {
        let mut buf = self.read_bytes(file, st)?;
        let parsed = SecretFile::parse_with_slots(&buf).map_err(|source| StoreError::Format {
            path: self.path.clone(),
            source,
        });
        // The key is in the settings, before the state slots; the slots, most of a version-2
        // file's 12 kB, hold none. Wipe everything before slot 0 (all of a file without slots,
        // or one that did not parse) and free the slots as they are: wiping all of it, byte
        // by byte, cost more than the parse.
        let before_slots = match &parsed {
            Ok((_, Some(layout))) => layout.offset,
            _ => buf.len(),
        };
        if let Some(part) = buf.get_mut(..before_slots) {
            part.zeroize();
        }
        drop(std::mem::take(&mut *buf));
        parsed
    }

    /// Reads the whole file, at most [`MAX_FILE_BYTES`]; the caller holds the right identity.
    fn read_bytes(&self, file: &mut File, st: &FileStat) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        // A size beyond the bound (or a negative one) is TooLarge before anything is read.
        let size = u64::try_from(st.st_size).unwrap_or(u64::MAX);
        bounded::read_bounded_sized(file, MAX_FILE_BYTES, size).map_err(|e| match e {
            ReadError::Io(e) => io_err("read", &self.path, errno_of(&e)),
            ReadError::NotRegular => StoreError::NotRegular(self.path.clone()),
            ReadError::Changed => StoreError::Unstable(self.path.clone()),
            ReadError::TooLarge(_) => StoreError::Format {
                path: self.path.clone(),
                source: FileFormatError::TooLarge,
            },
        })
    }

    /// Opens the file and checks its type, owner and mode, without reading it.
    pub fn open_file(self) -> Result<Opened, StoreError> {
        let _act = self.act()?;
        let (file, stat) = self.open_checked()?;
        drop(_act);
        Ok(Opened {
            dir: self,
            file,
            stat,
        })
    }

    /// Opens, checks and parses the file without locking it (a snapshot, e.g. for `status`).
    pub fn load(self) -> Result<Loaded, StoreError> {
        let mut opened = self.open_file()?;
        let _act = opened.dir.act()?;
        let (content, _) = opened.dir.read_parse(&mut opened.file, &opened.stat)?;
        drop(_act);
        Ok(Loaded { opened, content })
    }

    /// Writes `content` as a new file, refusing to replace an existing one.
    pub fn create(&self, content: &SecretFile) -> Result<(), StoreError> {
        let _act = self.act()?;
        match fstatat(
            &self.dir,
            self.name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        ) {
            Ok(_) => return Err(StoreError::Exists(self.path.clone())),
            Err(Errno::ENOENT) => {}
            Err(e) => return Err(io_err("inspect", &self.path, e)),
        }
        self.replace_with(content, None, true)
    }

    /// Writes a temporary file and renames it over the secret file.
    fn replace_with(
        &self,
        content: &SecretFile,
        old: Option<&FileStat>,
        exclusive: bool,
    ) -> Result<(), StoreError> {
        let text = content.to_toml().map_err(|source| StoreError::Format {
            path: self.path.clone(),
            source,
        })?;
        // A unique name, created O_EXCL: nothing that exists is ever removed or followed.
        // It starts with '.', which no user name may, so it cannot be another user's file.
        let mut tmp_name = OsString::from(".");
        tmp_name.push(&self.name);
        tmp_name.push(format!(".{}.tmp", unique_suffix()));
        let mut tmp_path = self.path.clone();
        tmp_path.set_file_name(&tmp_name);
        let fd = openat(
            &self.dir,
            tmp_name.as_os_str(),
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| io_err("create", &tmp_path, e))?;
        let written = self.fill_and_rename(fd, &text, old, exclusive, &tmp_name, &tmp_path);
        if written.is_err() {
            let _ = unlinkat(&self.dir, tmp_name.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
        written
    }

    fn fill_and_rename(
        &self,
        fd: OwnedFd,
        text: &str,
        old: Option<&FileStat>,
        exclusive: bool,
        tmp_name: &OsString,
        tmp_path: &Path,
    ) -> Result<(), StoreError> {
        let mode = old.map_or(0o600, |st| st.st_mode & 0o700);
        fchmod(&fd, Mode::from_bits_truncate(mode)).map_err(|e| io_err("chmod", tmp_path, e))?;
        if let Some(st) = old.filter(|_| !self.user_managed) {
            // In a root-only directory the file may belong to the user; keep its owner.
            // (In a user's directory the file is created as the user in the first place.)
            let new = fstat(&fd).map_err(|e| io_err("inspect", tmp_path, e))?;
            if new.st_uid != st.st_uid {
                fchown(
                    &fd,
                    Some(Uid::from_raw(st.st_uid)),
                    Some(Gid::from_raw(st.st_gid)),
                )
                .map_err(|e| io_err("chown", tmp_path, e))?;
            }
        } else if !self.user_managed && self.owner.uid != nix::unistd::geteuid() {
            fchown(&fd, Some(self.owner.uid), Some(self.owner.gid))
                .map_err(|e| io_err("chown", tmp_path, e))?;
        }
        let mut file = File::from(fd);
        file.write_all(text.as_bytes())
            .map_err(|e| io_err("write", tmp_path, errno_of(&e)))?;
        fsync(&file).map_err(|e| io_err("fsync", tmp_path, e))?;
        if exclusive {
            self.place_new(&file, tmp_name, tmp_path)?;
        } else {
            renameat(
                &self.dir,
                tmp_name.as_os_str(),
                &self.dir,
                self.name.as_os_str(),
            )
            .map_err(|e| io_err("rename into place", &self.path, e))?;
        }
        fsync(&self.dir).map_err(|e| io_err("fsync directory of", &self.path, e))
    }

    /// Gives the written temporary file `tmp` the secret file's name, never replacing a file
    /// that has it: `renameat2(RENAME_NOREPLACE)`, or where the filesystem cannot do that (NFS
    /// answers EINVAL, kernels before 3.15 ENOSYS) a hard link to the name, which fails when
    /// the name exists, and then the removal of the temporary name. The caller fsyncs the
    /// directory. Both names are relative to the directory descriptor, and neither call
    /// follows a symlink (linkat without AT_SYMLINK_FOLLOW links the entry itself).
    fn place_new(
        &self,
        tmp: &File,
        tmp_name: &std::ffi::OsStr,
        tmp_path: &Path,
    ) -> Result<(), StoreError> {
        match nix::fcntl::renameat2(
            &self.dir,
            tmp_name,
            &self.dir,
            self.name.as_os_str(),
            nix::fcntl::RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => return Ok(()),
            Err(Errno::EEXIST) => return Err(StoreError::Exists(self.path.clone())),
            Err(Errno::EINVAL | Errno::ENOSYS) => {}
            Err(e) => return Err(io_err("rename into place", &self.path, e)),
        }
        if let Err(e) = nix::unistd::linkat(
            &self.dir,
            tmp_name,
            &self.dir,
            self.name.as_os_str(),
            AtFlags::empty(),
        ) {
            // Over NFS a LINK the server carried out can still be reported as failed, EEXIST
            // included, when the client retransmits it after a lost reply. The temporary file
            // was created O_EXCL under a random name, so the name holding its inode means the
            // link is ours. When that cannot be checked, the link's own error is reported.
            if !self.names_inode_of(tmp) {
                return Err(match e {
                    Errno::EEXIST => StoreError::Exists(self.path.clone()),
                    e => io_err("link into place", &self.path, e),
                });
            }
        }
        // The file is in place; a second name left behind would keep a stale copy of it. An
        // ENOENT can only come from a retransmitted unlink that the server had already done.
        match unlinkat(&self.dir, tmp_name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(io_err("remove the temporary file", tmp_path, e)),
        }
    }

    /// True when the secret file's name (not followed if a symlink) is known to refer to the
    /// same inode as `file`; false when it does not, or when that cannot be checked.
    fn names_inode_of(&self, file: &File) -> bool {
        let Ok(ours) = fstat(file) else {
            return false;
        };
        fstatat(
            &self.dir,
            self.name.as_os_str(),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .is_ok_and(|st| st.st_dev == ours.st_dev && st.st_ino == ours.st_ino)
    }
}

impl Opened {
    /// Takes the exclusive lock (waiting at most [`LOCK_TIMEOUT`]), makes sure the path still
    /// names the locked file, and reads and parses it under the lock.
    pub fn lock(self) -> Result<Locked, StoreError> {
        let Opened { dir, file, stat } = self;
        let _act = dir.act()?;
        let (mut lock, now) = dir.lock_current(file, stat)?;
        let (content, slots) = dir.read_parse(&mut lock.0, &now)?;
        drop(_act);
        Ok(Locked {
            file: LockedFile {
                dir,
                lock,
                stat: now,
            },
            read: slots.map(|slots| (content.clone(), slots)),
            content,
        })
    }
}

impl Loaded {
    /// The parsed file.
    pub fn content(&self) -> &SecretFile {
        &self.content
    }

    /// Takes the exclusive lock and reads the file again under it: the snapshot may be stale.
    pub fn lock(self) -> Result<Locked, StoreError> {
        self.opened.lock()
    }
}

impl SecretDir {
    /// Locks the current file without parsing it, so that a file that no longer parses can
    /// still be replaced or removed (type, owner and mode are checked as always).
    pub fn lock_unparsed(self) -> Result<LockedFile, StoreError> {
        let Opened { dir, file, stat } = self.open_file()?;
        let _act = dir.act()?;
        let (lock, stat) = dir.lock_current(file, stat)?;
        drop(_act);
        Ok(LockedFile { dir, lock, stat })
    }

    /// Locks `file`, then makes sure the path still names it; when another process replaced
    /// it meanwhile, opens and checks the new file and tries again. Returns the locked file and
    /// its status as of the lock. The caller holds the right identity.
    fn lock_current(&self, file: File, stat: FileStat) -> Result<(FileLock, FileStat), StoreError> {
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let (mut file, mut stat) = (file, stat);
        for _ in 0..MAX_REOPEN {
            let locked = lock_until(file, deadline, &self.path)?;
            let on_disk = match fstatat(
                &self.dir,
                self.name.as_os_str(),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            ) {
                Ok(st) => st,
                Err(Errno::ENOENT) => return Err(StoreError::NotFound(self.path.clone())),
                Err(e) => return Err(io_err("inspect", &self.path, e)),
            };
            if on_disk.st_dev == stat.st_dev && on_disk.st_ino == stat.st_ino {
                let now = fstat(&locked.0).map_err(|e| io_err("inspect", &self.path, e))?;
                self.check_stat(&now)?;
                return Ok((locked, now));
            }
            drop(locked);
            (file, stat) = self.open_checked()?;
        }
        Err(StoreError::Unstable(self.path.clone()))
    }
}

/// A secret file under an exclusive lock, contents not parsed: it can be replaced or removed.
#[derive(Debug)]
pub struct LockedFile {
    dir: SecretDir,
    /// The locked file; the lock is released when the descriptor is closed.
    lock: FileLock,
    stat: FileStat,
}

impl LockedFile {
    /// Writes `bytes` at `offset` of the locked file and waits until they are on disk.
    fn write_slot(&self, offset: u64, bytes: &[u8]) -> Result<(), Errno> {
        use std::os::unix::fs::FileExt;
        self.lock
            .0
            .write_all_at(bytes, offset)
            .map_err(|e| errno_of(&e))?;
        nix::unistd::fdatasync(&self.lock.0)
    }

    /// The file's bytes (at most [`MAX_FILE_BYTES`]) as of the lock, not parsed: e.g. for
    /// checking that a file which no longer parses is still a secret file before replacing
    /// or removing it.
    pub fn read_raw(&mut self) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let _act = self.dir.act()?;
        self.dir.read_bytes(&mut self.lock.0, &self.stat)
    }

    /// Replaces the file durably with `content` and releases the lock.
    pub fn replace(self, content: &SecretFile) -> Result<(), StoreError> {
        let _act = self.dir.act()?;
        self.dir.replace_with(content, Some(&self.stat), false)
    }

    /// Removes the file (un-enrollment) and releases the lock.
    pub fn remove(self) -> Result<(), StoreError> {
        let _act = self.dir.act()?;
        unlinkat(
            &self.dir.dir,
            self.dir.name.as_os_str(),
            UnlinkatFlags::NoRemoveDir,
        )
        .map_err(|e| io_err("remove", &self.dir.path, e))?;
        fsync(&self.dir.dir).map_err(|e| io_err("fsync directory of", &self.dir.path, e))
    }
}

impl Locked {
    /// The current contents.
    pub fn content(&self) -> &SecretFile {
        &self.content
    }

    /// The contents, to be changed and then saved.
    pub fn content_mut(&mut self) -> &mut SecretFile {
        &mut self.content
    }

    /// Saves the current contents durably and releases the lock. When only the login state
    /// changed in a version-2 file, the state is written in place into the slot that does not
    /// hold the current state, and made durable with `fdatasync`: one small write. Otherwise
    /// (recovery codes changed, a version-1 file, a state too large for its slot, a file
    /// opened read-only) the file is replaced whole.
    pub fn save(self) -> Result<(), StoreError> {
        if let Some((offset, bytes)) = self.state_slot_update() {
            match self.file.write_slot(offset, &bytes) {
                Ok(()) => return Ok(()),
                // Opened read-only: replace the file instead.
                Err(Errno::EBADF) => {}
                Err(e) => return Err(io_err("write the login state into", &self.file.dir.path, e)),
            }
        }
        self.file.replace(&self.content)
    }

    /// Where and what to write in place when only the login state of a version-2 file
    /// changed: the offset of the slot that does not hold the current state, and the slot.
    /// None when the file must be replaced instead: a version-1 file, changed settings, a
    /// state too large for its slot, or a sequence number that cannot grow (u64::MAX, only
    /// by editing the file; the replaced file starts the numbers again).
    fn state_slot_update(&self) -> Option<(u64, Vec<u8>)> {
        let (read, slots) = self.read.as_ref()?;
        if !self.content.same_but_state(read) {
            return None;
        }
        let seq = slots.seq.checked_add(1)?;
        let bytes = state_slots::encode(&self.content.state, seq, slots.slot_len)?;
        Some((slots.slot_offset(slots.next_slot()), bytes))
    }

    /// Replaces the file with other contents (re-enrollment) and releases the lock.
    pub fn replace(self, content: &SecretFile) -> Result<(), StoreError> {
        self.file.replace(content)
    }

    /// Removes the file (un-enrollment) and releases the lock.
    pub fn remove(self) -> Result<(), StoreError> {
        self.file.remove()
    }
}

/// An open file with an exclusive `flock`; closing the descriptor releases the lock, so there
/// is no unlock call that could fail.
#[derive(Debug)]
struct FileLock(File);

fn lock_until(file: File, deadline: Instant, path: &Path) -> Result<FileLock, StoreError> {
    let mut pause = Duration::from_millis(1);
    loop {
        match crate::ffi::try_lock_exclusive(&file) {
            Ok(true) => return Ok(FileLock(file)),
            Ok(false) => {
                if Instant::now() >= deadline {
                    return Err(StoreError::LockTimeout(path.to_path_buf()));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(e) => return Err(io_err("lock", path, errno_of(&e))),
        }
    }
}

/// StrictModes for the directories on the way: owned by root or the user, and not writable by
/// group or others unless sticky (where others cannot remove or rename the user's file).
/// Returns the directory's status.
fn check_directory(dir: &OwnedFd, path: &Path, owner: &Owner) -> Result<FileStat, StoreError> {
    let st = fstat(dir).map_err(|e| io_err("inspect directory", path, e))?;
    let shown = path.display();
    let (reason, fix) = match ownership::check(st.st_uid, st.st_mode, owner.uid) {
        Ok(()) => return Ok(st),
        Err(Distrust::Owner(uid)) => (
            format!("is owned by uid {uid}, neither root nor {}", owner.name),
            format!("chown {} {shown}", owner.name),
        ),
        Err(Distrust::Writable(mode)) => (
            format!("is writable by group or others (mode {mode:04o})"),
            format!("chmod go-w {shown}"),
        ),
    };
    Err(StoreError::UnsafeDirectory {
        path: path.to_path_buf(),
        reason,
        fix,
    })
}

/// The error for a name that `dir` (at `dir_path`) does not hold: `missing_dir`, a directory
/// on the way to `file`, or else `file` itself. Locked encryption first, then a home with
/// nothing in it (a file system mounted at login), then a directory we would not trust, else
/// plain "not found" for `file` (naming `missing_dir` when that is what is missing).
fn absent(
    dir: &OwnedFd,
    dir_path: &Path,
    file: &Path,
    missing_dir: Option<&Path>,
    distrust: Option<StoreError>,
    dir_is_home: bool,
) -> StoreError {
    let shown = || {
        if dir_path.as_os_str().is_empty() {
            file.parent().unwrap_or(file).to_path_buf()
        } else {
            dir_path.to_path_buf()
        }
    };
    if let Some(kind) = locked_encryption(dir) {
        return StoreError::EncryptedLocked {
            path: file.to_path_buf(),
            dir: shown(),
            kind,
        };
    }
    if dir_is_home && is_empty_directory(dir) {
        return StoreError::HomeUnavailable {
            home: shown(),
            reason: "is empty (a file system that the session mounts there, e.g. with pam_mount, is not mounted yet?)".into(),
        };
    }
    match (distrust, missing_dir) {
        (Some(d), _) => StoreError::AbsentFromUntrusted {
            path: file.to_path_buf(),
            distrust: Box::new(d),
        },
        (None, Some(missing)) => StoreError::SubdirectoryNotFound {
            path: file.to_path_buf(),
            dir: missing.to_path_buf(),
        },
        (None, None) => StoreError::NotFound(file.to_path_buf()),
    }
}

/// True when `dir` has no entries but `.` and `..` (false when it cannot be read).
fn is_empty_directory(dir: &OwnedFd) -> bool {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(mut listing) = nix::dir::Dir::openat(dir, ".", flags, Mode::empty()) else {
        return false;
    };
    let has_entries = listing.iter().any(|entry| {
        entry.map_or(true, |e| {
            let name = e.file_name().to_bytes();
            name != b"." && name != b".."
        })
    });
    !has_entries
}

/// Why a home that does not exist is missing: not created yet (the user is not enrolled), or
/// on a file system that is not there now (autofs, an fscrypt-locked parent, a mount point of
/// /etc/fstab that is not mounted), where an enrolled user's file may be.
fn missing_home(home: &Path) -> StoreError {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let unavailable = |reason: String| StoreError::HomeUnavailable {
        home: home.to_path_buf(),
        reason,
    };
    if let Some(parent) = home.parent() {
        if let Ok(fd) = nix::fcntl::open(parent, flags, Mode::empty()) {
            if nix::sys::statfs::fstatfs(&fd)
                .is_ok_and(|fs| fs.filesystem_type() == nix::sys::statfs::AUTOFS_SUPER_MAGIC)
            {
                return unavailable(format!(
                    "does not exist in the automounted {} (the server may be down)",
                    parent.display()
                ));
            }
            if let Some(kind) = locked_encryption(&fd) {
                return unavailable(format!(
                    "does not exist, and {} is {kind}",
                    parent.display()
                ));
            }
        }
    }
    for mount_point in home.ancestors().filter(|a| a.parent().is_some()) {
        if in_fstab(mount_point) && !is_mounted(mount_point) {
            return unavailable(format!(
                "does not exist, and {} (a mount point in /etc/fstab) is not mounted",
                mount_point.display()
            ));
        }
    }
    StoreError::HomeMissing(home.to_path_buf())
}

/// True when /etc/fstab names `dir` as a mount point.
fn in_fstab(dir: &Path) -> bool {
    let Ok(file) = File::open("/etc/fstab") else {
        return false;
    };
    let mut text = String::new();
    if file
        .take(MAX_FSTAB_BYTES)
        .read_to_string(&mut text)
        .is_err()
    {
        return false;
    }
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(1))
        .any(|field| Path::new(&field.replace("\\040", " ")) == dir)
}

/// Most of /etc/fstab that is read.
const MAX_FSTAB_BYTES: u64 = 256 * 1024;

/// True when a file system is mounted at `dir` (its device differs from its parent's).
fn is_mounted(dir: &Path) -> bool {
    let (Ok(here), Some(Ok(up))) = (
        nix::sys::stat::stat(dir),
        dir.parent().map(nix::sys::stat::stat),
    ) else {
        return false;
    };
    here.st_dev != up.st_dev || here.st_ino == up.st_ino
}

/// Why names in `dir` cannot be seen yet, if they cannot: an fscrypt directory whose key is
/// not loaded, or the lower directory of an eCryptfs home that is not mounted (it holds the
/// `.ecryptfs` and `.Private` links that ecryptfs-setup-private makes for an encrypted home).
fn locked_encryption(dir: &OwnedFd) -> Option<&'static str> {
    if crate::ffi::fscrypt_locked(dir) {
        return Some("encrypted with fscrypt");
    }
    let is_link = |name: &str| {
        fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|st| {
            SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFLNK
        })
    };
    let unmounted_ecryptfs = is_link(".ecryptfs")
        && is_link(".Private")
        && nix::sys::statfs::fstatfs(dir)
            .is_ok_and(|fs| fs.filesystem_type() != nix::sys::statfs::ECRYPTFS_SUPER_MAGIC);
    unmounted_ecryptfs.then_some("an eCryptfs home that is not mounted")
}

fn acting_as(owner: &Owner, path: &Path) -> Result<ActingAs, StoreError> {
    ActingAs::user(owner.uid, owner.gid).map_err(|source| StoreError::Identity {
        path: path.to_path_buf(),
        source,
    })
}

/// The error for a failed system call on `path`.
///
/// ENOENT is never "not found" here: where a missing secret file, home or directory means
/// "not enrolled" (or a missing base directory means refused), the caller decides that itself
/// (see [`absent`], [`missing_home`]). What reaches this function is a call on a name inside a
/// directory opened earlier (creating, renaming, linking or removing there), and ENOENT then
/// means that directory was removed meanwhile: [`StoreError::DirectoryNotFound`] names it.
fn io_err(op: &'static str, path: &Path, errno: Errno) -> StoreError {
    match errno {
        Errno::ENOENT => StoreError::DirectoryNotFound(path.parent().unwrap_or(path).to_path_buf()),
        Errno::ELOOP => StoreError::Symlink(path.to_path_buf()),
        errno => StoreError::Io {
            op,
            path: path.to_path_buf(),
            errno,
        },
    }
}

fn errno_of(e: &io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}
