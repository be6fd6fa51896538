//! Parsing and lowering a big control text on every core and in bounded
//! pieces: the text is cut at statement boundaries (see `split.rs`) into
//! pieces of at most `PIECE_MAX` bytes, shared out in order among the
//! threads. pest keeps a token queue of about 36 bytes per byte of text
//! while a piece is lowered (2.6 MB for 1,000 checks parsed whole, the
//! daemon's peak memory), so a piece's size bounds it. Any
//! piece that does not parse makes the whole attempt give up (None): the
//! caller then parses the whole text, so syntax errors are reported exactly
//! as a whole-text parse reports them.

use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};

use super::check;
use super::common::at_offset;
use super::context::LowerContext;
use super::statements::lower_into;
use crate::diag::Diagnostic;
use crate::grammar::parse_quietly;
use crate::grammar_rule::Rule;
use crate::model::{Check, Config};

/// At most this many threads, whatever the machine has.
const MAX_THREADS: usize = 16;

/// Texts above this are parsed in pieces, on one thread or more.
pub(crate) const PIECE_MAX: usize = 16 * 1024;

/// One statement as a worker left it.
enum Item {
    /// A check, lowered where it was parsed, with its diagnostics.
    Check(Option<Box<Check>>, Vec<Diagnostic>),
    /// A `set` statement: settings are lowered in file order on the
    /// caller's thread, so it is parsed again there, alone.
    Set(Range<usize>),
}

/// How many threads to parse `text` on: one below `PARALLEL_FROM` bytes.
pub(crate) fn threads_for(text: &str) -> usize {
    /// Starting threads costs more than it saves below this.
    const PARALLEL_FROM: usize = 128 * 1024;
    if text.len() < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_THREADS)
}

/// The config of `text` parsed in `threads` pieces cut at statement
/// boundaries, with the lowering diagnostics added to `cx`; or None (and
/// `cx` untouched) when some piece does not parse on its own.
pub(crate) fn lower_runs(text: &str, threads: usize, cx: &mut LowerContext) -> Option<Config> {
    let runs = crate::split::statement_runs(text);
    let threads = threads.max(1);
    let pieces = pieces(&runs, text.len().div_ceil(threads).min(PIECE_MAX));
    let failed = AtomicBool::new(false);
    // Each thread takes a consecutive share of the pieces, so the items
    // come back in file order.
    let share = pieces.len().div_ceil(threads).max(1);
    let lower_share = |share: &[Range<usize>]| {
        let mut all = Vec::new();
        for piece in share {
            all.extend(lower_piece(text, piece.clone(), &failed)?);
        }
        Some(all)
    };
    let items = if threads == 1 {
        lower_share(&pieces)?
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = pieces
                .chunks(share)
                .map(|s| scope.spawn(|| lower_share(s)))
                .collect();
            let mut all = Vec::new();
            for worker in workers {
                all.extend(worker.join().ok()??);
            }
            Some(all)
        })?
    };
    let mut config = Config::default();
    for item in items {
        match item {
            Item::Check(check, diagnostics) => {
                config.checks.extend(check.map(|c| *c));
                cx.diagnostics.extend(diagnostics);
            }
            Item::Set(range) => {
                let pairs = parse_quietly(&text[range.clone()])?;
                at_offset(range.start, || lower_into(pairs, &mut config, cx));
            }
        }
    }
    Some(config)
}

/// Consecutive runs joined into pieces of about `size` bytes each.
fn pieces(runs: &[Range<usize>], size: usize) -> Vec<Range<usize>> {
    let mut pieces: Vec<Range<usize>> = Vec::new();
    for run in runs {
        match pieces.last_mut() {
            Some(last) if last.end - last.start < size => last.end = run.end,
            _ => pieces.push(run.clone()),
        }
    }
    pieces
}

/// Parses one piece and lowers its checks; None when it does not parse
/// (or another piece did not).
fn lower_piece(text: &str, piece: Range<usize>, failed: &AtomicBool) -> Option<Vec<Item>> {
    if failed.load(Ordering::Relaxed) {
        return None;
    }
    let Some(mut pairs) = parse_quietly(&text[piece.clone()]) else {
        failed.store(true, Ordering::Relaxed);
        return None;
    };
    let statements = pairs.next()?.into_inner();
    let base = piece.start;
    let items = statements.filter_map(|statement| match statement.as_rule() {
        Rule::set_statement => {
            let s = statement.as_span();
            Some(Item::Set(base + s.start()..base + s.end()))
        }
        Rule::check_statement => {
            let mut cx = LowerContext::default();
            let check = at_offset(base, || check::lower_check(statement, &mut cx)).map(Box::new);
            Some(Item::Check(check, cx.diagnostics))
        }
        _ => None,
    });
    Some(items.collect())
}
