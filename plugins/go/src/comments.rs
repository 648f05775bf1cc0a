//! protogen's comment helpers: proto comments as `//` lines.

/// `protogen.Comments.String`: `//` before every line.
pub(crate) fn comment_text(raw: &str) -> String {
    if raw.is_empty() {
        return String::new();
    }
    raw.strip_suffix('\n')
        .unwrap_or(raw)
        .split('\n')
        .map(|line| format!("//{line}\n"))
        .collect()
}

/// `trailingComment.String`: one line or nothing.
pub(crate) fn trailing_comment(raw: &str) -> String {
    let text = comment_text(raw);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    if text.contains('\n') {
        return String::new();
    }
    text.to_string()
}

/// `appendDeprecationSuffix` on raw comment text.
pub(crate) fn append_deprecation(mut prefix: String, deprecated: bool) -> String {
    if !deprecated {
        return prefix;
    }
    if !prefix.is_empty() {
        prefix.push('\n');
    }
    prefix + " Deprecated: Do not use.\n"
}
