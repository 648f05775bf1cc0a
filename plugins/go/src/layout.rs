//! gofmt layouts shared by the generators: composite literals with
//! aligned keys, and functions whose body fits on one line.

use crate::gofile::GoFile;
use crate::gofmt::{Cell, Row, expr_list_breaks};

/// An element of a multi-line composite literal.
pub(crate) enum ListElement {
    /// `key: value,` on one line (`key` includes the colon).
    Pair {
        key: String,
        value: String,
        /// The source had a line (a comment) before this element.
        gap_before: bool,
    },
    /// An element spanning several lines, written by the closure.
    Multi(Box<dyn FnOnce(&mut GoFile)>),
    /// A full-line comment between elements.
    Comment(String),
}

/// Writes key-value elements with go/printer's alignment: a column for
/// the keys, broken where `exprList` would use a form feed.
pub(crate) fn write_key_value_list(g: &mut GoFile, elements: Vec<ListElement>) {
    let sizes: Vec<(Option<usize>, bool)> = elements
        .iter()
        .filter_map(|e| match e {
            ListElement::Pair {
                key, gap_before, ..
            } => Some((Some(key.trim_end_matches(':').chars().count()), *gap_before)),
            ListElement::Multi(_) => Some((None, false)),
            ListElement::Comment(_) => None,
        })
        .collect();
    let count = sizes.len();
    let breaks = expr_list_breaks(&sizes);
    let mut index = 0;
    for element in elements {
        match element {
            ListElement::Comment(text) => g.w.doc_comment(&format!("{text}\n")),
            ListElement::Pair { key, value, .. } => {
                if breaks[index] {
                    g.w.section();
                }
                index += 1;
                if count > 1 {
                    g.w.row(Row {
                        cells: vec![Cell::soft(key)],
                        last: value,
                    });
                } else {
                    g.w.line(format!("{key} {value}"));
                }
            }
            ListElement::Multi(write) => {
                g.w.section();
                index += 1;
                write(g);
                g.w.section();
            }
        }
    }
}

/// A function whose source body is on one line: go/printer keeps it there
/// when header and body fit in 100 columns (`funcBody`).
pub(crate) fn one_line_func(g: &mut GoFile, header: &str, statement: Option<&str>) {
    const MAX_SIZE: usize = 100;
    let body_size = statement.map_or(0, |s| s.chars().count());
    // go/printer measures the header from one column before `func` (the
    // blank after the keyword is still buffered when it takes the start).
    let header_size = header.chars().count() + 1;
    if header_size + body_size <= MAX_SIZE {
        match statement {
            Some(s) => g.w.line(format!("{header} {{ {s} }}")),
            None => g.w.line(format!("{header} {{}}")),
        }
        return;
    }
    g.w.open(format!("{header} {{"));
    if let Some(s) = statement {
        g.w.line(s);
    }
    g.w.close("}");
}
