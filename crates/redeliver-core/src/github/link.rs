//! Parsing the `Link` response header (RFC 8288) that GitHub pages with. The delivery lists page by
//! an opaque cursor, so the only correct way to the next page is the `rel="next"` URL exactly as
//! GitHub gave it: <https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api>.

use url::Url;

/// One `<uri>; param=value; ...` entry of a `Link` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkValue {
    /// The target as written between `<` and `>`.
    pub uri: String,
    /// The relation types, lower-cased (`rel="next last"` gives two).
    pub rels: Vec<String>,
}

/// Splits a `Link` header value into its entries. Tolerates spaces anywhere allowed, quoted or bare
/// parameter values, commas and semicolons inside quotes or inside `<...>`, and unknown parameters;
/// entries that are not `<...>` are skipped.
pub fn parse_link_header(value: &str) -> Vec<LinkValue> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        let Some(after_open) = rest.strip_prefix('<') else {
            // Not a link: skip to the next top-level comma.
            match skip_to_top_level(rest, ',') {
                Some(i) => {
                    rest = &rest[i + 1..];
                    continue;
                }
                None => break,
            }
        };
        let Some(close) = after_open.find('>') else {
            break;
        };
        let uri = after_open[..close].trim().to_owned();
        rest = &after_open[close + 1..];
        let end = skip_to_top_level(rest, ',').unwrap_or(rest.len());
        let params = &rest[..end];
        rest = &rest[end..];
        let mut rels = Vec::new();
        for param in split_top_level(params, ';') {
            let Some((name, raw)) = param.split_once('=') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("rel") {
                continue;
            }
            let raw = raw.trim();
            let unquoted = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).unwrap_or(raw);
            rels.extend(unquoted.split_whitespace().map(str::to_ascii_lowercase));
        }
        links.push(LinkValue { uri, rels });
        if rest.is_empty() {
            break;
        }
    }
    links
}

/// The `rel="next"` target among any number of `Link` header values, resolved against the URL
/// that was requested (GitHub sends absolute URLs; a relative one is resolved as RFC 8288 says).
/// `Err` carries a description when a `next` link exists but is not a URL.
pub fn next_link<'a>(values: impl IntoIterator<Item = &'a str>, requested: &Url) -> Result<Option<Url>, String> {
    for value in values {
        for link in parse_link_header(value) {
            if link.rels.iter().any(|rel| rel == "next") {
                return requested
                    .join(&link.uri)
                    .map(Some)
                    .map_err(|e| format!("the Link header's next URL {:?} is not a URL ({e})", link.uri));
            }
        }
    }
    Ok(None)
}

/// Index of the first `sep` outside quotes and angle brackets.
fn skip_to_top_level(s: &str, sep: char) -> Option<usize> {
    let mut quoted = false;
    let mut angled = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if quoted {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '<' => angled = true,
            '>' => angled = false,
            _ if c == sep && !angled => return Some(i),
            _ => {}
        }
    }
    None
}

fn split_top_level(mut s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    while let Some(i) = skip_to_top_level(s, sep) {
        parts.push(&s[..i]);
        s = &s[i + 1..];
    }
    parts.push(s);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://api.github.com/app/hook/deliveries?per_page=100").unwrap()
    }

    #[test]
    fn finds_next_among_several_rels() {
        let header = r#"<https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_123>; rel="next", <https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_1>; rel="last""#;
        let next = next_link([header], &base()).unwrap().unwrap();
        assert_eq!(next.as_str(), "https://api.github.com/app/hook/deliveries?per_page=100&cursor=v1_123");
    }

    #[test]
    fn next_need_not_come_first_and_may_be_bare_or_shared() {
        let header = r#" <https://x.test/p?cursor=a>;rel=prev ,<https://x.test/p?cursor=b> ; REL = "last NEXT" "#;
        assert_eq!(next_link([header], &base()).unwrap().unwrap().as_str(), "https://x.test/p?cursor=b");
    }

    #[test]
    fn commas_and_semicolons_inside_urls_and_quotes_do_not_split() {
        let header = r#"<https://x.test/p?a=1,2;b=3>; title="a, b; c"; rel="next""#;
        let links = parse_link_header(header);
        assert_eq!(links.len(), 1);
        assert_eq!(links[0].uri, "https://x.test/p?a=1,2;b=3");
        assert_eq!(links[0].rels, vec!["next"]);
    }

    #[test]
    fn several_header_values_and_relative_uris() {
        let values =
            [r#"<https://x.test/first>; rel="first""#, r#"</api/v3/app/hook/deliveries?cursor=v1_9>; rel="next""#];
        let requested = Url::parse("https://ghe.test/api/v3/app/hook/deliveries?per_page=100").unwrap();
        let next = next_link(values, &requested).unwrap().unwrap();
        assert_eq!(next.as_str(), "https://ghe.test/api/v3/app/hook/deliveries?cursor=v1_9");
    }

    #[test]
    fn no_next_is_none_and_garbage_is_ignored() {
        assert_eq!(next_link([r#"<https://x.test/a>; rel="prev""#], &base()), Ok(None));
        assert_eq!(next_link(["garbage, more garbage"], &base()), Ok(None));
        assert_eq!(next_link([""], &base()), Ok(None));
        assert_eq!(next_link(["<https://x.test/unterminated; rel=next"], &base()), Ok(None));
    }

    #[test]
    fn an_unparsable_next_url_is_an_error() {
        assert!(next_link([r#"<http://[::1>; rel="next""#], &base()).is_err());
    }
}
