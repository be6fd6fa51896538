//! What a probe reports: ok or failed with a reason a person can read, and
//! the values it measured on the way.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// The target is not there (process not running, file missing, ...).
    Missing,
    /// The process exists but is a zombie.
    Zombie,
    /// The test ran and failed (connection refused, wrong status, ...).
    Failed,
    /// The test could not be run (permission denied, bad config at run time).
    Error,
    /// The probe gave no answer within the scheduler's time limit and was cut
    /// off (a hung file system, a probe stuck past its own timeouts).
    Timeout,
}

/// A measured value, named by the fact it measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Percent of one core's time... normalised like Monit (percent of all cores).
    Cpu,
    TotalCpu,
    CpuUser,
    CpuSystem,
    CpuWait,
    /// Bytes.
    Memory,
    MemoryPercent,
    TotalMemory,
    TotalMemoryPercent,
    Swap,
    SwapPercent,
    Children,
    Threads,
    /// Seconds.
    Uptime,
    LoadAvg1,
    LoadAvg5,
    LoadAvg15,
    FileDescriptors,
    /// Seconds a connection or request took.
    ResponseTime,
    /// A program's exit status, an HTTP status.
    ExitStatus,
    /// Bytes.
    Size,
    Permission,
    Uid,
    Gid,
    /// Seconds since the epoch.
    Timestamp,
    SpaceUsedPercent,
    SpaceFree,
    InodeUsedPercent,
    InodeFree,
    /// Days until a TLS certificate expires.
    CertificateDays,
    /// The status code of an HTTP response.
    HttpStatus,
    /// The parent's pid.
    Ppid,
    /// Children of the process itself (`Children` counts all descendants).
    DirectChildren,
    /// System load divided by the number of cores.
    LoadAvg1PerCore,
    LoadAvg5PerCore,
    LoadAvg15PerCore,
    /// Percent of the system-wide limit (`/proc/sys/fs/file-nr`).
    FileDescriptorsPercent,
    /// A file's times, seconds since the epoch (`Timestamp` is the newest
    /// of modify and change, Monit's default).
    AccessTime,
    ModifyTime,
    ChangeTime,
    /// Bytes.
    SpaceUsed,
    SpaceFreePercent,
    SpaceTotal,
    InodeUsed,
    InodeFreePercent,
    InodeTotal,
    /// The mount flags of a filesystem (`statvfs` `f_flag` bits).
    FsFlags,
    /// 1 when a network link is up, 0 when down.
    LinkUp,
    /// Bits per second a link can carry (its speed, duplex counted once).
    LinkSpeed,
    /// Percent of the link's capacity in use.
    Saturation,
    /// Bytes and packets per second.
    UploadBytes,
    DownloadBytes,
    UploadPackets,
    DownloadPackets,
    /// An interface's byte and packet counters (since it came up), for the
    /// `total ... in last N hours` rules.
    UploadedBytes,
    DownloadedBytes,
    UploadedPackets,
    DownloadedPackets,
    /// A process's effective uid (`Uid` is its real uid, `Gid` its real gid).
    Euid,
    /// A process's open-files limits (`RLIMIT_NOFILE`).
    FileDescriptorsSoftLimit,
    FileDescriptorsHardLimit,
    /// Open files of a process and all its descendants.
    TotalFileDescriptors,
    /// The system's open-files table: allocated but unused entries, and
    /// its size (`/proc/sys/fs/file-nr`).
    FileDescriptorsUnused,
    FileDescriptorsMax,
    /// I/O per second and since start (a process: every read and write
    /// call and the bytes they moved; a filesystem: its block device).
    ReadBytes,
    ReadBytesTotal,
    WriteBytes,
    WriteBytesTotal,
    ReadOperations,
    ReadOperationsTotal,
    WriteOperations,
    WriteOperationsTotal,
    /// A process's bytes that reached the storage layer.
    DiskReadBytes,
    DiskReadBytesTotal,
    DiskWriteBytes,
    DiskWriteBytesTotal,
    /// Milliseconds a second a block device spent reading and writing.
    ReadTime,
    WriteTime,
    /// The rest of the system cpu split, percent (`CpuUser` leaves out
    /// nice and guest time, `CpuSystem` interrupts, as Monit counts them).
    CpuNice,
    CpuHardIrq,
    CpuSoftIrq,
    CpuSteal,
    CpuGuest,
    CpuGuestNice,
    /// When the machine booted, seconds since the epoch.
    BootTime,
    /// Bytes a filesystem block holds.
    BlockSize,
    /// Free bytes, the blocks reserved for root included.
    SpaceFreeTotal,
    /// 1 full duplex, 0 half.
    LinkDuplex,
    /// Receive and transmit errors per second and since the link came up.
    DownloadErrors,
    UploadErrors,
    DownloadedErrors,
    UploadedErrors,
    /// When a check's program last started, seconds since the epoch.
    ProgramStarted,
}

/// Every metric, in the enum's order (its discriminants): a new metric
/// goes at the end of both. The status board keeps a check's figures as
/// one bit a metric and reads them back through this list.
pub const ALL_METRICS: [Metric; 93] = [
    Metric::Cpu,
    Metric::TotalCpu,
    Metric::CpuUser,
    Metric::CpuSystem,
    Metric::CpuWait,
    Metric::Memory,
    Metric::MemoryPercent,
    Metric::TotalMemory,
    Metric::TotalMemoryPercent,
    Metric::Swap,
    Metric::SwapPercent,
    Metric::Children,
    Metric::Threads,
    Metric::Uptime,
    Metric::LoadAvg1,
    Metric::LoadAvg5,
    Metric::LoadAvg15,
    Metric::FileDescriptors,
    Metric::ResponseTime,
    Metric::ExitStatus,
    Metric::Size,
    Metric::Permission,
    Metric::Uid,
    Metric::Gid,
    Metric::Timestamp,
    Metric::SpaceUsedPercent,
    Metric::SpaceFree,
    Metric::InodeUsedPercent,
    Metric::InodeFree,
    Metric::CertificateDays,
    Metric::HttpStatus,
    Metric::Ppid,
    Metric::DirectChildren,
    Metric::LoadAvg1PerCore,
    Metric::LoadAvg5PerCore,
    Metric::LoadAvg15PerCore,
    Metric::FileDescriptorsPercent,
    Metric::AccessTime,
    Metric::ModifyTime,
    Metric::ChangeTime,
    Metric::SpaceUsed,
    Metric::SpaceFreePercent,
    Metric::SpaceTotal,
    Metric::InodeUsed,
    Metric::InodeFreePercent,
    Metric::InodeTotal,
    Metric::FsFlags,
    Metric::LinkUp,
    Metric::LinkSpeed,
    Metric::Saturation,
    Metric::UploadBytes,
    Metric::DownloadBytes,
    Metric::UploadPackets,
    Metric::DownloadPackets,
    Metric::UploadedBytes,
    Metric::DownloadedBytes,
    Metric::UploadedPackets,
    Metric::DownloadedPackets,
    Metric::Euid,
    Metric::FileDescriptorsSoftLimit,
    Metric::FileDescriptorsHardLimit,
    Metric::TotalFileDescriptors,
    Metric::FileDescriptorsUnused,
    Metric::FileDescriptorsMax,
    Metric::ReadBytes,
    Metric::ReadBytesTotal,
    Metric::WriteBytes,
    Metric::WriteBytesTotal,
    Metric::ReadOperations,
    Metric::ReadOperationsTotal,
    Metric::WriteOperations,
    Metric::WriteOperationsTotal,
    Metric::DiskReadBytes,
    Metric::DiskReadBytesTotal,
    Metric::DiskWriteBytes,
    Metric::DiskWriteBytesTotal,
    Metric::ReadTime,
    Metric::WriteTime,
    Metric::CpuNice,
    Metric::CpuHardIrq,
    Metric::CpuSoftIrq,
    Metric::CpuSteal,
    Metric::CpuGuest,
    Metric::CpuGuestNice,
    Metric::BootTime,
    Metric::BlockSize,
    Metric::SpaceFreeTotal,
    Metric::LinkDuplex,
    Metric::DownloadErrors,
    Metric::UploadErrors,
    Metric::DownloadedErrors,
    Metric::UploadedErrors,
    Metric::ProgramStarted,
];

// The list is the enum's discriminants in order, and its last variant.
const _: () = {
    let mut i = 0;
    while i < ALL_METRICS.len() {
        assert!(ALL_METRICS[i] as usize == i);
        i += 1;
    }
    assert!(Metric::ProgramStarted as usize == ALL_METRICS.len() - 1);
};

/// A fact in words: status documents show it, no rule reads it as a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Text {
    /// The filesystem type and mount options (`ext4`, `rw,relatime`).
    FsType,
    FsFlags,
    /// A process's security label (`/proc/PID/attr/current`).
    SecurityAttribute,
    /// The start of a program's last output.
    ProgramOutput,
    /// A file's digest, by algorithm.
    ChecksumMd5,
    ChecksumSha1,
    ChecksumSha256,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measurement {
    pub metric: Metric,
    pub value: f64,
}

/// The identity of a running process: a pid alone can be reused, a pid with
/// its start time (clock ticks since boot, from `/proc/PID/stat`) cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct ProcessFacts {
    pub pid: u32,
    pub ppid: u32,
    pub start_ticks: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: Status,
    /// What happened, in words for logs and alerts ("connection refused
    /// on 127.0.0.1:8080", "process is running with pid 42").
    pub reason: String,
    pub values: Vec<Measurement>,
    /// Set by process probes when the process was found.
    pub process: Option<ProcessFacts>,
    /// Values named by their source rather than a [`Metric`]: a Nagios
    /// plugin's performance data, by its label.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub named: Vec<NamedValue>,
    /// Facts in words (a filesystem's type, a program's output). A boxed
    /// slice: most outcomes have none, and an outcome is returned by value
    /// through many `Result`s.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub texts: Box<[(Text, String)]>,
}

/// A measured value with a name of its own (`time=0.2s` -> `time`, 0.2, `s`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedValue {
    pub name: String,
    pub value: f64,
    /// The unit as written (`s`, `%`, `MB`, `c`), empty when none.
    pub unit: String,
}

impl Outcome {
    pub fn ok(reason: impl Into<String>) -> Self {
        Outcome {
            status: Status::Ok,
            reason: reason.into(),
            values: Vec::new(),
            process: None,
            named: Vec::new(),
            texts: Box::default(),
        }
    }

    pub fn failed(status: Status, reason: impl Into<String>) -> Self {
        Outcome {
            status,
            ..Outcome::ok(reason)
        }
    }

    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    pub fn with(mut self, metric: Metric, value: f64) -> Self {
        self.push(metric, value);
        self
    }

    /// Adds a value in place (a probe adding two dozen figures would move
    /// the whole outcome through `with` for each).
    pub fn push(&mut self, metric: Metric, value: f64) {
        self.values.push(Measurement { metric, value });
    }

    pub fn with_text(mut self, text: Text, words: impl Into<String>) -> Self {
        self.push_text(text, words);
        self
    }

    /// Adds a text in place.
    pub fn push_text(&mut self, text: Text, words: impl Into<String>) {
        let mut texts = std::mem::take(&mut self.texts).into_vec();
        texts.push((text, words.into()));
        self.texts = texts.into_boxed_slice();
    }

    pub fn text(&self, text: Text) -> Option<&str> {
        self.texts
            .iter()
            .find(|(t, _)| *t == text)
            .map(|(_, w)| w.as_str())
    }

    pub fn value(&self, metric: Metric) -> Option<f64> {
        self.values
            .iter()
            .find(|m| m.metric == metric)
            .map(|m| m.value)
    }
}
