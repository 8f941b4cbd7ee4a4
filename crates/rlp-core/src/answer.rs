//! Final answers of convergent-answer tasks (the `arith` task's gold scorer and the answer-
//! equivalence clusterer of RLP-SPG read them the same way).
//!
//! A response states its answer on a line `The answer is N.`. [`final_answer`] returns the
//! integer of the **first** match of the pattern `The answer is (-?[0-9]+)\.` whose period is
//! followed by whitespace or the end of the text — what a leftmost regular-expression search
//! finds — so a decimal (`The answer is 3.5.`) or a missing period is not an answer, and text
//! after the first answer line cannot change it. A match whose digits overflow `i64` is no
//! answer (`None`), never a panic.

/// The phrase an answer line starts with.
pub const ANSWER_PREFIX: &str = "The answer is ";

/// The answer line for `n`: `"The answer is {n}."`.
pub fn answer_line(n: i64) -> String {
    format!("{ANSWER_PREFIX}{n}.")
}

/// The text of the first match of `The answer is (-?[0-9]+)\.(\s|$)`'s group, as a slice of
/// `text`, or `None` when nothing matches.
pub fn final_answer_text(text: &str) -> Option<&str> {
    let mut from = 0;
    while let Some(found) = text[from..].find(ANSWER_PREFIX) {
        let start = from + found + ANSWER_PREFIX.len();
        if let Some(number) = number_then_period(&text[start..]) {
            return Some(number);
        }
        // No match starts here; a later occurrence of the prefix may still match (the prefix
        // cannot overlap itself, so resuming after this one's first byte misses nothing).
        from = from + found + 1;
    }
    None
}

/// The integer answer of `text` ([`final_answer_text`] parsed as `i64`); `None` when there is
/// no answer line or its number does not fit in `i64`.
pub fn final_answer(text: &str) -> Option<i64> {
    final_answer_text(text)?.parse().ok()
}

/// `-?[0-9]+` at the start of `rest`, when a period follows it and whitespace or the end of the
/// text follows the period.
fn number_then_period(rest: &str) -> Option<&str> {
    let bytes = rest.as_bytes();
    let sign = usize::from(bytes.first() == Some(&b'-'));
    let digits = bytes[sign..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let end = sign + digits;
    if bytes.get(end) != Some(&b'.') {
        return None;
    }
    // The byte after the period starts a character; `str::chars` decides whether it is
    // whitespace (Unicode whitespace, as `\s` matches).
    match rest[end + 1..].chars().next() {
        None => Some(&rest[..end]),
        Some(c) if c.is_whitespace() => Some(&rest[..end]),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_edge_cases() {
        // A worked solution.
        assert_eq!(
            final_answer("7 + 5 = 12. 12 - 3 = 9.\nThe answer is 9."),
            Some(9)
        );
        // Several answer lines: the first one counts.
        assert_eq!(final_answer("The answer is 4.\nThe answer is 5."), Some(4));
        // A missing period is no answer, but a later well-formed line is.
        assert_eq!(final_answer("The answer is 4"), None);
        assert_eq!(final_answer("The answer is 4\nThe answer is 6."), Some(6));
        // A decimal is not an integer answer; the search goes on past it.
        assert_eq!(final_answer("The answer is 3.5."), None);
        assert_eq!(final_answer("The answer is 3.5. The answer is 4."), Some(4));
        // Negative numbers, leading zeros, whitespace after the period.
        assert_eq!(final_answer("The answer is -12.\n"), Some(-12));
        assert_eq!(final_answer("The answer is 007.\tdone"), Some(7));
        // A huge number matches but does not fit: wrong, and the search stops there.
        assert_eq!(
            final_answer("The answer is 99999999999999999999. The answer is 1."),
            None
        );
        assert_eq!(
            final_answer_text("The answer is 99999999999999999999."),
            Some("99999999999999999999")
        );
        assert_eq!(
            final_answer("The answer is -9223372036854775808."),
            Some(i64::MIN)
        );
        assert_eq!(final_answer("The answer is 9223372036854775808."), None);
        // Empty text, no number, a lone sign, case matters, no space before the number.
        assert_eq!(final_answer(""), None);
        assert_eq!(final_answer("The answer is ."), None);
        assert_eq!(final_answer("The answer is -."), None);
        assert_eq!(final_answer("the answer is 3."), None);
        assert_eq!(final_answer("The answer is3."), None);
        // A non-ASCII character right after the period is not whitespace; after a number that
        // ends the text a non-breaking space is (Unicode whitespace).
        assert_eq!(final_answer("The answer is 3.é"), None);
        assert_eq!(final_answer("The answer is 3.\u{a0}"), Some(3));
        assert_eq!(answer_line(-4), "The answer is -4.");
    }

    proptest! {
        /// Any text without the prefix, then the answer line of any `i64`, then anything that
        /// starts with whitespace: the answer is that number.
        #[test]
        fn an_answer_line_is_read_back(
            before in "[a-z0-9 .\n]{0,40}",
            n in any::<i64>(),
            after in "(\\s[ -~]{0,20})?",
        ) {
            let text = format!("{before}{}{after}", answer_line(n));
            prop_assert_eq!(final_answer(&text), Some(n));
        }

        /// Arbitrary text never panics.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}", tail in "(The answer is -?[0-9]{0,25}[.]?.?)?") {
            let _ = final_answer(&format!("{text}{tail}"));
        }
    }
}
