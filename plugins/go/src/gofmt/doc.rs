//! Go 1.19's doc-comment reformatting (`go/printer/comment.go` with the
//! block parser and printer of `go/doc/comment`).
//!
//! go/printer rewrites every `//` comment group that starts in column 1
//! and is directly followed by code. In protoc-gen-go's unformatted output
//! that is every leading comment. Inline text (links, doc links, italics)
//! prints back unchanged, so only the block structure is modelled:
//! paragraphs, headings, code blocks, lists and link definitions.

enum Block {
    Paragraph(Vec<String>),
    Heading(String),
    Code(Vec<String>),
    List(List),
}

struct List {
    items: Vec<ListItem>,
    force_blank_before: bool,
    force_blank_between: bool,
}

struct ListItem {
    number: String,
    paragraphs: Vec<Vec<String>>,
}

struct LinkDef {
    text: String,
    url: String,
}

/// `formatDocComment` for a group of `//` lines.
pub(crate) fn format_doc_comment(list: &[&str]) -> Vec<String> {
    if list.iter().any(|line| !line.starts_with("//")) {
        return list.iter().map(|s| s.to_string()).collect();
    }
    let mut text = String::new();
    let mut directives = Vec::new();
    for line in list {
        let body = &line[2..];
        if is_directive(body) {
            directives.push(line.to_string());
            continue;
        }
        text.push_str(body.strip_prefix(' ').unwrap_or(body));
        text.push('\n');
    }
    if text.is_empty() {
        return list.iter().map(|s| s.to_string()).collect();
    }
    let printed = print(&parse(&text));
    let mut out: Vec<String> = Vec::new();
    let mut rest = printed.as_str();
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        rest = after;
        out.push(if line.is_empty() {
            "//".to_string()
        } else if line.starts_with('\t') {
            format!("//{line}")
        } else {
            format!("// {line}")
        });
    }
    if !directives.is_empty() {
        out.push("//".to_string());
        out.extend(directives);
    }
    out
}

fn is_directive(c: &str) -> bool {
    if c.starts_with("line ") || c.starts_with("extern ") || c.starts_with("export ") {
        return true;
    }
    let Some(colon) = c.find(':') else {
        return false;
    };
    if colon == 0 || colon + 1 >= c.len() {
        return false;
    }
    c.bytes()
        .take(colon + 2)
        .enumerate()
        .all(|(i, b)| i == colon || b.is_ascii_lowercase() || b.is_ascii_digit())
}

struct Doc {
    content: Vec<Block>,
    links: Vec<LinkDef>,
}

fn parse(text: &str) -> Doc {
    let raw: Vec<&str> = text.split('\n').collect();
    let lines = unindent(&raw);
    let mut doc = Doc {
        content: Vec::new(),
        links: Vec::new(),
    };
    let mut prev_end = 0;
    for span in parse_spans(&lines) {
        let slice = &lines[span.start..span.end];
        let block = match span.kind {
            SpanKind::List => Some(Block::List(list(slice, prev_end < span.start))),
            SpanKind::Code => Some(Block::Code(unindent(
                &slice.iter().map(String::as_str).collect::<Vec<_>>(),
            ))),
            SpanKind::OldHeading => Some(Block::Heading(slice[0].trim().to_string())),
            SpanKind::Heading => Some(Block::Heading(slice[0][1..].trim().to_string())),
            SpanKind::Para => paragraph(slice, &mut doc.links),
        };
        if let Some(block) = block {
            doc.content.push(block);
        }
        prev_end = span.end;
    }
    doc
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SpanKind {
    Para,
    Heading,
    OldHeading,
    Code,
    List,
}

struct Span {
    start: usize,
    end: usize,
    kind: SpanKind,
}

/// Port of `parseSpans`.
fn parse_spans(lines: &[String]) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut i = 0;
    let mut force_indent = 0;
    let mut watchdog = 2 * lines.len() + 2;
    'spans: loop {
        while i < lines.len() && lines[i].is_empty() {
            i += 1;
        }
        if i >= lines.len() || watchdog == 0 {
            break;
        }
        watchdog -= 1;
        let start = i;
        let mut end;
        let kind;
        if i < force_indent || indented(&lines[i]) {
            let mut unindented_list_ok = is_list(&lines[i]) && i < force_indent;
            i += 1;
            while i < lines.len()
                && (lines[i].is_empty()
                    || i < force_indent
                    || indented(&lines[i])
                    || (unindented_list_ok && is_list(&lines[i])))
            {
                if lines[i].is_empty() {
                    unindented_list_ok = false;
                }
                i += 1;
            }
            end = i;
            while end > start && lines[end - 1].is_empty() {
                end -= 1;
            }
            if end < lines.len() && lines[end].starts_with('}') {
                end += 1;
            }
            kind = if is_list(&lines[start]) {
                SpanKind::List
            } else {
                SpanKind::Code
            };
        } else {
            i += 1;
            while i < lines.len() && !lines[i].is_empty() && !indented(&lines[i]) {
                i += 1;
            }
            end = i;
            if i < lines.len() && !lines[i].is_empty() && !is_list(&lines[i]) {
                if is_list(&lines[i - 1]) {
                    force_indent = end;
                    end -= 1;
                    while end > start && is_list(&lines[end - 1]) {
                        end -= 1;
                    }
                } else if lines[i - 1].ends_with('{') || lines[i - 1].ends_with('\\') {
                    force_indent = end;
                    end -= 1;
                }
                if start == end && force_indent > start {
                    i = start;
                    continue 'spans;
                }
            }
            kind = if end - start == 1 && is_heading(&lines[start]) {
                SpanKind::Heading
            } else if end - start == 1 && is_old_heading(&lines[start], lines, start) {
                SpanKind::OldHeading
            } else {
                SpanKind::Para
            };
        }
        spans.push(Span { start, end, kind });
        i = end;
    }
    spans
}

fn indented(line: &str) -> bool {
    line.starts_with(' ') || line.starts_with('\t')
}

fn is_blank(s: &str) -> bool {
    s.is_empty() || s == "\n"
}

fn leading_space(s: &str) -> &str {
    let n = s.len() - s.trim_start_matches([' ', '\t']).len();
    &s[..n]
}

/// Port of `unindent`.
fn unindent(lines: &[&str]) -> Vec<String> {
    let mut lines = lines;
    while lines.first().is_some_and(|l| is_blank(l)) {
        lines = &lines[1..];
    }
    while lines.last().is_some_and(|l| is_blank(l)) {
        lines = &lines[..lines.len() - 1];
    }
    if lines.is_empty() {
        return Vec::new();
    }
    let mut prefix = leading_space(lines[0]);
    for line in &lines[1..] {
        if !is_blank(line) {
            let other = leading_space(line);
            let common = prefix
                .bytes()
                .zip(other.bytes())
                .take_while(|(a, b)| a == b)
                .count();
            prefix = &prefix[..common];
        }
    }
    let mut out: Vec<String> = lines
        .iter()
        .map(|line| {
            let line = line.strip_prefix(prefix).unwrap_or(line);
            if line.trim().is_empty() {
                String::new()
            } else {
                line.to_string()
            }
        })
        .collect();
    while out.first().is_some_and(String::is_empty) {
        out.remove(0);
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

fn is_heading(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 2 && b[0] == b'#' && (b[1] == b' ' || b[1] == b'\t') && line.trim() != "#"
}

/// Port of `isOldHeading`.
fn is_old_heading(line: &str, all: &[String], off: usize) -> bool {
    if off == 0
        || !all[off - 1].is_empty()
        || off + 2 >= all.len()
        || !all[off + 1].is_empty()
        || !leading_space(&all[off + 2]).is_empty()
    {
        return false;
    }
    let line = line.trim();
    let Some(first) = line.chars().next() else {
        return false;
    };
    if !first.is_alphabetic() || !first.is_uppercase() {
        return false;
    }
    let Some(last) = line.chars().last() else {
        return false;
    };
    if !last.is_alphabetic() && !last.is_numeric() {
        return false;
    }
    if line.contains([
        ';', ':', '!', '?', '+', '*', '/', '=', '[', ']', '{', '}', '_', '^', '°', '&', '§', '~',
        '%', '#', '@', '<', '"', '>', '\\',
    ]) {
        return false;
    }
    // "'" only for a possessive "'s".
    let mut rest = line;
    while let Some((_, after)) = rest.split_once('\'') {
        if after != "s" && !after.starts_with("s ") {
            return false;
        }
        rest = after;
    }
    // "." only when followed by a non-space.
    let mut rest = line;
    while let Some((_, after)) = rest.split_once('.') {
        if after.is_empty() || after.starts_with(' ') {
            return false;
        }
        rest = after;
    }
    true
}

/// Port of `paragraph`: a paragraph made only of link definitions adds them
/// to the document instead.
fn paragraph(lines: &[String], links: &mut Vec<LinkDef>) -> Option<Block> {
    let defs: Option<Vec<LinkDef>> = lines.iter().map(|l| parse_link(l)).collect();
    match defs {
        Some(defs) => {
            links.extend(defs);
            None
        }
        None => Some(Block::Paragraph(lines.to_vec())),
    }
}

fn parse_link(line: &str) -> Option<LinkDef> {
    if !line.starts_with('[') {
        return None;
    }
    let i = line.find("]:")?;
    let b = line.as_bytes();
    if i + 3 >= line.len() || (b[i + 2] != b' ' && b[i + 2] != b'\t') {
        return None;
    }
    let text = &line[1..i];
    let url = line[i + 3..].trim();
    let j = url.find("://")?;
    if !matches!(
        &url[..j],
        "file" | "ftp" | "gopher" | "http" | "https" | "mailto" | "nntp"
    ) {
        return None;
    }
    Some(LinkDef {
        text: text.to_string(),
        url: url.to_string(),
    })
}

/// Port of `list`.
fn list(lines: &[String], force_blank_before: bool) -> List {
    let numbered = list_marker(&lines[0]).is_some_and(|(n, _)| !n.is_empty());
    let mut list = List {
        items: Vec::new(),
        force_blank_before,
        force_blank_between: false,
    };
    let mut text: Vec<String> = Vec::new();
    let flush = |list: &mut List, text: &mut Vec<String>| {
        if let Some(item) = list.items.last_mut() {
            // List item text is never a block of link definitions in
            // practice; keep it as a paragraph.
            if !text.is_empty() {
                item.paragraphs.push(std::mem::take(text));
            }
        }
        text.clear();
    };
    for line in lines {
        let mut line = line.as_str();
        if let Some((n, after)) = list_marker(line)
            && n.is_empty() != numbered
        {
            flush(&mut list, &mut text);
            list.items.push(ListItem {
                number: n.to_string(),
                paragraphs: Vec::new(),
            });
            line = after;
        }
        let line = line.trim();
        if line.is_empty() {
            list.force_blank_between = true;
            flush(&mut list, &mut text);
            continue;
        }
        text.push(line.to_string());
    }
    flush(&mut list, &mut text);
    list
}

/// Port of `listMarker`: the number ("" for a bullet) and the rest.
fn list_marker(line: &str) -> Option<(&str, &str)> {
    let line = line.trim();
    let first = line.chars().next()?;
    let (num, rest) = if matches!(first, '•' | '*' | '+' | '-') {
        ("", &line[first.len_utf8()..])
    } else if first.is_ascii_digit() {
        let n = line.bytes().take_while(u8::is_ascii_digit).count();
        let b = line.as_bytes();
        if n >= line.len() || (b[n] != b'.' && b[n] != b')') {
            return None;
        }
        (&line[..n], &line[n + 1..])
    } else {
        return None;
    };
    if !indented(rest) || rest.trim().is_empty() {
        return None;
    }
    Some((num, rest))
}

fn is_list(line: &str) -> bool {
    list_marker(line).is_some()
}

impl List {
    fn blank_between(&self) -> bool {
        self.force_blank_between || self.items.iter().any(|i| i.paragraphs.len() != 1)
    }

    fn blank_before(&self) -> bool {
        self.force_blank_before || self.blank_between()
    }
}

/// Port of `(*Printer).Comment`.
fn print(doc: &Doc) -> String {
    let mut out = String::new();
    for (i, block) in doc.content.iter().enumerate() {
        let blank_before = match block {
            Block::List(list) => list.blank_before(),
            _ => true,
        };
        if i > 0 && blank_before {
            out.push('\n');
        }
        print_block(&mut out, block);
    }
    // Link definitions: the used ones, then the unused ones.
    let used = |def: &LinkDef| doc_mentions(doc, &format!("[{}]", def.text));
    for want_used in [true, false] {
        let mut first = true;
        for def in doc.links.iter().filter(|d| used(d) == want_used) {
            if first {
                out.push('\n');
                first = false;
            }
            out.push_str(&format!("[{}]: {}\n", def.text, def.url));
        }
    }
    out
}

fn doc_mentions(doc: &Doc, needle: &str) -> bool {
    doc.content.iter().any(|block| match block {
        Block::Paragraph(lines) => lines.iter().any(|l| l.contains(needle)),
        Block::Heading(text) => text.contains(needle),
        Block::Code(_) => false,
        Block::List(list) => list
            .items
            .iter()
            .flat_map(|i| i.paragraphs.iter().flatten())
            .any(|l| l.contains(needle)),
    })
}

fn print_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(lines) => {
            out.push_str(&lines.join("\n"));
            out.push('\n');
        }
        Block::Heading(text) => {
            out.push_str("# ");
            out.push_str(text);
            out.push('\n');
        }
        Block::Code(lines) => {
            for line in lines {
                if !line.is_empty() {
                    out.push('\t');
                    out.push_str(line);
                }
                out.push('\n');
            }
        }
        Block::List(list) => {
            let loose = list.blank_between();
            for (i, item) in list.items.iter().enumerate() {
                if i > 0 && loose {
                    out.push('\n');
                }
                out.push(' ');
                if item.number.is_empty() {
                    out.push_str(" - ");
                } else {
                    out.push_str(&item.number);
                    out.push_str(". ");
                }
                for (k, para) in item.paragraphs.iter().enumerate() {
                    const FOUR_SPACE: &str = "    ";
                    if k > 0 {
                        out.push('\n');
                        out.push_str(FOUR_SPACE);
                    }
                    out.push_str(&para.join(&format!("\n{FOUR_SPACE}")));
                    out.push('\n');
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(lines: &[&str]) -> Vec<String> {
        format_doc_comment(lines)
    }

    #[test]
    fn simple_paragraphs_are_unchanged() {
        assert_eq!(
            fmt(&["// A product.", "//", "// More."]),
            ["// A product.", "//", "// More."]
        );
    }

    #[test]
    fn indented_lines_become_a_code_block_after_a_blank_line() {
        assert_eq!(
            fmt(&["// Types that are assignable to X:", "//\t*A", "//\t*B"]),
            [
                "// Types that are assignable to X:",
                "//",
                "//\t*A",
                "//\t*B"
            ]
        );
    }

    #[test]
    fn missing_space_is_added_and_lists_are_normalized() {
        assert_eq!(fmt(&["//foo"]), ["// foo"]);
        assert_eq!(
            fmt(&["// Items:", "//  - one", "//  - two"]),
            ["// Items:", "//   - one", "//   - two"]
        );
    }
}
