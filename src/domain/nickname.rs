//! A player's nickname: 1–24 code points after trimming, no control characters, no bidi overrides.

use super::text::{code_points, is_bidi_control, trimmed};

pub const MAX_NICKNAME_CHARS: usize = 24;

/// A valid nickname. Once built it is trimmed and within the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nickname(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NicknameError {
    #[error("the nickname is empty")]
    Empty,
    #[error("the nickname is longer than {MAX_NICKNAME_CHARS} characters")]
    TooLong,
    #[error("the nickname contains control or direction-override characters")]
    ForbiddenCharacter,
}

impl Nickname {
    pub fn parse(raw: &str) -> Result<Self, NicknameError> {
        let name = trimmed(raw);
        if name.is_empty() {
            return Err(NicknameError::Empty);
        }
        if code_points(name) > MAX_NICKNAME_CHARS {
            return Err(NicknameError::TooLong);
        }
        if name.chars().any(|c| c.is_control() || is_bidi_control(c)) {
            return Err(NicknameError::ForbiddenCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    /// The form compared for uniqueness in a room: "Ann" and "ANN" are the same player name.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a nickname that was valid when stored (crash recovery); skips no rule.
    pub fn restore(stored: &str) -> Result<Self, NicknameError> {
        Self::parse(stored)
    }
}

impl AsRef<str> for Nickname {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_every_script_and_emoji() {
        assert_eq!(Nickname::parse("  Bob  ").map(|n| n.0), Ok("Bob".into()));
        for name in ["🦀 crab", "שלום", "مرحبا", "日本語", "Zoë"] {
            assert_eq!(
                Nickname::parse(name).map(|n| n.0),
                Ok(name.into()),
                "{name}"
            );
        }
    }

    #[test]
    fn length_counts_code_points_after_trimming() {
        assert!(Nickname::parse(&"n".repeat(24)).is_ok());
        assert!(Nickname::parse(&format!("  {}  ", "n".repeat(24))).is_ok());
        assert_eq!(
            Nickname::parse(&"n".repeat(25)),
            Err(NicknameError::TooLong)
        );
        assert!(Nickname::parse(&"🦀".repeat(24)).is_ok());
        assert_eq!(Nickname::parse(""), Err(NicknameError::Empty));
        assert_eq!(Nickname::parse(" \t\u{3000} "), Err(NicknameError::Empty));
    }

    #[test]
    fn rejects_control_and_bidi_override_characters() {
        for bad in [
            "bell\u{7}",
            "a\u{0}b",
            "x\u{202E}y",
            "x\u{2066}y",
            "a\u{85}b",
        ] {
            assert_eq!(
                Nickname::parse(bad),
                Err(NicknameError::ForbiddenCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn key_ignores_case() {
        let a = Nickname::parse("Alice").map(|n| n.key());
        let b = Nickname::parse("  aLiCe ").map(|n| n.key());
        assert_eq!(a, b);
        assert_eq!(
            Nickname::parse("ÉLODIE").map(|n| n.key()),
            Nickname::parse("élodie").map(|n| n.key())
        );
    }
}
