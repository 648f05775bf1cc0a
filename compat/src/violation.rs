//! Findings of rules and the violations reported to callers.

use serde::{Deserialize, Serialize};

/// A source span, 1-based, end column exclusive (as buf prints them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl Span {
    /// From a `SourceCodeInfo` span (0-based, end column exclusive).
    pub fn from_zero_based(line: i32, col: i32, end_line: i32, end_col: i32) -> Self {
        let one_based = |v: i32| u32::try_from(v).unwrap_or(0) + 1;
        Span {
            start_line: one_based(line),
            start_column: one_based(col),
            end_line: one_based(end_line),
            end_column: one_based(end_col),
        }
    }
}

/// Where a finding points: a file, and a span in it when the source info has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    pub file: String,
    pub span: Option<Span>,
}

/// What a rule reports, before policy filtering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    /// The element in the current image that shows the break; `None` for a
    /// deleted file or package, or when the source info lacks the element.
    pub location: Option<Location>,
    /// The file of the matching element in the previous image. Ignores apply
    /// to it as well as to `location`.
    pub against_file: Option<String>,
}

impl Finding {
    /// A finding at `location` (in the current image) against `against_file`
    /// (in the previous image).
    pub fn new(
        message: impl Into<String>,
        location: Option<Location>,
        against_file: Option<String>,
    ) -> Self {
        Finding {
            message: message.into(),
            location,
            against_file,
        }
    }
}

/// One breaking change, as buf reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Violation {
    /// Rule ID, e.g. `FIELD_SAME_TYPE`.
    pub rule: String,
    /// Categories of the rule, e.g. `["FILE", "PACKAGE"]`.
    pub categories: Vec<String>,
    /// Path of the file in the current image; empty when buf gives none.
    pub file: String,
    /// 1-based; 0 when buf gives no location.
    pub start_line: u32,
    pub start_column: u32,
    pub end_line: u32,
    /// Exclusive.
    pub end_column: u32,
    pub message: String,
    /// The file of the matching element in the previous image (a deleted
    /// file's own name), when the rule names one; empty otherwise. Not part
    /// of buf's output: it lets callers attribute a finding without a
    /// location.
    #[serde(skip)]
    pub against_file: String,
}

impl Violation {
    /// The line `buf breaking --error-format json` prints for this violation.
    pub fn to_buf_json(&self) -> String {
        let at_least_1 = |v: u32| v.max(1);
        let mut out = String::from("{");
        if !self.file.is_empty() {
            out.push_str("\"path\":");
            push_go_json_string(&mut out, &self.file);
            out.push(',');
        }
        out.push_str(&format!(
            "\"start_line\":{},\"start_column\":{},\"end_line\":{},\"end_column\":{},\"type\":",
            at_least_1(self.start_line),
            at_least_1(self.start_column),
            at_least_1(self.end_line),
            at_least_1(self.end_column),
        ));
        push_go_json_string(&mut out, &self.rule);
        out.push_str(",\"message\":");
        push_go_json_string(&mut out, &self.message);
        out.push('}');
        out
    }

    /// The line `buf breaking` prints in its default text format.
    pub fn to_buf_text(&self) -> String {
        let file = if self.file.is_empty() {
            "<input>"
        } else {
            &self.file
        };
        format!(
            "{}:{}:{}:{}",
            file,
            self.start_line.max(1),
            self.start_column.max(1),
            self.message
        )
    }

    /// buf's order: no-file first, then path, start line, start column,
    /// rule, message, end line, end column.
    pub(crate) fn sort_key(&self) -> (bool, &str, u32, u32, &str, &str, u32, u32) {
        (
            !self.file.is_empty(),
            &self.file,
            self.start_line.max(1),
            self.start_column.max(1),
            &self.rule,
            &self.message,
            self.end_line.max(1),
            self.end_column.max(1),
        )
    }
}

/// Appends `s` as a JSON string the way Go's `encoding/json` writes it
/// (HTML-sensitive characters escaped).
fn push_go_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(file: &str, message: &str) -> Violation {
        Violation {
            rule: "FILE_NO_DELETE".into(),
            categories: vec!["FILE".into()],
            file: file.into(),
            start_line: 0,
            start_column: 0,
            end_line: 0,
            end_column: 0,
            message: message.into(),
            against_file: String::new(),
        }
    }

    #[test]
    fn json_without_file_omits_path_and_prints_ones() {
        let v = violation("", "Previously present file \"b.proto\" was deleted.");
        assert_eq!(
            v.to_buf_json(),
            r#"{"start_line":1,"start_column":1,"end_line":1,"end_column":1,"type":"FILE_NO_DELETE","message":"Previously present file \"b.proto\" was deleted."}"#
        );
    }

    #[test]
    fn json_escapes_like_go() {
        let v = violation("a.proto", "map<string, int32> & \u{1}");
        assert!(
            v.to_buf_json()
                .contains(r#""message":"map\u003cstring, int32\u003e \u0026 \u0001""#)
        );
    }
}
