//! A check's recent past, kept in memory for the charts and the timeline:
//! a bounded ring of samples (a time and the figures its type has) and its
//! last events. Fed where the status board is; carried over a reload by
//! name; empty after a restart of Warden (never written to disk).
//!
//! Compact by design (1,000 checks must stay lean): a sample is one `u32`
//! time and one `f32` per figure, stored interleaved in one vector that
//! is allocated whole at the first sample, [`SAMPLES`] (fewer for slow checks:
//! an hour at the check's period). When the ring is full but covers less
//! than an hour (a period under a minute), neighbouring samples are merged
//! pairwise (the larger value of each figure kept), so that it always
//! reaches back an hour at the finest resolution its size allows.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use warden_config::model::{Check, CheckType};
use warden_probes::Metric;

use crate::events::{Event, EventKind};

/// The most samples a check keeps: an hour at 120 s each or finer. 30
/// is the fewest that keeps the resolution 40 gave at the usual periods
/// (1, 2, 5, 10, 15, 20, 30, 60 and 120 s: the ring ends at 128 s a sample
/// at `set daemon 1`, 120 s at 30 and 60 s, 160 s at 5, 10 and 20 s) and
/// costs a quarter less (a process check's full ring 480 -> 360 bytes).
/// Measured at 1,000 port checks (peak RSS, one run each): 8.88 MB
/// without samples, 9.81 MB with 60 grown in steps, Monit 9.35.
pub const SAMPLES: usize = 30;
/// The events a check keeps.
pub const EVENTS: usize = 20;
/// The most series a check type draws.
pub const MOST_SERIES: usize = 3;
/// How far back the samples reach once the ring is full.
pub const SPAN: Duration = Duration::from_secs(3600);

/// One figure over time, as a chart draws it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Series {
    /// Milliseconds, the slowest connection test of the cycle.
    ResponseTime,
    /// Percent of all cores.
    Cpu,
    /// Bytes (a process's resident memory).
    Memory,
    /// Percent of the machine's memory (a system check).
    MemoryPercent,
    /// The 1-minute load average.
    Load,
    SpaceUsedPercent,
    InodesUsedPercent,
    /// Bytes (a file's size).
    Size,
    /// A program's last exit status.
    ExitStatus,
    /// Bytes per second through a network link.
    Download,
    Upload,
}

/// How a series' values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Milliseconds,
    Percent,
    Bytes,
    BytesPerSecond,
    Number,
}

impl Series {
    /// The chart's title.
    pub fn title(self) -> &'static str {
        match self {
            Series::ResponseTime => "Response time",
            Series::Cpu => "CPU",
            Series::Memory | Series::MemoryPercent => "Memory",
            Series::Load => "Load (1 min)",
            Series::SpaceUsedPercent => "Space used",
            Series::InodesUsedPercent => "Inodes used",
            Series::Size => "Size",
            Series::ExitStatus => "Exit status",
            Series::Download => "Download",
            Series::Upload => "Upload",
        }
    }

    pub fn unit(self) -> Unit {
        match self {
            Series::ResponseTime => Unit::Milliseconds,
            Series::Cpu
            | Series::MemoryPercent
            | Series::SpaceUsedPercent
            | Series::InodesUsedPercent => Unit::Percent,
            Series::Memory | Series::Size => Unit::Bytes,
            Series::Download | Series::Upload => Unit::BytesPerSecond,
            Series::Load | Series::ExitStatus => Unit::Number,
        }
    }

    /// The status board's metric it reads (response time aside: the
    /// board's connection runs).
    pub fn metric(self) -> Metric {
        match self {
            Series::ResponseTime => Metric::ResponseTime,
            Series::Cpu => Metric::Cpu,
            Series::Memory => Metric::Memory,
            Series::MemoryPercent => Metric::MemoryPercent,
            Series::Load => Metric::LoadAvg1,
            Series::SpaceUsedPercent => Metric::SpaceUsedPercent,
            Series::InodesUsedPercent => Metric::InodeUsedPercent,
            Series::Size => Metric::Size,
            Series::ExitStatus => Metric::ExitStatus,
            Series::Download => Metric::DownloadBytes,
            Series::Upload => Metric::UploadBytes,
        }
    }

    /// The series a check of this type draws; response time first when it
    /// has a connection test.
    pub fn of(kind: CheckType, connection: bool) -> &'static [Series] {
        use Series::*;
        match (kind, connection) {
            (CheckType::Process, true) => &[ResponseTime, Cpu, Memory],
            (CheckType::Process, false) => &[Cpu, Memory],
            (CheckType::Filesystem, _) => &[SpaceUsedPercent, InodesUsedPercent],
            (CheckType::System, _) => &[Load, Cpu, MemoryPercent],
            (CheckType::File, _) => &[Size],
            (CheckType::Program, _) => &[ExitStatus],
            (CheckType::Network, _) => &[Download, Upload],
            (CheckType::Host | CheckType::Directory | CheckType::Fifo, true) => &[ResponseTime],
            (CheckType::Host | CheckType::Directory | CheckType::Fifo, false) => &[],
        }
    }

    /// The series of a configured check.
    pub fn of_check(check: &Check) -> &'static [Series] {
        let connection = check
            .rules
            .iter()
            .any(|r| crate::conntest::connection_test(&r.test.value));
        Series::of(check.kind.check_type(), connection)
    }

    /// Its value from a board metric (seconds become milliseconds).
    pub(crate) fn read(self, value: Option<f64>) -> f32 {
        match (self, value) {
            (_, None) => f32::NAN,
            (Series::ResponseTime, Some(s)) => (s * 1000.0) as f32,
            (_, Some(v)) => v as f32,
        }
    }

    pub(crate) fn board_metric(self) -> Metric {
        self.metric()
    }
}

/// One remembered event.
#[derive(Debug, Clone, PartialEq)]
struct Remembered {
    time: u32,
    kind: EventKind,
    description: Box<str>,
    action: Option<Box<str>>,
}

/// One check's history.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    series: &'static [Series],
    /// Seconds one sample stands for: the check's period, doubled each
    /// time the full ring is merged pairwise.
    width: u32,
    /// The most samples kept: an hour at the period, at most [`SAMPLES`].
    cap: u16,
    /// Per sample: its time (unix seconds, the start of its slot), then the
    /// bits of one `f32` per series (NaN: not measured). Oldest first.
    data: Vec<u32>,
    events: VecDeque<Remembered>,
}

impl History {
    /// An empty history of these series, sampled every `period`.
    pub fn new(series: &'static [Series], period: Duration) -> Self {
        let width = u32::try_from(period.as_secs()).unwrap_or(u32::MAX).max(1);
        let hour = SPAN.as_secs().div_ceil(u64::from(width));
        let cap = u16::try_from(hour.clamp(2, SAMPLES as u64)).unwrap_or(SAMPLES as u16);
        History {
            series,
            width,
            cap,
            data: Vec::new(),
            events: VecDeque::new(),
        }
    }

    pub fn series(&self) -> &'static [Series] {
        self.series
    }

    /// Seconds one sample stands for now.
    pub fn width_s(&self) -> u32 {
        self.width
    }

    fn stride(&self) -> usize {
        1 + self.series.len()
    }

    /// How many samples it holds.
    pub fn len(&self) -> usize {
        self.data.len() / self.stride()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.events.is_empty()
    }

    /// Adds one sample (one value per series, NaN where not measured).
    /// Within its slot's width of the last sample it is merged into it.
    pub fn sample(&mut self, time: SystemTime, values: &[f32]) {
        if self.series.is_empty() || values.len() != self.series.len() {
            return;
        }
        let t = seconds(time);
        let stride = self.stride();
        let n = self.len();
        if let Some(last) = n.checked_sub(1)
            && t < self.data[last * stride].saturating_add(self.width)
            && t >= self.data[last * stride]
        {
            let at = last * stride + 1;
            merge(&mut self.data[at..at + values.len()], values);
            return;
        }
        if n >= usize::from(self.cap) {
            let covered = u64::from(self.width) * u64::from(self.cap);
            if covered < SPAN.as_secs() {
                self.halve();
            } else {
                // The oldest goes.
                self.data.drain(..stride);
            }
        }
        self.grow();
        self.data.push(t);
        self.data.extend(values.iter().map(|v| v.to_bits()));
    }

    /// Room for one more sample: the whole ring at the first sample, in one
    /// allocation (growing it in steps left the smaller blocks behind as
    /// heap fragments: at 1,000 checks they cost more than the rings).
    fn grow(&mut self) {
        let stride = self.stride();
        if self.data.len() + stride <= self.data.capacity() {
            return;
        }
        let want = usize::from(self.cap) * stride;
        self.data
            .reserve_exact(want.saturating_sub(self.data.len()).max(stride));
    }

    /// Merges neighbouring samples pairwise: half as many, twice as wide.
    fn halve(&mut self) {
        let stride = self.stride();
        let n = self.len();
        for i in 0..n / 2 {
            let (a, b) = (2 * i * stride, (2 * i + 1) * stride);
            self.data.copy_within(a..a + stride, i * stride);
            for k in 1..stride {
                let v = f32::from_bits(self.data[b + k]);
                merge_one(&mut self.data[i * stride + k], v);
            }
        }
        if n % 2 == 1 {
            let last = (n - 1) * stride;
            self.data.copy_within(last..last + stride, (n / 2) * stride);
        }
        self.data.truncate(n.div_ceil(2) * stride);
        self.width = self.width.saturating_mul(2);
    }

    /// Remembers an event; the oldest goes past [`EVENTS`].
    pub fn event(&mut self, event: &Event) {
        if self.events.len() >= EVENTS {
            self.events.pop_front();
        } else if self.events.len() == self.events.capacity() {
            // Doubling, but never past the bound (a deque would take 32);
            // room for one at first: most checks have one event (their
            // first status) for a long time.
            let more = (self.events.len() * 2).clamp(1, EVENTS) - self.events.len();
            self.events.reserve_exact(more);
        }
        self.events.push_back(Remembered {
            time: seconds(event.time),
            kind: event.kind,
            description: event.description.as_str().into(),
            action: event.action.as_deref().map(Into::into),
        });
    }

    /// The newest event: its time (unix seconds), kind and words.
    pub fn newest_event(&self) -> Option<(u32, EventKind, &str)> {
        let e = self.events.back()?;
        Some((e.time, e.kind, &e.description))
    }

    /// This history continued by a check that replaced it (a reload):
    /// the events always; the samples when the series are the same.
    pub fn adopt(&mut self, older: History) {
        let mut events = older.events;
        events.append(&mut self.events);
        while events.len() > EVENTS {
            events.pop_front();
        }
        self.events = events;
        if older.series == self.series {
            let newer = std::mem::replace(
                self,
                History {
                    events: VecDeque::new(),
                    ..older
                },
            );
            self.events = newer.events;
            let stride = self.stride();
            for s in newer.data.chunks_exact(stride) {
                let values: Vec<f32> = s[1..].iter().map(|v| f32::from_bits(*v)).collect();
                self.sample(
                    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(s[0])),
                    &values,
                );
            }
        }
    }

    /// The bytes this history holds on the heap (its vectors' capacity).
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() * 4
            + self.events.capacity() * size_of::<Remembered>()
            + self
                .events
                .iter()
                .map(|e| e.description.len() + e.action.as_ref().map_or(0, |a| a.len()))
                .sum::<usize>()
    }

    /// What the API and the pages show.
    pub fn view(&self, name: &str, kind: CheckType) -> HistoryView {
        let stride = self.stride();
        HistoryView {
            name: name.to_string(),
            kind,
            sample_width_s: self.width,
            series: self.series.to_vec(),
            samples: self
                .data
                .chunks_exact(stride)
                .map(|s| Sample {
                    time_unix_s: u64::from(s[0]),
                    values: s[1..].iter().map(|v| widen(f32::from_bits(*v))).collect(),
                })
                .collect(),
            events: self
                .events
                .iter()
                .map(|e| PastEvent {
                    time_unix_s: u64::from(e.time),
                    kind: e.kind,
                    event: e.kind.name().to_string(),
                    description: e.description.to_string(),
                    action: e.action.as_deref().map(str::to_string),
                })
                .collect(),
        }
    }
}

/// A stored value as the view shows it: to the 7 significant digits an
/// `f32` holds (not `11.557342529296877`); None for NaN.
fn widen(v: f32) -> Option<f64> {
    let v = f64::from(v);
    if !v.is_finite() {
        return None;
    }
    if v == 0.0 {
        return Some(0.0);
    }
    let scale = 10f64.powi(6 - v.abs().log10().floor() as i32);
    Some((v * scale).round() / scale)
}

/// Unix seconds as stored (a `u32` reaches 2106).
fn seconds(t: SystemTime) -> u32 {
    let s = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(s).unwrap_or(u32::MAX)
}

/// Keeps the larger of each pair (a spike must not vanish in a merge); a
/// value beats NaN.
fn merge(into: &mut [u32], values: &[f32]) {
    for (slot, v) in into.iter_mut().zip(values) {
        merge_one(slot, *v);
    }
}

fn merge_one(slot: &mut u32, v: f32) {
    let old = f32::from_bits(*slot);
    if old.is_nan() || v > old {
        *slot = v.to_bits();
    }
}

/// A check's history as `GET /api/v1/status/{name}/history` answers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: CheckType,
    /// Seconds each sample stands for (the largest value of each figure
    /// within it).
    pub sample_width_s: u32,
    /// What each sample's `values` are, in order.
    pub series: Vec<Series>,
    /// Oldest first.
    pub samples: Vec<Sample>,
    /// Oldest first.
    pub events: Vec<PastEvent>,
}

/// One sample: a time and one value per series (null: not measured).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub time_unix_s: u64,
    pub values: Vec<Option<f64>>,
}

/// One past event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PastEvent {
    pub time_unix_s: u64,
    pub kind: EventKind,
    /// Monit's words for the kind (`Does not exist`, `Action done`).
    pub event: String,
    pub description: String,
    /// The action taken about it (`restart`, `alert`, ...), when one was.
    pub action: Option<String>,
}

impl HistoryView {
    /// An empty view of a check that has no history yet.
    pub fn empty(name: &str, kind: CheckType, series: &[Series], width_s: u32) -> Self {
        HistoryView {
            name: name.to_string(),
            kind,
            sample_width_s: width_s,
            series: series.to_vec(),
            samples: Vec::new(),
            events: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
    }

    fn times(h: &History) -> Vec<u64> {
        h.view("x", CheckType::Process)
            .samples
            .iter()
            .map(|s| s.time_unix_s - 1_800_000_000)
            .collect()
    }

    #[test]
    fn a_slow_check_keeps_an_hour_at_its_period_and_no_more() {
        // Debian's monitrc: `set daemon 120`.
        let mut h = History::new(Series::of(CheckType::Host, true), Duration::from_secs(120));
        for i in 0..100 {
            h.sample(at(i * 120), &[i as f32]);
        }
        assert_eq!(h.len(), 30, "an hour of two-minute samples");
        assert_eq!(times(&h).first(), Some(&(70 * 120)));
        assert_eq!(h.data.capacity(), 30 * 2, "never more room than the cap");
    }

    #[test]
    fn a_fast_check_merges_pairs_until_the_ring_covers_an_hour() {
        let mut h = History::new(Series::of(CheckType::Host, true), Duration::from_secs(1));
        for i in 0..7200 {
            h.sample(at(i), &[if i == 5000 { 99.0 } else { 1.0 }]);
        }
        assert!(h.len() <= SAMPLES);
        assert_eq!(
            h.width_s(),
            128,
            "1 s doubled until 30 samples span an hour"
        );
        let t = times(&h);
        assert!(7200 - t[0] >= 3600, "reaches back an hour: {t:?}");
        let view = h.view("x", CheckType::Host);
        let spike = view.samples.iter().filter(|s| s.values[0] == Some(99.0));
        assert_eq!(spike.count(), 1, "a merge keeps the spike");
    }

    /// The README's memory figures: a process check's full ring is 30
    /// samples of 12 bytes, a host check's of 8, plus the 80-byte box.
    #[test]
    fn a_full_ring_costs_its_samples_and_nothing_more() {
        assert_eq!(size_of::<History>(), 80);
        for (kind, connection, bytes) in [
            (CheckType::Process, false, 360),
            (CheckType::Process, true, 480),
            (CheckType::Host, true, 240),
            (CheckType::Filesystem, false, 360),
        ] {
            let series = Series::of(kind, connection);
            let mut h = History::new(series, Duration::from_secs(1));
            for i in 0..5000 {
                h.sample(at(i), &vec![1.0; series.len()]);
            }
            assert_eq!(h.heap_bytes(), bytes, "{kind:?}");
        }
    }

    #[test]
    fn a_value_reads_with_the_digits_it_was_stored_with() {
        let table = [
            (11.557_343_f32, Some(11.55734)),
            (0.0, Some(0.0)),
            (1.5e6, Some(1.5e6)),
            (f32::NAN, None),
        ];
        for (stored, shown) in table {
            assert_eq!(widen(stored), shown, "{stored}");
        }
    }

    #[test]
    fn no_type_draws_more_than_the_most_series() {
        for kind in CheckType::ALL {
            for connection in [false, true] {
                assert!(
                    Series::of(*kind, connection).len() <= MOST_SERIES,
                    "{kind:?}"
                );
            }
        }
    }

    #[test]
    fn an_unmeasured_figure_reads_as_null() {
        let mut h = History::new(
            Series::of(CheckType::Process, false),
            Duration::from_secs(30),
        );
        h.sample(at(0), &[f32::NAN, 1024.0]);
        let v = h.view("p", CheckType::Process);
        assert_eq!(v.series, [Series::Cpu, Series::Memory]);
        assert_eq!(v.samples[0].values, [None, Some(1024.0)]);
    }

    #[test]
    fn events_are_kept_newest_last_and_bounded() {
        let mut h = History::new(&[], Duration::from_secs(30));
        for i in 0..30 {
            let e = Event::new("p", EventKind::DoesNotExist, format!("gone {i}"))
                .with_action("restart");
            h.event(&e);
        }
        let v = h.view("p", CheckType::Directory);
        assert_eq!(v.events.len(), EVENTS);
        assert_eq!(h.events.capacity(), EVENTS, "no room past the bound");
        assert_eq!(
            v.events.last().map(|e| e.description.as_str()),
            Some("gone 29")
        );
        assert_eq!(v.events[0].action.as_deref(), Some("restart"));
        assert_eq!(v.events[0].event, "Does not exist");
    }

    #[test]
    fn a_reloaded_check_continues_the_old_samples_when_its_figures_are_the_same() {
        let series = Series::of(CheckType::Process, false);
        let mut old = History::new(series, Duration::from_secs(30));
        old.sample(at(0), &[1.0, 2.0]);
        old.event(&Event::new("p", EventKind::ActionDone, "started"));
        let mut new = History::new(series, Duration::from_secs(30));
        new.sample(at(30), &[3.0, 4.0]);
        new.adopt(old.clone());
        assert_eq!(times(&new), [0, 30]);
        assert_eq!(new.view("p", CheckType::Process).events.len(), 1);
        // Another type: the events stay, the samples do not fit.
        let mut other = History::new(Series::of(CheckType::Host, true), Duration::from_secs(30));
        other.adopt(old);
        assert_eq!(
            (other.len(), other.view("p", CheckType::Host).events.len()),
            (0, 1)
        );
    }
}
