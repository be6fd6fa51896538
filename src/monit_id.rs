//! Monit's unique id: 32 lowercase hex digits in `set idfile` (default
//! `~/.monit.id`) that name this host to M/Monit. Read, made when missing
//! and reset as Monit 5.33 does it, so a host moved from Monit keeps its
//! identity.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

/// Why the id could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum IdError {
    #[error("idfile '{}' is not a regular file", .0.display())]
    NotAFile(PathBuf),
    #[error("Error reading id from file '{}'", .0.display())]
    Empty(PathBuf),
    #[error("Error opening the idfile '{}' -- {}", .0.display(), .1)]
    Io(PathBuf, std::io::Error),
}

/// The id, and whether this call made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitId {
    pub id: String,
    pub created: bool,
}

/// The id file: `set idfile`, else `~/.monit.id` as Monit's, else (no
/// home) next to the control file.
pub fn path(idfile: Option<&Path>, home: Option<&Path>, control: &Path) -> PathBuf {
    match (idfile, home) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(home)) => home.join(".monit.id"),
        (None, None) => control.with_extension("id"),
    }
}

/// Reads the id (its first word, at most 64 characters, as Monit's
/// `fscanf("%64s")`), or makes one when the file does not exist.
pub fn read_or_create(path: &Path) -> Result<MonitId, IdError> {
    let io = |e| IdError::Io(path.to_path_buf(), e);
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return Err(IdError::NotAFile(path.to_path_buf())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return create(path),
        Err(e) => return Err(io(e)),
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let word = text.split_whitespace().next().unwrap_or_default();
    if word.is_empty() {
        return Err(IdError::Empty(path.to_path_buf()));
    }
    Ok(MonitId {
        id: word.chars().take(64).collect(),
        created: false,
    })
}

/// Removes the id file and makes a new id.
pub fn reset(path: &Path) -> Result<MonitId, IdError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(IdError::Io(path.to_path_buf(), e)),
    }
    create(path)
}

/// Writes a fresh id, without a newline as Monit writes it. Only a file
/// that did not exist is written: when another process made one first,
/// that one is the id.
fn create(path: &Path) -> Result<MonitId, IdError> {
    let io = |e| IdError::Io(path.to_path_buf(), e);
    let id = fresh().map_err(io)?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(id.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(io)?;
            Ok(MonitId { id, created: true })
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_or_create(path),
        Err(e) => Err(io(e)),
    }
}

/// 128 random bits from the kernel, in hex.
fn fresh() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_missing_id_is_made_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("id");
        let made = read_or_create(&file).unwrap();
        assert!(made.created);
        assert_eq!(made.id.len(), 32);
        assert!(
            made.id
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), made.id);
        let again = read_or_create(&file).unwrap();
        assert_eq!((again.id, again.created), (made.id.clone(), false));
        let reset = reset(&file).unwrap();
        assert!(reset.created && reset.id != made.id);
    }

    #[test]
    fn an_id_is_the_files_first_word_and_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("id");
        std::fs::write(&file, "  abc123\nrest\n").unwrap();
        assert_eq!(read_or_create(&file).unwrap().id, "abc123");
        std::fs::write(&file, "\n").unwrap();
        assert!(matches!(read_or_create(&file), Err(IdError::Empty(_))));
        assert!(matches!(
            read_or_create(dir.path()),
            Err(IdError::NotAFile(_))
        ));
    }

    #[test]
    fn the_default_is_monits_file_in_home() {
        let rc = Path::new("/etc/monitrc");
        let home = Path::new("/home/u");
        assert_eq!(path(None, Some(home), rc), home.join(".monit.id"));
        assert_eq!(
            path(Some(Path::new("/var/id")), Some(home), rc),
            PathBuf::from("/var/id")
        );
        assert_eq!(path(None, None, rc), PathBuf::from("/etc/monitrc.id"));
    }
}
