//! An emitter that writes Go source in the exact layout `go/printer`
//! (gofmt) gives the constructs the generators emit.
//!
//! The generators produce their output already laid out: one call per
//! output line, at an explicit depth. What gofmt computes — column
//! alignment — is done here the way go/printer does it: lines are split
//! into cells exactly where go/printer writes its tab characters, and the
//! cells go through a port of `text/tabwriter`. Two lines only align when
//! they are consecutive at the same depth with no section break between
//! them; go/printer guarantees the same with form feeds.

mod doc;
mod tabwriter;

pub(crate) use doc::format_doc_comment;

/// One aligned cell; `soft` cells end in `\v` (discardable when empty),
/// hard ones in `\t`.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub text: String,
    pub soft: bool,
}

impl Cell {
    pub fn soft(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            soft: true,
        }
    }

    pub fn hard(text: impl Into<String>) -> Self {
        Cell {
            text: text.into(),
            soft: false,
        }
    }
}

/// A line: aligned cells followed by trailing text.
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub cells: Vec<Cell>,
    pub last: String,
}

#[derive(Default)]
pub(crate) struct GoWriter {
    out: String,
    depth: usize,
    rows: Vec<Row>,
    /// The last line written was blank (or nothing has been written).
    after_blank: bool,
}

impl GoWriter {
    pub fn new() -> Self {
        GoWriter {
            after_blank: true,
            ..GoWriter::default()
        }
    }

    /// A line without aligned cells.
    pub fn line(&mut self, text: impl Into<String>) {
        self.row(Row {
            cells: Vec::new(),
            last: text.into(),
        });
    }

    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
        self.after_blank = false;
    }

    /// A line with a trailing `//` comment placed after a hard tab, as
    /// go/printer separates a comment from the code before it.
    pub fn line_with_comment(&mut self, code: impl Into<String>, comment: &str) {
        if comment.is_empty() {
            self.line(code);
            return;
        }
        self.row(Row {
            cells: vec![Cell::hard(code)],
            last: comment.to_string(),
        });
    }

    /// Opens a block: writes `text` and indents what follows.
    pub fn open(&mut self, text: impl Into<String>) {
        self.line(text);
        self.indent();
    }

    /// Closes a block: dedents and writes `text`.
    pub fn close(&mut self, text: impl Into<String>) {
        self.dedent();
        self.line(text);
    }

    pub fn indent(&mut self) {
        self.flush();
        self.depth += 1;
    }

    pub fn dedent(&mut self) {
        self.flush();
        self.depth = self.depth.saturating_sub(1);
    }

    /// Ends the current alignment section (a form feed in go/printer).
    pub fn section(&mut self) {
        self.flush();
    }

    /// One blank line; gofmt never writes two in a row.
    pub fn blank(&mut self) {
        self.flush();
        if !self.after_blank {
            self.out.push('\n');
            self.after_blank = true;
        }
    }

    /// A comment block in doc-comment position (unindented in the
    /// generator's raw output and directly followed by code), which Go
    /// 1.19's printer reformats. `comment` holds `//` lines.
    pub fn doc_comment(&mut self, comment: &str) {
        if comment.is_empty() {
            return;
        }
        let lines: Vec<&str> = comment.trim_end_matches('\n').split('\n').collect();
        for line in format_doc_comment(&lines) {
            self.line(line);
        }
    }

    /// A comment block printed as written: not directly followed by code,
    /// so go/printer leaves it alone.
    pub fn plain_comment(&mut self, comment: &str) {
        for line in comment.trim_end_matches('\n').split('\n') {
            self.line(line);
        }
    }

    pub fn finish(mut self) -> String {
        self.flush();
        self.out
    }

    fn flush(&mut self) {
        if self.rows.is_empty() {
            return;
        }
        let rows = std::mem::take(&mut self.rows);
        let indent = "\t".repeat(self.depth);
        for text in tabwriter::align(&rows) {
            let trimmed = text.trim_end_matches([' ', '\t']);
            if trimmed.is_empty() {
                self.out.push('\n');
                continue;
            }
            self.out.push_str(&indent);
            self.out.push_str(trimmed);
            self.out.push('\n');
        }
    }
}

/// For a composite literal with one element per line, whether go/printer's
/// `exprList` starts a new alignment section before each element.
///
/// `sizes[i]` is the printed width of element `i` (of its key for a
/// key-value pair), `None` when the element spans several lines, and
/// whether the source had an extra line (a comment) before it, which
/// starts a new group for the size statistics. This is the geometric-mean
/// heuristic of `go/printer/nodes.go` (Go 1.19).
pub(crate) fn expr_list_breaks(sizes: &[(Option<usize>, bool)]) -> Vec<bool> {
    const SMALL_SIZE: usize = 40;
    const RATIO: f64 = 2.5;
    let mut breaks = Vec::with_capacity(sizes.len());
    let mut size = 0usize;
    let mut ln_sum = 0.0f64;
    let mut count = 0usize;
    for (i, (element, gap_before)) in sizes.iter().enumerate() {
        let prev_size = size;
        size = element.unwrap_or(0);
        let mut use_ff = true;
        if prev_size > 0 && size > 0 {
            if count == 0 || (prev_size <= SMALL_SIZE && size <= SMALL_SIZE) {
                use_ff = false;
            } else {
                let geomean = (ln_sum / count as f64).exp();
                let ratio = size as f64 / geomean;
                use_ff = RATIO * ratio <= 1.0 || RATIO <= ratio;
            }
        }
        if i > 0 {
            breaks.push(use_ff);
            if use_ff || *gap_before {
                // A form feed counts as two line breaks: a new group.
                ln_sum = 0.0;
                count = 0;
            }
        } else {
            breaks.push(false);
        }
        if size > 0 {
            ln_sum += (size as f64).ln();
            count += 1;
        }
    }
    breaks
}

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_quoted_char(&mut out, c);
    }
    out.push('"');
    out
}

/// Go's `%q` of a byte slice: invalid UTF-8 bytes become `\xNN`.
pub(crate) fn go_quote_bytes(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                valid.chars().for_each(|c| push_quoted_char(&mut out, c));
                break;
            }
            Err(err) => {
                let (valid, after) = rest.split_at(err.valid_up_to());
                if let Ok(valid) = std::str::from_utf8(valid) {
                    valid.chars().for_each(|c| push_quoted_char(&mut out, c));
                }
                out.push_str(&format!("\\x{:02x}", after[0]));
                rest = &after[1..];
            }
        }
    }
    out.push('"');
    out
}

fn push_quoted_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\u{7}' => out.push_str("\\a"),
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{b}' => out.push_str("\\v"),
        c if is_go_printable(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Approximates `strconv.IsPrint`: letters, marks, numbers, punctuation,
/// symbols and the ASCII space.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    // Unassigned, private-use and format characters are not printable in
    // Go; Rust has no category tables, so exclude the common ranges.
    !matches!(c as u32, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xfffe | 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_struct_fields_pad_to_the_widest_cell() {
        let mut w = GoWriter::new();
        w.open("type T struct {");
        for (name, ty) in [("a", "int"), ("long", "string")] {
            w.row(Row {
                cells: vec![Cell::soft(name)],
                last: ty.to_string(),
            });
        }
        w.close("}");
        assert_eq!(
            w.finish(),
            "type T struct {\n\ta    int\n\tlong string\n}\n"
        );
    }

    #[test]
    fn empty_soft_columns_are_discarded() {
        let mut w = GoWriter::new();
        w.indent();
        w.row(Row {
            cells: vec![Cell::soft("A"), Cell::soft("int"), Cell::soft("")],
            last: "`t`".into(),
        });
        w.row(Row {
            cells: vec![Cell::soft("Bb"), Cell::soft("x"), Cell::soft("")],
            last: "`u`".into(),
        });
        assert_eq!(w.finish(), "\tA  int `t`\n\tBb x   `u`\n");
    }

    #[test]
    fn long_keys_break_alignment_by_ratio() {
        let sized = |sizes: &[usize]| -> Vec<(Option<usize>, bool)> {
            sizes.iter().map(|&s| (Some(s), false)).collect()
        };
        let breaks = expr_list_breaks(&sized(&[45, 45, 200, 45]));
        assert_eq!(breaks, vec![false, false, true, true]);
        let small = expr_list_breaks(&sized(&[3, 30, 1]));
        assert_eq!(small, vec![false, false, false]);
    }

    #[test]
    fn quoting_follows_go() {
        assert_eq!(go_quote("hello \"world\"\n"), "\"hello \\\"world\\\"\\n\"");
        assert_eq!(go_quote_bytes(b"\x01\x02abc\xff"), "\"\\x01\\x02abc\\xff\"");
    }
}
