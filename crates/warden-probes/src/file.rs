//! `check file|directory|fifo`: the path exists and is of the right type;
//! its size, mode, owner and times become metrics for the rules (`size`,
//! `permission`, `uid`, `gid`, `timestamp`) and for status.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::offload::InFlight;
use crate::outcome::{Metric, Outcome, Status};
use crate::{BoxFuture, Probe};

/// Which type of file a check expects at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    File,
    Directory,
    Fifo,
}

impl FileType {
    fn noun(self) -> &'static str {
        match self {
            FileType::File => "a regular file",
            FileType::Directory => "a directory",
            FileType::Fifo => "a fifo",
        }
    }

    fn matches(self, t: std::fs::FileType) -> bool {
        match self {
            FileType::File => t.is_file(),
            FileType::Directory => t.is_dir(),
            FileType::Fifo => t.is_fifo(),
        }
    }
}

#[derive(Debug)]
pub struct FileProbe {
    path: PathBuf,
    expect: FileType,
    in_flight: InFlight,
}

impl FileProbe {
    pub fn new(path: PathBuf, expect: FileType) -> Self {
        FileProbe {
            path,
            expect,
            in_flight: InFlight::default(),
        }
    }

    /// One `stat` (following symlinks, like Monit) and its metrics.
    pub fn measure(&self) -> Outcome {
        stat(&self.path, self.expect)
    }
}

/// The facts about `path`, or why there are none.
pub fn stat(path: &Path, expect: FileType) -> Outcome {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::failed(Status::Missing, format!("{shown} does not exist"));
        }
        Err(e) => return Outcome::failed(Status::Error, format!("cannot stat {shown}: {e}")),
    };
    if !expect.matches(meta.file_type()) {
        return Outcome::failed(Status::Failed, format!("{shown} is not {}", expect.noun()));
    }
    let time = |s: i64, ns: i64| s as f64 + ns as f64 / 1e9;
    let (atime, mtime, ctime) = (
        time(meta.atime(), meta.atime_nsec()),
        time(meta.mtime(), meta.mtime_nsec()),
        time(meta.ctime(), meta.ctime_nsec()),
    );
    Outcome::ok(format!("{shown} is {}", expect.noun()))
        .with(Metric::Size, meta.size() as f64)
        .with(Metric::Permission, f64::from(meta.mode() & 0o7777))
        .with(Metric::Uid, f64::from(meta.uid()))
        .with(Metric::Gid, f64::from(meta.gid()))
        .with(Metric::Timestamp, mtime.max(ctime))
        .with(Metric::AccessTime, atime)
        .with(Metric::ModifyTime, mtime)
        .with(Metric::ChangeTime, ctime)
}

impl Probe for FileProbe {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        // Off the driver: a stat on a hung network file system never
        // returns, and the checks that share this one's period wait for
        // nothing.
        let (path, expect) = (self.path.clone(), self.expect);
        Box::pin(async move {
            self.in_flight
                .run(&self.path, move || stat(&path, expect))
                .await
                .unwrap_or_else(|e| e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_file_reports_its_size_mode_and_owner() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"hello").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let o = stat(&path, FileType::File);
        assert!(o.is_ok(), "{o:?}");
        assert_eq!(o.value(Metric::Size), Some(5.0));
        assert_eq!(o.value(Metric::Permission), Some(f64::from(0o640)));
        assert_eq!(
            o.value(Metric::Uid),
            Some(f64::from(rustix::process::getuid().as_raw()))
        );
        assert!(o.value(Metric::Timestamp).unwrap() > 1.0e9);
    }

    #[test]
    fn a_missing_path_or_the_wrong_type_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let table = [
            (dir.path().join("none"), FileType::File, Status::Missing),
            (dir.path().to_path_buf(), FileType::File, Status::Failed),
            (dir.path().to_path_buf(), FileType::Directory, Status::Ok),
            (dir.path().to_path_buf(), FileType::Fifo, Status::Failed),
        ];
        for (path, expect, status) in table {
            assert_eq!(stat(&path, expect).status, status, "{path:?} {expect:?}");
        }
    }
}
