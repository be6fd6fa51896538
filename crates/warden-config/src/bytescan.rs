//! Finding one byte in a big text eight bytes a step (a whole-word test,
//! no dependency): the serial part of loading a control file (line starts,
//! the `include` pre-check) runs over every byte of it before the parse
//! threads start, so each instruction per byte there is on the wall clock.

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Calls `found` with the offset of every byte `b` of `bytes` for which
/// `b | fold == byte`, in order, until `found` returns false. `fold` 0x20
/// with a lower-case letter finds both cases.
pub(crate) fn each_byte(bytes: &[u8], byte: u8, fold: u8, mut found: impl FnMut(usize) -> bool) {
    let wanted = ONES * u64::from(byte);
    let folded = ONES * u64::from(fold);
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = (u64::from_ne_bytes(word) | folded) ^ wanted;
        // Some byte of `x` is zero (a match) only if this is non-zero; it
        // may flag a byte above a true match too, so the bytes are then
        // tested one by one.
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            for (i, &b) in chunk.iter().enumerate() {
                if b | fold == byte && !found(at + i) {
                    return;
                }
            }
        }
        at += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        if b | fold == byte && !found(at + i) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8], byte: u8, fold: u8) -> Vec<usize> {
        let mut out = Vec::new();
        each_byte(bytes, byte, fold, |i| {
            out.push(i);
            true
        });
        out
    }

    #[test]
    fn finds_every_match_in_and_after_whole_words() {
        let text = b"a\nbc\n\n0123456789abcdef\nxyz\n";
        let expected: Vec<usize> = (0..text.len()).filter(|&i| text[i] == b'\n').collect();
        assert_eq!(all(text, b'\n', 0), expected);
        assert_eq!(all(b"", b'\n', 0), Vec::<usize>::new());
        assert_eq!(
            all(b"\n\n\n\n\n\n\n\n\n", b'\n', 0),
            (0..9).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_fold_finds_both_cases_and_nothing_else() {
        let text = b"Include iI xx \x89 \xc9 yyyyyyyyI";
        let expected: Vec<usize> = (0..text.len())
            .filter(|&i| text[i] == b'i' || text[i] == b'I')
            .collect();
        assert_eq!(all(text, b'i', 0x20), expected);
    }

    #[test]
    fn stops_when_told() {
        let mut seen = 0;
        each_byte(b"aaaaaaaaaaaaaaaaaaa", b'a', 0, |_| {
            seen += 1;
            seen < 3
        });
        assert_eq!(seen, 3);
    }

    #[test]
    fn agrees_with_a_plain_search_on_every_byte_value() {
        let text: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        for byte in [0u8, b'\n', b'i', 0x7f, 0x80, 0xff] {
            let expected: Vec<usize> = (0..text.len()).filter(|&i| text[i] == byte).collect();
            assert_eq!(all(&text, byte, 0), expected, "{byte}");
        }
    }
}
