//! The status board's latest figures of one check, compact: which metrics
//! it has as one bit each, and their values in metric order in one boxed
//! slice (a single value in place). A process check's 31 figures take 264 bytes this way; as a
//! vector of (metric, value) pairs they took 512 (each pair padded to 16
//! bytes), on every process check of the board.

use warden_probes::{Measurement, Metric};

/// One bit a metric: the enum's variants fit in 128 (a new one past that
/// fails here, at compile time).
type Mask = u128;
const _: () = assert!((Metric::ProgramStarted as usize) < Mask::BITS as usize);

fn bit(metric: Metric) -> Mask {
    1 << (metric as u32)
}

/// The latest value of each metric a check's probes measured.
#[derive(Debug, Clone, Default)]
pub(crate) struct Figures {
    /// The mask in two halves: a `u128` field would align the board's
    /// whole entry to 16 bytes.
    present: [u64; 2],
    /// One value per bit of the mask, in metric order.
    values: Values,
}

/// The values: one in place (a port or host check has only its response
/// time, and its own block of 8 bytes took 32 with malloc's header and
/// rounding), more in one boxed slice.
#[derive(Debug, Clone)]
enum Values {
    One(f64),
    Many(Box<[f64]>),
}

impl Default for Values {
    fn default() -> Self {
        Values::Many(Box::default())
    }
}

impl Values {
    fn nan(n: usize) -> Values {
        match n {
            1 => Values::One(f64::NAN),
            _ => Values::Many(vec![f64::NAN; n].into_boxed_slice()),
        }
    }

    fn as_slice(&self) -> &[f64] {
        match self {
            Values::One(v) => std::slice::from_ref(v),
            Values::Many(b) => b,
        }
    }

    fn as_mut_slice(&mut self) -> &mut [f64] {
        match self {
            Values::One(v) => std::slice::from_mut(v),
            Values::Many(b) => b,
        }
    }
}

impl Figures {
    fn mask(&self) -> Mask {
        Mask::from(self.present[1]) << 64 | Mask::from(self.present[0])
    }

    fn set_mask(&mut self, mask: Mask) {
        self.present = [mask as u64, (mask >> 64) as u64];
    }

    /// The place of `metric`'s value in `values`.
    fn rank(&self, metric: Metric) -> usize {
        (self.mask() & (bit(metric) - 1)).count_ones() as usize
    }

    pub(crate) fn get(&self, metric: Metric) -> Option<f64> {
        if self.mask() & bit(metric) == 0 {
            return None;
        }
        self.values.as_slice().get(self.rank(metric)).copied()
    }

    /// The bit numbers set in the mask, lowest first.
    fn bits(&self) -> impl Iterator<Item = u32> + '_ {
        let mask = self.mask();
        (0..Mask::BITS).filter(move |i| mask & (1 << i) != 0)
    }

    /// Every figure, in metric order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Metric, f64)> + '_ {
        // Paired by position first, so that a metric missing from the list
        // could only be skipped, never shift the values of the others.
        self.bits()
            .zip(self.values.as_slice().iter().copied())
            .filter_map(|(i, v)| Some((metric_of(i)?, v)))
    }

    /// Keeps the figures `keep` says, drops the rest, and sets `new` (a
    /// later value of one metric wins over an earlier one). Reallocates
    /// only when the set of metrics changes.
    pub(crate) fn update(&mut self, keep: impl Fn(Metric) -> bool, new: &[Measurement]) {
        let kept = self
            .bits()
            .filter(|i| metric_of(*i).is_some_and(&keep))
            .fold(0, |mask, i| mask | 1 << i);
        let wanted = new.iter().fold(kept, |mask, v| mask | bit(v.metric));
        if wanted != self.mask() {
            let old = std::mem::take(self);
            self.set_mask(wanted);
            self.values = Values::nan(wanted.count_ones() as usize);
            for (i, v) in old.bits().zip(old.values.as_slice().iter().copied()) {
                if kept & (1 << i) != 0 {
                    let at = (wanted & ((1 << i) - 1)).count_ones() as usize;
                    if let Some(slot) = self.values.as_mut_slice().get_mut(at) {
                        *slot = v;
                    }
                }
            }
        }
        for v in new {
            let i = self.rank(v.metric);
            if let Some(slot) = self.values.as_mut_slice().get_mut(i) {
                *slot = v.value;
            }
        }
    }

    /// The bytes the figures hold on the heap.
    #[cfg(test)]
    fn heap_bytes(&self) -> usize {
        match &self.values {
            Values::One(_) => 0,
            Values::Many(b) => size_of_val(&**b),
        }
    }
}

/// The metric whose discriminant is `n`.
fn metric_of(n: u32) -> Option<Metric> {
    warden_probes::ALL_METRICS.get(n as usize).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(metric: Metric, value: f64) -> Measurement {
        Measurement { metric, value }
    }

    #[test]
    fn figures_read_back_what_was_set_in_metric_order() {
        let mut f = Figures::default();
        f.update(
            |_| true,
            &[
                m(Metric::Memory, 2.0),
                m(Metric::Cpu, 1.0),
                m(Metric::Uptime, 3.0),
            ],
        );
        assert_eq!(f.get(Metric::Cpu), Some(1.0));
        assert_eq!(f.get(Metric::Memory), Some(2.0));
        assert_eq!(f.get(Metric::Threads), None);
        let all: Vec<_> = f.iter().collect();
        assert_eq!(
            all,
            vec![
                (Metric::Cpu, 1.0),
                (Metric::Memory, 2.0),
                (Metric::Uptime, 3.0)
            ]
        );
        assert_eq!(f.heap_bytes(), 3 * 8);
    }

    #[test]
    fn an_update_keeps_only_what_it_is_told_and_adds_the_new() {
        let mut f = Figures::default();
        f.update(
            |_| true,
            &[m(Metric::ResponseTime, 0.5), m(Metric::Cpu, 1.0)],
        );
        f.update(|k| k == Metric::ResponseTime, &[m(Metric::Memory, 7.0)]);
        let all: Vec<_> = f.iter().collect();
        assert_eq!(
            all,
            vec![(Metric::Memory, 7.0), (Metric::ResponseTime, 0.5)]
        );
    }

    #[test]
    fn the_same_metrics_again_change_values_in_place_and_the_last_wins() {
        let mut f = Figures::default();
        f.update(|_| true, &[m(Metric::Cpu, 1.0), m(Metric::Memory, 2.0)]);
        let before = f.values.as_slice().as_ptr();
        f.update(
            |_| false,
            &[
                m(Metric::Memory, 4.0),
                m(Metric::Cpu, 3.0),
                m(Metric::Cpu, 5.0),
            ],
        );
        assert_eq!(f.values.as_slice().as_ptr(), before);
        assert_eq!(f.get(Metric::Cpu), Some(5.0));
        assert_eq!(f.get(Metric::Memory), Some(4.0));
    }

    /// A port check's one figure takes no block of its own, and moves to
    /// one when a second comes, in metric order.
    #[test]
    fn one_figure_is_kept_in_place() {
        let mut f = Figures::default();
        f.update(|_| true, &[m(Metric::ResponseTime, 0.25)]);
        assert_eq!(f.heap_bytes(), 0);
        assert_eq!(f.get(Metric::ResponseTime), Some(0.25));
        f.update(|_| true, &[m(Metric::Cpu, 1.0)]);
        assert_eq!(f.heap_bytes(), 2 * 8);
        assert_eq!(f.get(Metric::Cpu), Some(1.0));
        assert_eq!(f.get(Metric::ResponseTime), Some(0.25));
        f.update(|k| k == Metric::ResponseTime, &[]);
        assert_eq!(f.heap_bytes(), 0);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            vec![(Metric::ResponseTime, 0.25)]
        );
    }

    #[test]
    fn every_metric_has_a_bit_and_reads_back() {
        let mut f = Figures::default();
        let all: Vec<_> = warden_probes::ALL_METRICS
            .iter()
            .enumerate()
            .map(|(i, metric)| m(*metric, i as f64))
            .collect();
        f.update(|_| true, &all);
        for v in &all {
            assert_eq!(f.get(v.metric), Some(v.value), "{:?}", v.metric);
        }
        assert_eq!(f.iter().count(), all.len());
    }
}
