//! Where a quote was left open. Strings may span lines in Monit's language,
//! so a quote that is never closed swallows the lines after it and the
//! parse fails somewhere later; the syntax error then gets a note at the
//! quote that opened the first string to run over a line break.

/// The offset of the opening quote of the first string that opens before
/// `before` (or at it) and runs over a line break or to the end of the text.
/// Quotes are read as the grammar reads them: not in `#` comments, not in
/// the free text of a `mail-format { ... }` block, `\` escaping the next
/// character inside a string.
pub fn multiline_string_before(text: &str, before: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() && i <= before {
        match bytes[i] {
            b'#' => i = line_end(bytes, i),
            b'"' | b'\'' => {
                let (end, closed) = string_end(bytes, i);
                let body = &bytes[i..end];
                if !closed || body.contains(&b'\n') {
                    return Some(i);
                }
                i = end;
            }
            b'{' if after_mail_format(&text[..i]) => {
                // The body of a mail format is free text up to `}`.
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .map_or(bytes.len(), |p| i + p + 1);
            }
            _ => i += 1,
        }
    }
    None
}

fn line_end(bytes: &[u8], from: usize) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| from + p)
}

/// Just past the quote that closes the one at `open`, and whether there is
/// one (else the end of the text).
fn string_end(bytes: &[u8], open: usize) -> (usize, bool) {
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b if b == quote => return (i + 1, true),
            _ => i += 1,
        }
    }
    (bytes.len(), false)
}

/// Whether `before` ends with the word `mail-format` (and blanks).
fn after_mail_format(before: &str) -> bool {
    let trimmed = before.trim_end();
    trimmed.len() >= 11
        && trimmed
            .get(trimmed.len() - 11..)
            .is_some_and(|w| w.eq_ignore_ascii_case("mail-format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_left_open_is_found_where_it_opens() {
        let text = "check process a with pidfile /run/a.pid\n  start program = \"/bin/a\n  stop program = \"/bin/b\"\n";
        let open = text.find("\"/bin/a").unwrap();
        assert_eq!(multiline_string_before(text, text.len()), Some(open));
    }

    #[test]
    fn strings_closed_on_their_line_comments_and_mail_formats_are_not() {
        let text = "set alert a@b.c # it's mine\nset mail-format { message: it's \"down\n }\ncheck system s\n  start program = \"/bin/x 'y'\"\n";
        assert_eq!(multiline_string_before(text, text.len()), None);
    }

    #[test]
    fn a_string_after_the_error_is_not_the_cause() {
        let text = "set daemon x\nset alert \"a\nb\"\n";
        assert_eq!(multiline_string_before(text, 11), None);
        assert_eq!(multiline_string_before(text, text.len()), Some(23));
    }

    #[test]
    fn an_escaped_quote_does_not_close_a_string() {
        let text = "start program = \"/bin/sh -c \\\"x\\\"\"\nstop \"\n";
        assert_eq!(multiline_string_before(text, text.len()), text.rfind('"'));
    }
}
