//! A line printer with protobuf `io::Printer` indentation semantics:
//! indentation is written before the first character of a line, never on
//! an empty line.

#[derive(Debug, Default)]
pub struct Printer {
    out: String,
    indent: String,
    step: usize,
    at_line_start: bool,
}

impl Printer {
    /// `step` spaces per indentation level (protoc: 2, pyi generator: 4).
    pub fn new(step: usize) -> Printer {
        Printer {
            out: String::new(),
            indent: String::new(),
            step,
            at_line_start: true,
        }
    }

    pub fn print(&mut self, text: &str) {
        for piece in text.split_inclusive('\n') {
            if self.at_line_start && !piece.starts_with('\n') {
                self.out.push_str(&self.indent);
            }
            self.out.push_str(piece);
            self.at_line_start = piece.ends_with('\n');
        }
    }

    pub fn indent(&mut self) {
        self.indent.push_str(&" ".repeat(self.step));
    }

    pub fn outdent(&mut self) {
        let len = self.indent.len().saturating_sub(self.step);
        self.indent.truncate(len);
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indents_non_empty_lines_only() {
        let mut p = Printer::new(2);
        p.print("a:\n");
        p.indent();
        p.print("b\n\nc");
        p.print("d\n");
        p.outdent();
        p.print("e\n");
        assert_eq!(p.finish(), "a:\n  b\n\n  cd\ne\n");
    }
}
