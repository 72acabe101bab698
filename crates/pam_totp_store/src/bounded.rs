//! Reading a small file that someone else may control: no symlink followed at the last
//! component, no hang on a FIFO or device, a regular file only, and a bound on the size. Used
//! for secret files, the site defaults and google-authenticator files alike.

use nix::fcntl::OFlag;
use std::fs::{File, Metadata};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use thiserror::Error;
use zeroize::Zeroizing;

/// Why a small file could not be read.
#[derive(Debug, Error)]
pub enum ReadError {
    /// open, stat or read failed (ELOOP: a symbolic link at the last component).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// A directory, FIFO, device or socket.
    #[error("not a regular file")]
    NotRegular,
    /// More than the bound.
    #[error("larger than {0} bytes")]
    TooLarge(usize),
    /// The file grew while it was read (someone writes it without taking the lock).
    #[error("changed while being read")]
    Changed,
}

/// Opens `path` for reading with `O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC` and checks on
/// the descriptor that it is a regular file. The caller picks the filesystem identity.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), ReadError> {
    let flags = OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let file = File::options()
        .read(true)
        .custom_flags(flags.bits())
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular);
    }
    Ok((file, meta))
}

/// Reads `file` from its start, at most `max` bytes, into a buffer allocated up front (never
/// reallocated, so no copy of a secret is left behind) that is zeroized when dropped. A file
/// that fits is read with one `read` call and one more that finds its end.
pub fn read_bounded(file: &mut File, max: usize) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let size = file.metadata()?.len();
    read_bounded_sized(file, max, size)
}

/// [`read_bounded`] for a file whose size the caller has from `fstat`: the buffer is sized
/// for it (a file that turns out longer is [`ReadError::Changed`]).
pub fn read_bounded_sized(
    file: &mut File,
    max: usize,
    size: u64,
) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    if usize::try_from(size).map_or(true, |s| s > max) {
        return Err(ReadError::TooLarge(max));
    }
    file.seek(SeekFrom::Start(0))?;
    // One byte more than the size, to see the end of the file in the same read. The buffer is
    // filled by read(2) directly: nothing to zero first.
    let capacity = usize::try_from(size).unwrap_or(max).saturating_add(1);
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    loop {
        match crate::ffi::read_into_spare(file, &mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    if buf.len() == capacity {
        return Err(if buf.len() > max {
            ReadError::TooLarge(max)
        } else {
            ReadError::Changed
        });
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn small_regular_files_only() {
        let dir = std::env::temp_dir().join(format!("bounded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, b"12345").unwrap();
        let (mut f, _) = open_regular(&file).unwrap();
        assert_eq!(read_bounded(&mut f, 5).unwrap().as_slice(), b"12345");
        assert!(matches!(
            read_bounded(&mut f, 4),
            Err(ReadError::TooLarge(4))
        ));
        let link = dir.join("l");
        let _ = std::fs::remove_file(&link);
        symlink(&file, &link).unwrap();
        assert!(
            matches!(open_regular(&link), Err(ReadError::Io(e)) if e.raw_os_error() == Some(libc::ELOOP))
        );
        assert!(matches!(open_regular(&dir), Err(ReadError::NotRegular)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
