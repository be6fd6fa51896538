//! Cuts the expanded control text into runs of whole top-level statements,
//! so that each run can be parsed on its own (and on its own core).
//!
//! A cut is made only before `check` or `set` standing first on a line,
//! outside quotes, comments and `{ ... }` blocks. The grammar never lets a
//! value swallow such a word at the end of a statement (see
//! `settings_boundary` and `item_start`), so when every run parses on its
//! own, the runs together mean what the whole text means. A cut in the wrong
//! place (a quote this scan misread) makes a run fail to parse, and the
//! caller then parses the whole text instead: a wrong cut costs time, never
//! meaning or diagnostics.

use std::ops::Range;

/// The runs of `text`, in order, covering it without gaps; every run but
/// the first starts with `check` or `set`.
pub fn statement_runs(text: &str) -> Vec<Range<usize>> {
    let starts = statement_starts(text);
    let mut runs = Vec::with_capacity(starts.len() + 1);
    let mut from = 0;
    for start in starts.into_iter().filter(|&s| s > 0) {
        runs.push(from..start);
        from = start;
    }
    runs.push(from..text.len());
    runs
}

/// Bytes that change what the scan is in: a line end, a quote, a comment,
/// a brace. Everything else is passed over in one table test a byte (the
/// scan runs over the whole file before the parse threads start).
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'\n' as usize] = true;
    table[b'"' as usize] = true;
    table[b'\'' as usize] = true;
    table[b'#' as usize] = true;
    table[b'{' as usize] = true;
    table[b'}' as usize] = true;
    table
};

/// Offsets of `check` and `set` words that start a line at the top level.
fn statement_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let mut i = line_start(text, 0, &mut starts);
    while i < bytes.len() {
        i = match bytes[i] {
            b'\n' => line_start(text, i + 1, &mut starts),
            b'#' => skip_to(bytes, i + 1, b'\n'),
            b'"' | b'\'' => end_of_quote(bytes, i),
            // Inside a block only braces count: a mail-format body is free
            // text where quotes and '#' mean nothing.
            b'{' => end_of_block(bytes, i + 1),
            _ => next_special(bytes, i + 1),
        };
    }
    starts
}

/// Past the blanks at `from` (the start of a line): records a `check` or
/// `set` standing there, and returns where the scan goes on.
fn line_start(text: &str, from: usize, starts: &mut Vec<usize>) -> usize {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    if i < bytes.len() && is_word(bytes[i]) {
        let end = word_end(bytes, i);
        let word = &text[i..end];
        if word.eq_ignore_ascii_case("check") || word.eq_ignore_ascii_case("set") {
            starts.push(i);
        }
        return next_special(bytes, end);
    }
    i
}

/// The first special byte at or after `from`, or the end.
fn next_special(bytes: &[u8], from: usize) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| SPECIAL[usize::from(b)]))
        .map_or(bytes.len(), |p| from + p)
}

/// Just past the `}` that closes a block opened before `from`.
fn end_of_block(bytes: &[u8], from: usize) -> usize {
    let mut depth = 1usize;
    for (i, &b) in bytes.iter().enumerate().skip(from) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    bytes.len()
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b'/') || c >= 0x80
}

fn word_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| !is_word(b))
        .map_or(bytes.len(), |p| from + p)
}

fn skip_to(bytes: &[u8], from: usize, stop: u8) -> usize {
    bytes[from.min(bytes.len())..]
        .iter()
        .position(|&b| b == stop)
        .map_or(bytes.len(), |p| from + p)
}

/// Just past the quote that closes the one at `open` (a backslash escapes
/// the next character, as in the grammar's strings).
fn end_of_quote(bytes: &[u8], open: usize) -> usize {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        statement_runs(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn runs_cover_the_text_and_start_at_each_statement() {
        let text = "# head\nset daemon 5\ncheck host a address x\n  if failed port 1 then alert\nSET log syslog\n";
        assert_eq!(
            pieces(text),
            [
                "# head\n",
                "set daemon 5\n",
                "check host a address x\n  if failed port 1 then alert\n",
                "SET log syslog\n"
            ]
        );
    }

    #[test]
    fn check_and_set_inside_strings_comments_and_blocks_do_not_cut() {
        let text = "check process a matching \"x\ncheck y\"\n  # check\n  start program = '/bin/a\nset b'\n\
                    set mail-format {\n message: it's down\ncheck it\n}\nset alert \"x\\\"\ncheck\" \n";
        assert_eq!(
            pieces(text),
            [
                "check process a matching \"x\ncheck y\"\n  # check\n  start program = '/bin/a\nset b'\n",
                "set mail-format {\n message: it's down\ncheck it\n}\n",
                "set alert \"x\\\"\ncheck\" \n",
            ]
        );
    }

    #[test]
    fn only_a_word_first_on_its_line_cuts() {
        let text =
            "check host a address x group check\n  checks\ncheck-x\n\tcheck host b address y\n";
        assert_eq!(
            pieces(text),
            [
                "check host a address x group check\n  checks\ncheck-x\n\t",
                "check host b address y\n"
            ]
        );
    }

    #[test]
    fn crlf_line_ends_still_cut() {
        let text = "set daemon 5\r\ncheck system s\r\n";
        assert_eq!(pieces(text), ["set daemon 5\r\n", "check system s\r\n"]);
    }

    // The scan before the table search (one branch a byte), kept as the
    // reference the faster scan must agree with.
    /// What the scan is inside of.
    #[derive(Clone, Copy, PartialEq)]
    enum Scan {
        /// Only blanks since the last newline (or the start of the text).
        LineStart,
        Elsewhere,
    }

    /// Offsets of `check` and `set` words that start a line at the top level.
    fn reference_starts(text: &str) -> Vec<usize> {
        let bytes = text.as_bytes();
        let mut starts = Vec::new();
        let mut depth = 0usize;
        let mut scan = Scan::LineStart;
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'\n' {
                scan = Scan::LineStart;
                i += 1;
                continue;
            }
            if matches!(c, b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
                i += 1;
                continue;
            }
            // Inside a block only braces count: a mail-format body is free text
            // where quotes and '#' mean nothing.
            if depth > 0 {
                depth = match c {
                    b'{' => depth + 1,
                    b'}' => depth - 1,
                    _ => depth,
                };
                scan = Scan::Elsewhere;
                i += 1;
                continue;
            }
            i = match c {
                b'#' => skip_to(bytes, i + 1, b'\n'),
                b'"' | b'\'' => end_of_quote(bytes, i),
                b'{' => {
                    depth = 1;
                    i + 1
                }
                c if is_word(c) => {
                    let end = word_end(bytes, i);
                    let word = &text[i..end];
                    if scan == Scan::LineStart
                        && (word.eq_ignore_ascii_case("check") || word.eq_ignore_ascii_case("set"))
                    {
                        starts.push(i);
                    }
                    end
                }
                _ => i + 1,
            };
            scan = Scan::Elsewhere;
        }
        starts
    }

    proptest::proptest! {
        #[test]
        fn the_scan_agrees_with_the_byte_by_byte_reference(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "check", "CHECK", "set", "Set", "checks", "\n", " ", "\t", "\r\n", "#", "\"",
                "'", "\\", "{", "}", "x", "é", "-", "/", ".", "=", "process a", "\n  ",
            ]), 0..60)
        ) {
            let text: String = parts.concat();
            proptest::prop_assert_eq!(statement_starts(&text), reference_starts(&text), "{:?}", text);
        }
    }

    #[test]
    fn a_text_without_statements_is_one_run() {
        assert_eq!(pieces(""), [""]);
        assert_eq!(pieces("# nothing\n"), ["# nothing\n"]);
    }
}
