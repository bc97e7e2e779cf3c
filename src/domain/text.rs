//! Text rules shared by quiz validation and nicknames: trimming and lengths in code points.

/// Trims Unicode white space (the `White_Space` property) at both ends, as PROTOCOL.md rule 21
/// asks. `str::trim` uses exactly that property.
pub fn trimmed(raw: &str) -> &str {
    raw.trim()
}

/// Length in Unicode code points (rule 8), not bytes or graphemes.
pub fn code_points(s: &str) -> usize {
    s.chars().count()
}

/// Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069): they can make a name
/// render as something else, so nicknames reject them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trimming_removes_unicode_white_space() {
        assert_eq!(trimmed("\u{3000} Ann\u{00A0}\n"), "Ann");
        assert_eq!(trimmed("  "), "");
    }

    #[test]
    fn lengths_count_code_points() {
        assert_eq!(code_points("Zoë"), 3);
        assert_eq!(code_points("🦀🦀"), 2);
        assert_eq!(code_points("שלום"), 4);
    }

    #[test]
    fn bidi_controls_are_recognised() {
        assert!(is_bidi_control('\u{202E}'));
        assert!(is_bidi_control('\u{2067}'));
        assert!(!is_bidi_control('\u{200F}'));
    }
}
