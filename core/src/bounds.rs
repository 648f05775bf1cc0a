//! Bounds on `.proto` source text, checked in one linear pass before the
//! text reaches the compiler.
//!
//! protox parses recursively (nested blocks, option values in every form)
//! and registers every prefix of a dotted package name, so two kinds of
//! input cost more than their size: deep nesting, which overflows a
//! thread's stack, and long dotted names, whose cost grows with the square
//! of their length. Both are refused here with a located message, with
//! limits at or above protoc's own (`Package name is too long` at 512
//! bytes, `Exceeds Maximum Package Depth` past 100 segments), so that any
//! file protoc accepts for those reasons is accepted too.
//!
//! The pass is a tokenizer, not a parser: it skips comments and string
//! literals, counts brackets of every kind (`{`, `[`, `(`, `<`) as nesting,
//! and measures runs of identifiers joined by dots (packages, type
//! references, option names, extension names in option values).

use crate::error::{CompileError, RegistryError};
use crate::position::line_column;

/// Deepest bracket nesting. Message blocks, option values (`{…}`, `<…>`,
/// lists), groups and field options all count; each level costs the
/// compiler a few stack frames, and the compiler thread's stack
/// (`COMPILE_STACK_BYTES`) holds many times this depth.
pub const MAX_NESTING: usize = 100;
/// Longest single identifier.
pub const MAX_IDENTIFIER_BYTES: usize = 1024;
/// Longest dotted name other than a package (a type reference, an option
/// name), dots included.
pub const MAX_NAME_BYTES: usize = 2048;
/// Most segments of any dotted name.
pub const MAX_NAME_SEGMENTS: usize = 100;
/// Longest package name (protoc refuses 512 bytes and more).
pub const MAX_PACKAGE_BYTES: usize = 511;
/// Longest full name a block declares: the package and the names of the
/// enclosing blocks, joined by dots.
pub const MAX_SCOPE_BYTES: usize = 4096;
/// Every declaration's full name is stored whole (in the compiler's tables,
/// the descriptor pool, the compatibility model), so a file of short fields
/// inside a long scope costs far more than its size. The sum, over every
/// identifier, of the length of the scope it appears in may not exceed
/// this many times the file's size (plus [`NAME_BUDGET_FLOOR`]).
pub const NAME_BUDGET_PER_BYTE: usize = 32;
/// The part of the name budget every file has, whatever its size.
pub const NAME_BUDGET_FLOOR: usize = 1 << 20;

/// Checks one file's text against the bounds above.
///
/// Too deep → `compile_failed` (the compiler could not parse it);
/// a name over a limit → `invalid_argument`. Both name the file, line and
/// column.
pub fn check_source(path: &str, text: &str) -> Result<(), RegistryError> {
    Scanner::new(text.as_bytes())
        .run()
        .map_err(|breach| breach.into_error(path, text))
}

#[derive(Debug, PartialEq, Eq)]
enum Breach {
    TooDeep { offset: usize },
    Identifier { offset: usize, bytes: usize },
    Name(NameBreach),
    Scope { offset: usize, bytes: usize },
    NameBudget { offset: usize, budget: usize },
}

#[derive(Debug, PartialEq, Eq)]
struct NameBreach {
    offset: usize,
    package: bool,
    bytes: usize,
    segments: usize,
}

impl Breach {
    fn into_error(self, path: &str, text: &str) -> RegistryError {
        let at = |offset: usize| {
            let (line, column) = line_column(text, offset);
            format!("{path}:{line}:{column}")
        };
        match self {
            Breach::TooDeep { offset } => {
                let (line, column) = line_column(text, offset);
                RegistryError::compile_failed(vec![CompileError {
                    file: path.to_owned(),
                    line,
                    column,
                    message: format!(
                        "nesting deeper than {MAX_NESTING} levels (blocks, option values and \
                         brackets all count)"
                    ),
                }])
            }
            Breach::Identifier { offset, bytes } => RegistryError::InvalidArgument(format!(
                "{}: identifier of {bytes} bytes; the limit is {MAX_IDENTIFIER_BYTES}",
                at(offset)
            )),
            Breach::Scope { offset, bytes } => RegistryError::InvalidArgument(format!(
                "{}: full name of {bytes} bytes (package and enclosing names); the limit is \
                 {MAX_SCOPE_BYTES}",
                at(offset)
            )),
            Breach::NameBudget { offset, budget } => RegistryError::InvalidArgument(format!(
                "{}: the full names declared so far add up to over {budget} bytes \
                 ({NAME_BUDGET_PER_BYTE} per byte of the file); use shorter names or \
                 less nesting",
                at(offset)
            )),
            Breach::Name(name) => {
                let (what, max_bytes) = if name.package {
                    ("package name", MAX_PACKAGE_BYTES)
                } else {
                    ("dotted name", MAX_NAME_BYTES)
                };
                RegistryError::InvalidArgument(format!(
                    "{}: {what} of {} bytes and {} segments; the limits are {max_bytes} bytes \
                     and {MAX_NAME_SEGMENTS} segments",
                    at(name.offset),
                    name.bytes,
                    name.segments
                ))
            }
        }
    }
}

/// A run of identifiers joined by dots, being measured.
#[derive(Debug, Clone, Copy)]
struct NameRun {
    start: usize,
    end: usize,
    segments: usize,
    /// A dot was the last token: the next identifier continues the run.
    open: bool,
    package: bool,
}

struct Scanner<'a> {
    text: &'a [u8],
    pos: usize,
    /// Full-name length of each open bracket's scope.
    scopes: Vec<usize>,
    package_bytes: usize,
    run: Option<NameRun>,
    /// The last identifier, when it was the last token (for `package x`
    /// and `message Name {`).
    last_identifier: Option<(usize, usize)>,
    /// What is left of the name budget.
    name_budget: usize,
    budget: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a [u8]) -> Self {
        Self {
            text,
            pos: 0,
            scopes: Vec::new(),
            package_bytes: 0,
            run: None,
            last_identifier: None,
            name_budget: 0,
            budget: 0,
        }
        .with_budget(NAME_BUDGET_PER_BYTE.saturating_mul(text.len()) + NAME_BUDGET_FLOOR)
    }

    fn with_budget(mut self, budget: usize) -> Self {
        self.budget = budget;
        self.name_budget = budget;
        self
    }

    fn run(mut self) -> Result<(), Breach> {
        while let Some(&byte) = self.text.get(self.pos) {
            match byte {
                b' ' | b'\t' | b'\r' | b'\n' | b'\x0b' | b'\x0c' => self.pos += 1,
                b'/' if self.peek(1) == Some(b'/') => self.skip_line_comment(),
                b'/' if self.peek(1) == Some(b'*') => self.skip_block_comment(),
                b'"' | b'\'' => {
                    self.end_token()?;
                    self.skip_string(byte);
                }
                b'0'..=b'9' => {
                    self.end_token()?;
                    self.skip_number();
                }
                b'.' if self.peek(1).is_some_and(|b| b.is_ascii_digit()) => {
                    self.end_token()?;
                    self.skip_number();
                }
                b'.' => self.dot(),
                b'A'..=b'Z' | b'a'..=b'z' | b'_' => self.identifier()?,
                b'{' | b'[' | b'(' | b'<' => self.open(byte)?,
                b'}' | b']' | b')' | b'>' => {
                    self.end_token()?;
                    self.scopes.pop();
                    self.pos += 1;
                }
                _ => {
                    self.end_token()?;
                    self.pos += 1;
                }
            }
        }
        self.end_token()
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.text.get(self.pos + ahead).copied()
    }

    fn skip_line_comment(&mut self) {
        self.pos = memchr::memchr(b'\n', &self.text[self.pos..])
            .map_or(self.text.len(), |i| self.pos + i + 1);
    }

    fn skip_block_comment(&mut self) {
        self.pos = memchr::memmem::find(&self.text[self.pos + 2..], b"*/")
            .map_or(self.text.len(), |i| self.pos + 2 + i + 2);
    }

    /// Past the closing quote, or the end of the line (strings do not span
    /// lines; the compiler reports the unterminated one).
    fn skip_string(&mut self, quote: u8) {
        self.pos += 1;
        while let Some(&byte) = self.text.get(self.pos) {
            self.pos += 1;
            match byte {
                b'\\' => self.pos += 1,
                b'\n' => return,
                _ if byte == quote => return,
                _ => {}
            }
        }
    }

    /// Digits, letters, dots and an exponent's sign (`1.5e-3`, `0x1F`).
    fn skip_number(&mut self) {
        let start = self.pos;
        let hex = matches!(self.text[start..], [b'0', b'x' | b'X', ..]);
        while let Some(&byte) = self.text.get(self.pos) {
            let exponent_sign = matches!(byte, b'+' | b'-')
                && !hex
                && matches!(self.text[self.pos - 1], b'e' | b'E');
            if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'.' || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn dot(&mut self) {
        match &mut self.run {
            Some(run) if !run.open => {
                run.open = true;
                run.end = self.pos + 1;
            }
            // `..` or a leading dot after an open one: the compiler says
            // what is wrong; a fresh run keeps the count honest.
            _ => {
                let package = self.follows_package_keyword();
                self.run = Some(NameRun {
                    start: self.pos,
                    end: self.pos + 1,
                    segments: 0,
                    open: true,
                    package,
                });
            }
        }
        self.last_identifier = None;
        self.pos += 1;
    }

    fn identifier(&mut self) -> Result<(), Breach> {
        let start = self.pos;
        while self
            .text
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            self.pos += 1;
        }
        let bytes = self.pos - start;
        if bytes > MAX_IDENTIFIER_BYTES {
            return Err(Breach::Identifier {
                offset: start,
                bytes,
            });
        }
        let scope = self.scopes.last().copied().unwrap_or(self.package_bytes);
        self.name_budget =
            self.name_budget
                .checked_sub(scope + bytes)
                .ok_or(Breach::NameBudget {
                    offset: start,
                    budget: self.budget,
                })?;
        match &mut self.run {
            Some(run) if run.open => {
                run.open = false;
                run.end = self.pos;
                run.segments += 1;
                check_run(run)?;
            }
            _ => {
                let package = self.follows_package_keyword();
                self.end_token()?;
                self.run = Some(NameRun {
                    start,
                    end: self.pos,
                    segments: 1,
                    open: false,
                    package,
                });
            }
        }
        self.last_identifier = Some((start, self.pos));
        Ok(())
    }

    fn follows_package_keyword(&self) -> bool {
        match self.run {
            Some(run) if !run.open && run.segments == 1 => {
                &self.text[run.start..run.end] == b"package"
            }
            _ => false,
        }
    }

    fn open(&mut self, bracket: u8) -> Result<(), Breach> {
        let declared = match self.last_identifier {
            Some((start, end)) if bracket == b'{' => end - start + 1,
            _ => 0,
        };
        self.end_token()?;
        if self.scopes.len() >= MAX_NESTING {
            return Err(Breach::TooDeep { offset: self.pos });
        }
        let outer = self.scopes.last().copied().unwrap_or(self.package_bytes);
        let scope = outer + declared;
        if scope > MAX_SCOPE_BYTES {
            return Err(Breach::Scope {
                offset: self.pos,
                bytes: scope,
            });
        }
        self.scopes.push(scope);
        self.pos += 1;
        Ok(())
    }

    /// Ends the name run, if any: the token just seen is not part of it.
    fn end_token(&mut self) -> Result<(), Breach> {
        self.last_identifier = None;
        if let Some(run) = self.run.take() {
            check_run(&run)?;
            if run.package && self.scopes.is_empty() {
                self.package_bytes = run.end - run.start;
            }
        }
        Ok(())
    }
}

fn check_run(run: &NameRun) -> Result<(), Breach> {
    let bytes = run.end - run.start;
    let max_bytes = if run.package {
        MAX_PACKAGE_BYTES
    } else {
        MAX_NAME_BYTES
    };
    if bytes > max_bytes || run.segments > MAX_NAME_SEGMENTS {
        return Err(Breach::Name(NameBreach {
            offset: run.start,
            package: run.package,
            bytes,
            segments: run.segments,
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
