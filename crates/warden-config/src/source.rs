//! The expanded control text and the map from its offsets back to the files
//! (and lines and columns) they came from.

use std::path::{Path, PathBuf};

use crate::span::Span;

/// A file's bytes as text: checked in place when they are UTF-8 (the usual
/// case, no copy), else with each bad sequence replaced by U+FFFD.
pub fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// One file that contributed text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        // memchr's vector search, not `match_indices`: this runs over the
        // whole file before the parse starts.
        let mut line_starts = Vec::with_capacity(text.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self
            .line_starts
            .get(line - 1)
            .copied()
            .unwrap_or(self.text.len());
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&e| e - 1);
        self.text
            .get(start..end.max(start))
            .unwrap_or("")
            .trim_end_matches('\r')
    }
}

/// A run of the expanded text copied from one file.
#[derive(Debug, Clone, Copy)]
struct Segment {
    start: usize,
    len: usize,
    file: usize,
    file_offset: usize,
}

/// Where a byte of the expanded text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location<'a> {
    pub path: &'a Path,
    pub line: usize,
    pub column: usize,
    pub line_text: &'a str,
    /// Byte offset in that file.
    pub offset: usize,
}

/// The expanded text (includes inlined) and where each part came from.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
    segments: Vec<Segment>,
    expanded: String,
}

impl SourceMap {
    pub fn expanded(&self) -> &str {
        &self.expanded
    }

    /// Adds a file and returns its index; its text is not yet in the expansion.
    pub fn add_file(&mut self, path: PathBuf, text: String) -> usize {
        self.files.push(SourceFile::new(path, text));
        self.files.len() - 1
    }

    /// Appends `file[range]` to the expanded text.
    pub fn push_segment(&mut self, file: usize, range: std::ops::Range<usize>) {
        if range.is_empty() {
            return;
        }
        let text = &self.files[file].text[range.clone()];
        self.segments.push(Segment {
            start: self.expanded.len(),
            len: range.len(),
            file,
            file_offset: range.start,
        });
        self.expanded.push_str(text);
    }

    /// Appends text that belongs to no file (a separator between includes).
    pub fn push_synthetic(&mut self, text: &str) {
        self.expanded.push_str(text);
    }

    /// The file and position of an expanded offset. Synthetic text maps to
    /// the end of the segment before it.
    pub fn locate(&self, offset: usize) -> Option<Location<'_>> {
        let idx = self.segments.partition_point(|s| s.start <= offset);
        let seg = if idx == 0 {
            self.segments.first()?
        } else {
            &self.segments[idx - 1]
        };
        let within = offset.saturating_sub(seg.start).min(seg.len);
        let file = &self.files[seg.file];
        let file_offset = seg.file_offset + within;
        let (line, column) = file.line_col(file_offset);
        Some(Location {
            path: &file.path,
            line,
            column,
            line_text: file.line_text(line),
            offset: file_offset,
        })
    }

    /// The expanded text under a span.
    pub fn text(&self, span: Span) -> &str {
        self.expanded.get(span.start..span.end).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_back_to_their_file_line_and_column() {
        let mut map = SourceMap::default();
        let a = map.add_file("a".into(), "one\ninclude b\nthree\n".into());
        let b = map.add_file("b".into(), "bee\nsecond\n".into());
        map.push_segment(a, 0..4);
        map.push_segment(b, 0..11);
        map.push_synthetic("\n");
        map.push_segment(a, 14..20);
        assert_eq!(map.expanded(), "one\nbee\nsecond\n\nthree\n");
        let loc = map.locate(9).unwrap();
        assert_eq!((loc.path, loc.line, loc.column), (Path::new("b"), 2, 2));
        assert_eq!(loc.line_text, "second");
        let loc = map.locate(17).unwrap();
        assert_eq!((loc.path, loc.line, loc.column), (Path::new("a"), 3, 2));
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        assert_eq!(text_of(b"set \xff x".to_vec()), "set \u{fffd} x");
        assert_eq!(text_of("é ok".as_bytes().to_vec()), "é ok");
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let f = SourceFile::new("x".into(), "«é» x".into());
        assert_eq!(f.line_col(7), (1, 5));
    }
}
