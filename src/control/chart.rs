//! A check's history drawn on the server: one SVG line chart per figure
//! over the last hour with its events marked on the time axis, a
//! sparkline for the index page, the event timeline as a table, and the
//! same as text for `warden status NAME --history`. Plain
//! SVG and HTML (no script, no network): the pages work offline. Every
//! string from a name or an output is escaped.

use std::fmt::Write as _;

use warden_engine::EventKind;
use warden_engine::history::{HistoryView, PastEvent, Series, Unit};

use super::format::{bytes, date, millis, percent};
use super::html::escape;

/// The longest span a chart shows, seconds back from now.
const SPAN_S: u64 = 3600;
/// The spans a chart may show: the shortest that holds what the history
/// has (a young daemon's few minutes are not squeezed into an hour).
const SPANS_S: [u64; 8] = [60, 120, 300, 600, 900, 1200, 1800, SPAN_S];
const WIDTH: f64 = 500.0;
const HEIGHT: f64 = 140.0;
/// Room for the value labels (left) and the time labels (bottom).
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 26.0;
const TOP: f64 = 8.0;

/// How an event is marked on the time axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// A test failed (does not exist, connection failed, ...).
    Failure,
    /// Warden started or restarted the service.
    Start,
    /// It passes again.
    Recovery,
}

impl Mark {
    pub fn of(kind: EventKind) -> Option<Mark> {
        match kind {
            EventKind::ActionDone => Some(Mark::Start),
            EventKind::Recovered | EventKind::Exists => Some(Mark::Recovery),
            k if k.is_failure() => Some(Mark::Failure),
            _ => None,
        }
    }

    fn class(self) -> &'static str {
        match self {
            Mark::Failure => "mark failure",
            Mark::Start => "mark start",
            Mark::Recovery => "mark recovery",
        }
    }
}

/// A value as the chart's labels write it.
pub fn value_text(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Milliseconds => millis(v),
        Unit::Percent => percent(v),
        Unit::Bytes => bytes(v),
        Unit::BytesPerSecond => format!("{}/s", bytes(v)),
        Unit::Number => {
            if (v - v.round()).abs() < 1e-9 {
                format!("{v:.0}")
            } else {
                format!("{v:.2}")
            }
        }
    }
}

/// A round upper bound for the axis: 1, 2 or 5 times a power of ten (of
/// 1024 for bytes), at least `max`.
fn ceiling(unit: Unit, max: f64) -> f64 {
    if unit == Unit::Percent && max <= 100.0 && max > 50.0 {
        return 100.0;
    }
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let base: f64 = if matches!(unit, Unit::Bytes | Unit::BytesPerSecond) && max >= 1024.0 {
        1024f64.powf(max.log(1024.0).floor())
    } else {
        10f64.powf(max.log10().floor())
    };
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|c| *c >= max)
        .unwrap_or(max)
}

/// Where a time and a value land in a plot of `w` by `h` starting at
/// (`x0`, `y0`).
struct Frame {
    x0: f64,
    y0: f64,
    w: f64,
    h: f64,
    from: u64,
    span: u64,
    top: f64,
}

impl Frame {
    fn x(&self, t: u64) -> f64 {
        self.x0 + (t.saturating_sub(self.from) as f64 / self.span as f64) * self.w
    }

    fn y(&self, v: f64) -> f64 {
        self.y0 + self.h - (v / self.top).clamp(0.0, 1.0) * self.h
    }
}

/// How finely a line is drawn.
#[derive(Debug, Clone, Copy)]
struct Ink {
    /// Points closer than this (px) to the previous one are merged into
    /// it, keeping the higher: a sparkline needs no more than one per
    /// few pixels, which keeps an index of 1,000 checks light.
    step: f64,
    decimals: usize,
}

const FINE: Ink = Ink {
    step: 0.0,
    decimals: 1,
};
const COARSE: Ink = Ink {
    step: 3.0,
    decimals: 0,
};

/// The series' line as SVG path data: a gap where a value is missing or
/// samples lie further apart than two and a half widths; a lone point
/// becomes a dot.
fn line(view: &HistoryView, i: usize, f: &Frame, ink: Ink) -> (String, Vec<(f64, f64)>) {
    let gap = u64::from(view.sample_width_s) * 5 / 2;
    let mut d = String::new();
    let mut dots = Vec::new();
    let mut run: Vec<(f64, f64)> = Vec::new();
    let mut last_t: Option<u64> = None;
    let p = ink.decimals;
    let mut flush = |run: &mut Vec<(f64, f64)>, d: &mut String| {
        match run.as_slice() {
            [] => {}
            [one] => dots.push(*one),
            [first, rest @ ..] => {
                let _ = write!(d, "M{:.p$} {:.p$}", first.0, first.1);
                for (x, y) in rest {
                    let _ = write!(d, "L{x:.p$} {y:.p$}");
                }
            }
        }
        run.clear();
    };
    for s in view.samples.iter().filter(|s| s.time_unix_s >= f.from) {
        let value = s.values.get(i).copied().flatten();
        let apart = last_t.is_some_and(|t| s.time_unix_s.saturating_sub(t) > gap);
        if value.is_none() || apart {
            flush(&mut run, &mut d);
        }
        if let Some(v) = value {
            let (x, y) = (f.x(s.time_unix_s), f.y(v));
            match run.last_mut() {
                // Up the screen is higher: the smaller y wins.
                Some(last) if x - last.0 < ink.step => last.1 = last.1.min(y),
                _ => run.push((x, y)),
            }
        }
        last_t = Some(s.time_unix_s);
    }
    flush(&mut run, &mut d);
    (d, dots)
}

/// The events of the span as marks across a plot: a line and a small
/// triangle, at the top for a failure and at the bottom for a start or a
/// recovery, so that a restart a moment after its failure still shows both.
fn marks(out: &mut String, events: &[PastEvent], f: &Frame) {
    for e in events.iter().filter(|e| e.time_unix_s >= f.from) {
        let Some(mark) = Mark::of(e.kind) else {
            continue;
        };
        let x = f.x(e.time_unix_s);
        let (top, bottom) = (f.y0, f.y0 + f.h);
        let tip = match mark {
            Mark::Failure => format!("M{:.1} {top:.1}l-4 -6h8z", x),
            Mark::Start | Mark::Recovery => format!("M{:.1} {bottom:.1}l-4 6h8z", x),
        };
        let _ = write!(
            out,
            "<g class=\"{}\" data-kind=\"{}\"><title>{} {}: {}</title>\
             <line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{top:.1}\" y2=\"{bottom:.1}\"/><path d=\"{tip}\"/></g>",
            mark.class(),
            e.kind.word(),
            escape(&date(e.time_unix_s)),
            escape(&e.event),
            escape(&e.description),
        );
    }
}

/// The seconds a chart of `view` spans up to `now`: the shortest of
/// [`SPANS_S`] that reaches its oldest sample or event of the last hour.
pub fn span(view: &HistoryView, now: u64) -> u64 {
    let hour = now.saturating_sub(SPAN_S);
    let oldest = view
        .samples
        .iter()
        .map(|s| s.time_unix_s)
        .chain(view.events.iter().map(|e| e.time_unix_s))
        .filter(|t| *t >= hour)
        .min()
        .unwrap_or(now);
    let need = now.saturating_sub(oldest);
    SPANS_S.into_iter().find(|s| *s >= need).unwrap_or(SPAN_S)
}

/// One chart: figure `i` of the view over the last `span` seconds.
pub fn chart(out: &mut String, view: &HistoryView, i: usize, now: u64, span: u64) {
    let Some(series) = view.series.get(i).copied() else {
        return;
    };
    let unit = series.unit();
    let from = now.saturating_sub(span);
    let recent = view.samples.iter().filter(|s| s.time_unix_s >= from);
    let max = recent
        .filter_map(|s| s.values.get(i).copied().flatten())
        .fold(0.0, f64::max);
    let f = Frame {
        x0: LEFT,
        y0: TOP,
        w: WIDTH - LEFT - 8.0,
        h: HEIGHT - TOP - BOTTOM,
        from,
        span,
        top: ceiling(unit, max),
    };
    let _ = write!(
        out,
        "<figure class=\"chart\" data-series=\"{key}\"><figcaption>{title}</figcaption>\
         <svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\" \
         aria-label=\"{title}, last {minutes} min\">",
        minutes = span / 60,
        key = series_key(series),
        title = series.title(),
    );
    axes(out, &f, unit);
    marks(out, &view.events, &f);
    let (d, dots) = line(view, i, &f, FINE);
    if !d.is_empty() {
        let _ = write!(out, "<path class=\"line\" d=\"{d}\"/>");
    }
    for (x, y) in dots {
        let _ = write!(
            out,
            "<circle class=\"dot\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\"/>"
        );
    }
    out.push_str("</svg></figure>");
}

/// The frame, three value labels and the time labels.
fn axes(out: &mut String, f: &Frame, unit: Unit) {
    let _ = write!(
        out,
        "<rect class=\"plot\" x=\"{}\" y=\"{}\" width=\"{:.1}\" height=\"{:.1}\"/>",
        f.x0, f.y0, f.w, f.h
    );
    for v in [0.0, f.top / 2.0, f.top] {
        let y = f.y(v);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            f.x0,
            f.x0 + f.w,
            f.x0 - 4.0,
            y + 4.0,
            escape(&value_text(unit, v)),
        );
    }
    for quarter in (0..=4u64).rev() {
        let back = f.span * quarter / 4;
        let x = f.x(f.from + f.span - back);
        let ago = if f.span < 600 {
            format!("{back} s")
        } else {
            format!("{} min", back / 60)
        };
        let (anchor, words) = match quarter {
            0 => ("end", "now".to_string()),
            4 => ("start", format!("{ago} ago")),
            _ => ("middle", ago),
        };
        let _ = write!(
            out,
            "<text class=\"label\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{words}</text>",
            f.y0 + f.h + 20.0
        );
    }
}

fn series_key(series: Series) -> &'static str {
    // Every series is a unit variant: it always has a name.
    warden_config::names::variant_name(&series).unwrap_or_default()
}

/// A small line of the view's first figure over the last hour, with its
/// failures marked; empty when the check has no figure to draw.
pub fn sparkline(out: &mut String, view: &HistoryView, now: u64) {
    let Some(series) = view.series.first().copied() else {
        return;
    };
    let (w, h) = (120.0, 24.0);
    let span = span(view, now);
    let from = now.saturating_sub(span);
    let max = view
        .samples
        .iter()
        .filter(|s| s.time_unix_s >= from)
        .filter_map(|s| s.values.first().copied().flatten())
        .fold(0.0, f64::max);
    let f = Frame {
        x0: 0.0,
        y0: 1.0,
        w,
        h: h - 2.0,
        from,
        span,
        top: ceiling(series.unit(), max),
    };
    let _ = write!(
        out,
        "<svg class=\"spark\" data-series=\"{}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"{} over the last {} min\">",
        series_key(series),
        series.title(),
        span / 60
    );
    for e in view.events.iter().filter(|e| e.time_unix_s >= from) {
        if let Some(mark) = Mark::of(e.kind).filter(|m| *m != Mark::Recovery) {
            let x = f.x(e.time_unix_s);
            let _ = write!(
                out,
                "<line class=\"{}\" x1=\"{x:.0}\" x2=\"{x:.0}\" y1=\"0\" y2=\"{h}\"/>",
                mark.class()
            );
        }
    }
    let (d, dots) = line(view, 0, &f, COARSE);
    if !d.is_empty() {
        let _ = write!(out, "<path class=\"line\" d=\"{d}\"/>");
    }
    for (x, y) in dots {
        let _ = write!(
            out,
            "<circle class=\"dot\" cx=\"{x:.0}\" cy=\"{y:.0}\" r=\"1.5\"/>"
        );
    }
    out.push_str("</svg>");
}

/// The event timeline, newest first: time, event, words, action taken.
pub fn timeline(out: &mut String, view: &HistoryView) {
    out.push_str("<h2>Events</h2>");
    if view.events.is_empty() {
        out.push_str("<p class=\"meta\" id=\"timeline\">No events since Warden started.</p>");
        return;
    }
    out.push_str(
        "<table id=\"timeline\"><thead><tr><th>Time</th><th>Event</th><th>Description</th>\
         <th>Action</th></tr></thead><tbody>",
    );
    for e in view.events.iter().rev() {
        let class = match Mark::of(e.kind) {
            Some(Mark::Failure) => "fail",
            Some(Mark::Start | Mark::Recovery) => "ok",
            None => "",
        };
        let _ = write!(
            out,
            "<tr data-kind=\"{}\"><td>{}</td><td class=\"{class}\">{}</td><td class=\"wrap\">{}</td><td>{}</td></tr>",
            e.kind.word(),
            escape(&date(e.time_unix_s)),
            escape(&e.event),
            escape(&e.description),
            escape(e.action.as_deref().unwrap_or("-")),
        );
    }
    out.push_str("</tbody></table>");
}

/// The service page's charts: one per figure, over the same span.
pub fn charts(out: &mut String, view: &HistoryView, now: u64) {
    if view.series.is_empty() {
        return;
    }
    let span = span(view, now);
    let _ = write!(
        out,
        "<h2>Last {}</h2><p class=\"meta\">One point per {} s (the largest value within it); \
         <span class=\"key failure\">failure</span> <span class=\"key start\">start</span> \
         <span class=\"key recovery\">recovery</span></p><div class=\"charts\">",
        if span >= SPAN_S {
            "hour".to_string()
        } else {
            format!("{} min", span / 60)
        },
        view.sample_width_s
    );
    for i in 0..view.series.len() {
        chart(out, view, i, now, span);
    }
    out.push_str("</div>");
}

/// How many samples the text shows (the newest).
const TEXT_SAMPLES: usize = 10;

/// `warden status NAME --history`: the events, oldest first, then the
/// newest samples as a table.
pub fn text(view: &HistoryView) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "History of '{}' ({})", view.name, view.kind);
    out.push_str("\nEvents:\n");
    if view.events.is_empty() {
        out.push_str("  none since Warden started\n");
    }
    for e in &view.events {
        let action = e
            .action
            .as_deref()
            .map(|a| format!(" [{a}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}  {:<24} {}{action}",
            date(e.time_unix_s),
            e.event,
            e.description
        );
    }
    if view.series.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nSamples (one per {} s, newest last):",
        view.sample_width_s
    );
    let _ = write!(out, "  {:<26}", "Time");
    for s in &view.series {
        let _ = write!(out, "{:>16}", s.title());
    }
    out.push('\n');
    if view.samples.is_empty() {
        out.push_str("  none yet\n");
    }
    let skip = view.samples.len().saturating_sub(TEXT_SAMPLES);
    for sample in view.samples.iter().skip(skip) {
        let _ = write!(out, "  {:<26}", date(sample.time_unix_s));
        for (s, v) in view.series.iter().zip(&sample.values) {
            let v = v.map_or("-".to_string(), |v| value_text(s.unit(), v));
            let _ = write!(out, "{v:>16}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_config::model::CheckType;
    use warden_engine::history::Sample;

    fn view() -> HistoryView {
        let mut v = HistoryView::empty(
            "a<b",
            CheckType::Process,
            &[Series::Cpu, Series::Memory],
            30,
        );
        for (t, cpu) in [
            (1000, Some(1.0)),
            (1030, Some(3.0)),
            (1060, None),
            (1090, Some(2.0)),
        ] {
            v.samples.push(Sample {
                time_unix_s: t,
                values: vec![cpu, Some(4096.0)],
            });
        }
        v.events.push(PastEvent {
            time_unix_s: 1050,
            kind: EventKind::DoesNotExist,
            event: "Does not exist".into(),
            description: "<script>gone</script>".into(),
            action: Some("restart".into()),
        });
        v.events.push(PastEvent {
            time_unix_s: 1055,
            kind: EventKind::ActionDone,
            event: "Action done".into(),
            description: "started".into(),
            action: None,
        });
        v
    }

    #[test]
    fn a_chart_breaks_its_line_at_a_missing_value_and_marks_the_events() {
        let mut out = String::new();
        assert_eq!(span(&view(), 1100), 120, "the shortest span that holds it");
        chart(&mut out, &view(), 0, 1100, 120);
        assert_eq!(out.matches("<path class=\"line\"").count(), 1, "{out}");
        assert_eq!(
            out.matches("<circle").count(),
            1,
            "the lone last point: {out}"
        );
        assert!(out.contains("<g class=\"mark failure\" data-kind=\"does_not_exist\">"));
        assert!(out.contains("<g class=\"mark start\" data-kind=\"action_done\">"));
        assert!(!out.contains("<script>"), "escaped: {out}");
    }

    #[test]
    fn the_timeline_lists_events_newest_first_escaped() {
        let mut out = String::new();
        timeline(&mut out, &view());
        let started = out.find("started").unwrap();
        let gone = out.find("&lt;script&gt;gone").unwrap();
        assert!(started < gone, "{out}");
        assert!(out.contains("<td>restart</td>"));
    }

    #[test]
    fn the_text_lists_events_and_samples_with_a_dash_for_the_unmeasured() {
        let out = text(&view());
        assert!(out.starts_with("History of 'a<b' (Process)"), "{out}");
        assert!(
            out.contains("Does not exist           <script>gone</script> [restart]"),
            "{out}"
        );
        let rows: Vec<&str> = out.lines().filter(|l| l.contains("4 kB")).collect();
        assert_eq!(rows.len(), 4, "{out}");
        assert!(rows[2].contains(" - "), "{out}");
    }

    /// A full hour of a process check with a port test: 60 samples (the
    /// most a check keeps), 20 events. The bytes are the README's page
    /// weight.
    fn full_hour() -> HistoryView {
        let series = [Series::ResponseTime, Series::Cpu, Series::Memory];
        let mut v = HistoryView::empty("web", CheckType::Process, &series, 60);
        for i in 0..60u64 {
            let wave = (i as f64 / 7.0).sin().abs();
            v.samples.push(Sample {
                time_unix_s: 10_000 + i * 60,
                values: vec![
                    Some(0.3 + wave),
                    Some(12.0 * wave),
                    Some(11.5e6 + wave * 1e6),
                ],
            });
        }
        for i in 0..20u64 {
            v.events.push(PastEvent {
                time_unix_s: 10_000 + i * 180,
                kind: if i % 2 == 0 {
                    EventKind::DoesNotExist
                } else {
                    EventKind::ActionDone
                },
                event: "Does not exist".into(),
                description: "process is not running".into(),
                action: Some("restart".into()),
            });
        }
        v
    }

    #[test]
    fn a_full_hour_stays_light() {
        let v = full_hour();
        let now = 10_000 + 3600;
        let (mut charts_html, mut timeline_html, mut spark) =
            (String::new(), String::new(), String::new());
        charts(&mut charts_html, &v, now);
        timeline(&mut timeline_html, &v);
        sparkline(&mut spark, &v, now);
        eprintln!(
            "a full hour: charts {} B, timeline {} B, sparkline {} B",
            charts_html.len(),
            timeline_html.len(),
            spark.len()
        );
        let quiet = HistoryView {
            events: Vec::new(),
            ..v.clone()
        };
        let mut calm = String::new();
        charts(&mut calm, &quiet, now);
        eprintln!("a full hour without events: charts {} B", calm.len());
        assert!(charts_html.len() < 24_000, "{}", charts_html.len());
        assert!(spark.len() < 2_000, "{}", spark.len());
        assert!(
            spark.matches('L').count() <= 40,
            "a point per 3 px at most: {spark}"
        );
    }

    #[test]
    fn axes_end_on_round_values() {
        let table = [
            (Unit::Percent, 73.0, 100.0),
            (Unit::Percent, 3.2, 5.0),
            (Unit::Milliseconds, 0.0, 1.0),
            (Unit::Milliseconds, 12.0, 20.0),
            (Unit::Bytes, 3.0 * 1024.0 * 1024.0, 5.0 * 1024.0 * 1024.0),
            (Unit::Number, 0.42, 0.5),
        ];
        for (unit, max, want) in table {
            assert_eq!(ceiling(unit, max), want, "{unit:?} {max}");
        }
    }

    #[test]
    fn values_read_in_their_unit() {
        assert_eq!(value_text(Unit::Bytes, 1_572_864.0), "1.5 MB");
        assert_eq!(value_text(Unit::Milliseconds, 2.0), "2 ms");
        assert_eq!(value_text(Unit::Number, 0.5), "0.50");
    }
}
