//! `check filesystem`: space and inode usage (percent and absolute, used
//! and free) and the mount flags, through `statvfs` on the mount point; the
//! mount point's mode and owner; its type and mount options, and the I/O of
//! its block device (`mounts`). A device path (`/dev/sda1`) is mapped to
//! where it is mounted through `/proc/self/mountinfo`.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::fs::StatVfs;

use crate::mounts::{Mounts, unescape};
use crate::offload::InFlight;
use crate::outcome::{Metric, Outcome, Status};
use crate::{BoxFuture, Probe};

#[derive(Debug)]
pub struct FilesystemProbe {
    inner: Arc<Inner>,
    in_flight: InFlight,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    /// The mount table and the device's counters, kept between runs.
    mounts: Mutex<Mounts>,
}

impl FilesystemProbe {
    pub fn new(path: PathBuf) -> Self {
        FilesystemProbe {
            inner: Arc::new(Inner {
                path,
                mounts: Mutex::new(Mounts::default()),
            }),
            in_flight: InFlight::default(),
        }
    }

    pub fn measure(&self) -> Outcome {
        self.inner.measure()
    }
}

impl Inner {
    fn measure(&self) -> Outcome {
        match mount_point(&self.path) {
            Ok(at) => match rustix::fs::statvfs(&at) {
                Ok(vfs) => {
                    let o = owner(usage(&at, &vfs), &at);
                    let mut mounts = self.mounts.lock().unwrap_or_else(|p| p.into_inner());
                    mounts.figures(o, &at)
                }
                Err(e) => Outcome::failed(
                    Status::Error,
                    format!("cannot read the filesystem at {}: {e}", at.display()),
                ),
            },
            Err(outcome) => outcome,
        }
    }
}

/// The mount point's mode, uid and gid, as Monit shows them.
fn owner(o: Outcome, at: &Path) -> Outcome {
    match std::fs::metadata(at) {
        Ok(m) => o
            .with(Metric::Permission, f64::from(m.mode() & 0o7777))
            .with(Metric::Uid, f64::from(m.uid()))
            .with(Metric::Gid, f64::from(m.gid())),
        Err(_) => o,
    }
}

/// Where to call `statvfs`: the path itself, or the mount point of a device.
fn mount_point(path: &Path) -> Result<PathBuf, Outcome> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Outcome::failed(
                Status::Missing,
                format!("{shown} does not exist"),
            ));
        }
        Err(e) => {
            return Err(Outcome::failed(
                Status::Error,
                format!("cannot stat {shown}: {e}"),
            ));
        }
    };
    if !meta.file_type().is_block_device() {
        return Ok(path.to_path_buf());
    }
    let table = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    device_mount(&table, path)
        .or_else(|| device_mount(&table, &real))
        .ok_or_else(|| Outcome::failed(Status::Missing, format!("{shown} is not mounted")))
}

/// The mount point of `device` in a `/proc/self/mountinfo` text.
pub fn device_mount(mountinfo: &str, device: &Path) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let source = right.split_whitespace().nth(1)?;
        let at = left.split_whitespace().nth(4)?;
        (Path::new(&unescape(source)) == device).then(|| PathBuf::from(unescape(at)))
    })
}

/// The metrics of one `statvfs` reading. Like Monit, usage counts the
/// blocks root reserved as used, and free is what others may still use.
pub fn usage(at: &Path, vfs: &StatVfs) -> Outcome {
    let block = vfs.f_frsize.max(1) as f64;
    let blocks = vfs.f_blocks as f64;
    let used = vfs.f_blocks.saturating_sub(vfs.f_bfree) as f64;
    let pct = |part: f64, whole: f64| {
        if whole > 0.0 {
            part * 100.0 / whole
        } else {
            0.0
        }
    };
    let space = pct(used, blocks);
    let mut o = Outcome::ok(format!(
        "filesystem at {} is {space:.1}% full",
        at.display()
    ))
    .with(Metric::SpaceUsedPercent, space)
    .with(Metric::SpaceUsed, used * block)
    .with(Metric::SpaceFree, vfs.f_bavail as f64 * block)
    .with(Metric::SpaceFreePercent, pct(vfs.f_bavail as f64, blocks))
    .with(Metric::SpaceTotal, blocks * block)
    .with(Metric::SpaceFreeTotal, vfs.f_bfree as f64 * block)
    .with(Metric::BlockSize, block)
    .with(Metric::FsFlags, vfs.f_flag.bits() as f64);
    // Some filesystems (btrfs, tmpfs without a limit) report no inodes.
    if vfs.f_files > 0 {
        let inodes = vfs.f_files as f64;
        let used = vfs.f_files.saturating_sub(vfs.f_ffree) as f64;
        o = o
            .with(Metric::InodeUsedPercent, pct(used, inodes))
            .with(Metric::InodeUsed, used)
            .with(Metric::InodeFree, vfs.f_favail as f64)
            .with(Metric::InodeFreePercent, pct(vfs.f_favail as f64, inodes))
            .with(Metric::InodeTotal, inodes);
    }
    o
}

impl Probe for FilesystemProbe {
    fn kind(&self) -> &'static str {
        "filesystem"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        // On the blocking pool: a hung NFS mount blocks one pool thread
        // (not one more each cycle) until it answers, never the driver.
        Box::pin(async move {
            let inner = Arc::clone(&self.inner);
            self.in_flight
                .run(&self.inner.path, move || inner.measure())
                .await
                .unwrap_or_else(|e| e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_maps_to_its_mount_point_with_escapes_undone() {
        let info = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
                    27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                    30 27 8:1 / /mnt/my\\040disk rw - ext4 /dev/sdb1 rw\n";
        assert_eq!(device_mount(info, Path::new("/dev/vda")), Some("/".into()));
        assert_eq!(
            device_mount(info, Path::new("/dev/sdb1")),
            Some("/mnt/my disk".into())
        );
        assert_eq!(device_mount(info, Path::new("/dev/sdc")), None);
    }

    #[test]
    fn a_directory_reports_space_and_inodes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o751)).unwrap();
        let probe = FilesystemProbe::new(dir.path().into());
        let o = probe.measure();
        assert!(o.is_ok(), "{o:?}");
        let used = o.value(Metric::SpaceUsedPercent).unwrap();
        assert!((0.0..=100.0).contains(&used), "{used}");
        assert!(o.value(Metric::SpaceTotal).unwrap() > 0.0);
        assert!(o.value(Metric::SpaceFreeTotal) >= o.value(Metric::SpaceFree));
        assert!(o.value(Metric::FsFlags).is_some());
        assert_eq!(o.value(Metric::Permission), Some(f64::from(0o751)));
        assert!(o.text(crate::Text::FsType).is_some(), "{o:?}");
        assert!(o.text(crate::Text::FsFlags).is_some(), "{o:?}");
    }

    #[test]
    fn a_missing_path_is_missing() {
        let probe = FilesystemProbe::new("/nonexistent/fs".into());
        assert_eq!(probe.measure().status, Status::Missing);
    }
}
