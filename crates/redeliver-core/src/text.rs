//! Text from the network (error messages, bodies, event names) made safe to show on one line:
//! control characters become spaces, and long text is cut on a character boundary.

/// `text` with every control character (line feeds included) turned into a space, so that it
/// stays on the line it is shown on.
pub fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// At most `max` characters of `text`, cut on a character boundary and marked with `…`.
pub fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(one_line("line one\nline two\r\tend"), "line one line two  end");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(excerpt("héllo wörld", 4), "héll…");
        assert_eq!(excerpt("short", 5), "short");
        assert_eq!(excerpt("", 0), "");
    }
}
