//! A config file's mistakes in words a person can act on: where (file, line, column, the target
//! and the key), what was expected and how to write it. Never the value: a value can be a token
//! or a private key, so neither toml's own rendering (which quotes the offending line) nor
//! serde's messages (which quote the unexpected value) are printed as they are.

use crate::exit::Failure;
use serde_path_to_error::Segment;
use std::path::Path;

/// A TOML syntax error: line, column, toml's description and the key on that line, if any.
pub fn syntax(path: &Path, text: &str, e: &toml::de::Error) -> Failure {
    let at = e.span().map_or(0, |s| s.start);
    let key = key_on_line(text, at).map(|k| format!(" (on the line that sets `{k}`)")).unwrap_or_default();
    Failure::config(format!("{}: not valid TOML: {}{key}", location(path, text, at), e.message()))
}

/// A well-formed file that does not fit the model: an unknown key, a wrong type, a bad value.
pub fn semantic(path: &Path, text: &str, e: &serde_path_to_error::Error<toml::de::Error>) -> Failure {
    let segments: Vec<&Segment> = e.path().iter().collect();
    let (place, rest) = place(text, &segments);
    let key = rest.iter().rev().find_map(|s| match s {
        Segment::Map { key } => Some(key.as_str()),
        _ => None,
    });
    let in_list = matches!(rest.last(), Some(Segment::Seq { .. }));
    let what = describe(e.inner().message(), key, in_list, &place);
    let at = e.inner().span().map_or(0, |s| s.start);
    Failure::config(format!("{}: {place}: {what}", location(path, text, at)))
}

/// `FILE:LINE:COLUMN`, both 1-based, as compilers print them.
fn location(path: &Path, text: &str, at: usize) -> String {
    let before = before(text, at);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("{}:{line}:{column}", path.display())
}

/// The text before byte `at`, cut at a character boundary (a span is never trusted to be one).
fn before(text: &str, at: usize) -> &str {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    &text[..at]
}

/// The bare key a line assigns (`token = …` gives `token`), if it has a well-formed one and the
/// line really is an assignment: when everything above it parses, the line is not the inside of
/// a multi-line string, such as a PEM key whose base64 line ends in `==`.
fn key_on_line(text: &str, at: usize) -> Option<&str> {
    let start = before(text, at).rfind('\n').map_or(0, |i| i + 1);
    text[..start].parse::<toml::Table>().ok()?;
    let line = text[start..].split('\n').next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    (!key.is_empty() && key.chars().all(bare)).then_some(key)
}

/// Which table the path points into (`top level`, `[defaults]`, `target "name"`) and the rest
/// of the path inside it. A target is named by its `name` when it has one.
fn place<'a>(text: &str, segments: &'a [&'a Segment]) -> (String, &'a [&'a Segment]) {
    match segments {
        [Segment::Map { key }, Segment::Seq { index }, rest @ ..] if key == "target" => {
            (target_name(text, *index).unwrap_or_else(|| format!("target #{}", index + 1)), rest)
        }
        [Segment::Map { key }, rest @ ..] if key == "defaults" && !rest.is_empty() => ("[defaults]".into(), rest),
        _ => ("top level".into(), segments),
    }
}

fn target_name(text: &str, index: usize) -> Option<String> {
    let table: toml::Table = text.parse().ok()?;
    let name = table.get("target")?.as_array()?.get(index)?.get("name")?.as_str()?;
    Some(format!("target \"{name}\""))
}

/// serde's message, rewritten without the value it may quote.
fn describe(message: &str, key: Option<&str>, in_list: bool, place: &str) -> String {
    let key = key.unwrap_or("the value");
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let names = backticked(rest);
        let Some((unknown, known)) = names.split_first() else { return redact(message) };
        let hint = suggest(unknown, known).map(|k| format!(", did you mean `{k}`?")).unwrap_or_default();
        return format!("unknown key `{unknown}`{hint} (known keys: {})", known.join(", "));
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let missing = backticked(rest).into_iter().next().unwrap_or_default();
        if missing == "name" {
            return "no `name`: give each target a unique name".into();
        }
        return format!("missing key `{missing}`");
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let found = rest.split(['`', '"', ',']).next().unwrap_or("").trim();
        let expected = rest.rsplit_once("expected ").map_or("", |(_, e)| e);
        let (wanted, fix) = expectation(expected, key, place);
        let found = match found {
            "string" => "a string",
            "integer" => "a number",
            "floating point" => "a decimal number",
            "boolean" => "a boolean",
            "sequence" => "an array",
            "map" => "a table",
            other => other,
        };
        let subject = if in_list { format!("each item of `{key}`") } else { format!("`{key}`") };
        let (wanted, fix) =
            if in_list { ("a string".to_string(), format!(": write {key} = [\"…\"]")) } else { (wanted, fix) };
        return format!("{subject} must be {wanted}, not {found}{fix}");
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = rest.rsplit_once("expected ").map_or("", |(_, e)| e);
        let (wanted, fix) = expectation(expected, key, place);
        return format!("`{key}` must be {wanted}{fix}");
    }
    // Our own parsers' messages (durations, pace, ranges) never quote the value; anything
    // else is redacted, to be sure.
    format!("`{key}`: {}", redact(message))
}

/// What serde's `expected …` means in TOML words, and how to write it.
fn expectation(expected: &str, key: &str, place: &str) -> (String, String) {
    let (wanted, fix) = expectation_words(expected, key, place);
    (wanted.unwrap_or(expected).to_string(), fix)
}

fn expectation_words(expected: &str, key: &str, place: &str) -> (Option<&'static str>, String) {
    match expected {
        "a string" | "path string" | "variant identifier" => {
            (Some("a string"), format!(": write {key} = \"…\", in quotes"))
        }
        "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" => {
            (Some("a whole number"), format!(": write {key} = 42, without quotes"))
        }
        "a number or a string" => (Some("a number or a string"), format!(": write {key} = 123456")),
        "a sequence" if key == "target" && place == "top level" => {
            (Some("an array of tables"), ": write each target as a [[target]] table".into())
        }
        "a sequence" => (Some("a list of strings"), format!(": write {key} = [\"…\", \"…\"]")),
        e if e.starts_with("struct ") || e == "a map" => {
            (Some("a table"), format!(": write [{key}] on a line of its own, its keys below it"))
        }
        "a boolean" => (Some("true or false"), format!(": write {key} = true")),
        _ => (None, String::new()),
    }
}

/// The words between backticks, in order.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Everything between backticks or double quotes replaced by `…`.
fn redact(message: &str) -> String {
    let mut out = String::new();
    let mut quote = None;
    for c in message.chars() {
        match (quote, c) {
            (None, '`' | '"') => {
                quote = Some(c);
                out.push(c);
                out.push('…');
            }
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out
}

/// The known key closest to a mistyped one: at most two edits away, or the same once `_` and
/// `-` are dropped (`hookid` → `hook_id`).
fn suggest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let squash = |s: &str| s.chars().filter(|c| !matches!(c, '_' | '-')).collect::<String>().to_lowercase();
    known
        .iter()
        .map(|k| (if squash(k) == squash(unknown) { 0 } else { edits(k, unknown) }, *k))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance, for keys of a few dozen characters.
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
