//! A string that must never be printed: private keys, tokens, JWTs.

use std::fmt;

/// Holds a secret. `Debug` and `Display` print `[redacted]`; read it only with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret's text, for the one place that must send or parse it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn never_formats_its_value() {
        let s = Secret::new("ghp_very_secret");
        assert!(!format!("{s:?} {s} {s:#?}").contains("very_secret"));
        assert_eq!(s.expose(), "ghp_very_secret");
    }
}
