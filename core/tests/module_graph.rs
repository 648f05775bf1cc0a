//! Inside a crate, no two modules import each other, directly or around a
//! circle (STYLE.md, "Modules read top-down").
//!
//! Reads each crate's `src/` tree from its root (`lib.rs` or `main.rs`),
//! following `mod` declarations, and collects the module every `crate::…`,
//! `super::…` and `self::…` path (in `use` trees and in expressions) names.
//! The nodes are the crate's top-level modules; code under `#[cfg(test)]`
//! (a `mod tests` or a test-only module such as `test_support`) is a node
//! of its own, since no production module can import it. The crate root is
//! the crate's facade (`mod` and `pub use`) and is not a node; a path to an
//! item the root re-exports (`crate::Result`) counts as a path to the
//! module it comes from.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Cycles that are known and owned by work in progress elsewhere. Each is
/// its modules in sorted order; the test fails if one of them is gone (so
/// the list shrinks) as well as on any cycle not listed.
const KNOWN_CYCLES: &[(&str, &[&str])] = &[];

#[test]
fn core_has_no_module_cycle() {
    assert_acyclic("core");
}

#[test]
fn compat_has_no_module_cycle() {
    assert_acyclic("compat");
}

#[test]
fn server_has_no_module_cycle() {
    assert_acyclic("server");
}

fn assert_acyclic(krate: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src");
    let graph = crate_graph(&src);
    assert!(
        graph.len() > 3,
        "{krate}: the module graph is suspiciously small: {graph:?}"
    );
    let found: BTreeSet<Vec<String>> = cycles(&graph).into_iter().collect();
    let known: BTreeSet<Vec<String>> = KNOWN_CYCLES
        .iter()
        .filter(|(k, _)| *k == krate)
        .map(|(_, m)| m.iter().map(|s| s.to_string()).collect())
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    let mut report = String::new();
    for scc in &new {
        report += &format!("\n  {scc:?}, e.g. {}", describe(&graph, scc));
    }
    assert!(
        new.is_empty(),
        "{krate}/src: modules import each other around a circle:{report}"
    );
    assert!(
        gone.is_empty(),
        "{krate}/src: known cycles no longer there, remove them from KNOWN_CYCLES: {gone:?}"
    );
}

/// One cycle through the modules of `scc`, with the files that make each
/// step, for the failure message.
fn describe(graph: &Graph, scc: &[String]) -> String {
    let members: BTreeSet<&str> = scc.iter().map(String::as_str).collect();
    let start = scc[0].as_str();
    // Shortest path back to `start` (breadth first) inside the component.
    let mut previous: HashMap<&str, &str> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut end = None;
    'search: while let Some(node) = queue.pop_front() {
        for next in graph[node].keys() {
            if next == start {
                end = Some(node);
                break 'search;
            }
            if members.contains(next.as_str()) && !previous.contains_key(next.as_str()) {
                previous.insert(next.as_str(), node);
                queue.push_back(next.as_str());
            }
        }
    }
    let mut path = vec![start];
    let mut node = end.expect("a strongly connected component has a cycle");
    while node != start {
        path.push(node);
        node = previous[node];
    }
    path[1..].reverse();
    path.push(start);
    let steps: Vec<String> = path
        .windows(2)
        .map(|w| format!("{} -> {} ({})", w[0], w[1], graph[w[0]][w[1]]))
        .collect();
    steps.join(", ")
}

/// module → module it names → where (the first file that does).
type Graph = BTreeMap<String, BTreeMap<String, String>>;

/// Every strongly connected component of more than one module, each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    // Tarjan's algorithm.
    struct State<'g> {
        graph: &'g Graph,
        index: HashMap<&'g str, usize>,
        low: HashMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, node: &'g str) {
        let i = s.index.len();
        s.index.insert(node, i);
        s.low.insert(node, i);
        s.stack.push(node);
        s.on_stack.insert(node);
        let graph = s.graph;
        for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
            let next = next.as_str();
            if !s.index.contains_key(next) {
                visit(s, next);
                let low = s.low[node].min(s.low[next]);
                s.low.insert(node, low);
            } else if s.on_stack.contains(next) {
                let low = s.low[node].min(s.index[next]);
                s.low.insert(node, low);
            }
        }
        if s.low[node] == s.index[node] {
            let mut scc = Vec::new();
            loop {
                let top = s.stack.pop().expect("on the stack");
                s.on_stack.remove(top);
                scc.push(top.to_string());
                if top == node {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut state = State {
        graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for node in graph.keys() {
        if !state.index.contains_key(node.as_str()) {
            visit(&mut state, node);
        }
    }
    state.out.sort();
    state.out
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// Rust source as identifiers and punctuation, without comments, string
/// and character literals (lifetimes are identifiers).
fn tokens(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if (c == 'r' || (c == 'b' && at(i + 1) == 'r'))
            && matches!(at(i + 1 + usize::from(c == 'b')), '"' | '#')
            && {
                // A raw string: r"…", r#"…"#, br"…".
                let mut j = i + 1 + usize::from(c == 'b');
                while at(j) == '#' {
                    j += 1;
                }
                at(j) == '"'
            }
        {
            let mut j = i + 1 + usize::from(c == 'b');
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
        } else if c == '"' || (c == 'b' && at(i + 1) == '"') {
            let mut j = i + if c == 'b' { 2 } else { 1 };
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            i = j + 1;
        } else if c == '\'' {
            // A character literal, or a lifetime (kept as an identifier).
            if at(i + 1) == '\\' {
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token::Sep);
            i += 2;
        } else {
            out.push(Token::Punct(c));
            i += 1;
        }
    }
    out
}

/// What one file says: its `mod x;` declarations and the absolute paths it
/// names, each with whether it is named from test-only code.
#[derive(Debug, Default)]
struct FileFacts {
    /// (inline module path below the file, name, test only)
    mods: Vec<(Vec<String>, String, bool)>,
    /// (absolute path, test-only module the naming code is in, if any)
    paths: Vec<(Vec<String>, Option<Vec<String>>)>,
    /// Names the file re-exports with `pub use child::…` → that child.
    reexports: Vec<(String, String)>,
}

fn is(token: Option<&Token>, text: &str) -> bool {
    matches!(token, Some(Token::Ident(t)) if t == text)
}

fn ident(token: Option<&Token>) -> Option<String> {
    match token {
        Some(Token::Ident(t)) => Some(t.clone()),
        _ => None,
    }
}

/// Parses one file whose module path is `module` (test-only when `test`).
fn file_facts(text: &str, module: &[String], test: bool) -> FileFacts {
    let toks = tokens(text);
    let mut facts = FileFacts::default();
    // Inline modules open around the current token: (name, brace depth
    // inside them, test only).
    let mut inline: Vec<(String, usize, bool)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_test = false;
    let mut i = 0;
    while i < toks.len() {
        let here = |inline: &Vec<(String, usize, bool)>| -> Vec<String> {
            module
                .iter()
                .cloned()
                .chain(inline.iter().map(|(n, _, _)| n.clone()))
                .collect()
        };
        let test_scope = |inline: &Vec<(String, usize, bool)>| -> Option<Vec<String>> {
            if test {
                return Some(module.to_vec());
            }
            let first = inline.iter().position(|(_, _, t)| *t)?;
            Some(
                module
                    .iter()
                    .cloned()
                    .chain(inline[..=first].iter().map(|(n, _, _)| n.clone()))
                    .collect(),
            )
        };
        match &toks[i] {
            Token::Punct('#')
                if toks.get(i + 1) == Some(&Token::Punct('['))
                    && is(toks.get(i + 2), "cfg")
                    && toks.get(i + 3) == Some(&Token::Punct('('))
                    && is(toks.get(i + 4), "test")
                    && toks.get(i + 5) == Some(&Token::Punct(')')) =>
            {
                pending_test = true;
                i += 6;
                continue;
            }
            Token::Ident(word) if word == "mod" => {
                let Some(name) = ident(toks.get(i + 1)) else {
                    i += 1;
                    continue;
                };
                let in_test = pending_test || test_scope(&inline).is_some();
                pending_test = false;
                match toks.get(i + 2) {
                    Some(Token::Punct(';')) => {
                        let below: Vec<String> = inline.iter().map(|(n, _, _)| n.clone()).collect();
                        facts.mods.push((below, name, in_test));
                        i += 3;
                    }
                    Some(Token::Punct('{')) => {
                        depth += 1;
                        inline.push((name, depth, in_test));
                        i += 3;
                    }
                    _ => i += 2,
                }
                continue;
            }
            Token::Punct('{') => {
                pending_test = false;
                depth += 1;
            }
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d, _)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Token::Punct(';') => pending_test = false,
            Token::Ident(word)
                if module.is_empty()
                    && inline.is_empty()
                    && word == "use"
                    && i > 0
                    && is(toks.get(i - 1), "pub") =>
            {
                // `pub use child::{A, B as C}` in the crate root.
                if let Some(child) = ident(toks.get(i + 1))
                    && toks.get(i + 2) == Some(&Token::Sep)
                {
                    let mut j = i + 3;
                    let mut paths = Vec::new();
                    use_tree(&toks, &mut j, vec![child.clone()], &mut paths);
                    for (path, alias) in paths {
                        if let Some(name) = alias.or_else(|| path.last().cloned()) {
                            facts.reexports.push((name, child.clone()));
                        }
                    }
                }
            }
            Token::Ident(word)
                if matches!(word.as_str(), "crate" | "super" | "self")
                    && toks.get(i + 1) == Some(&Token::Sep)
                    && !(i > 0 && toks[i - 1] == Token::Sep) =>
            {
                let scope = test_scope(&inline);
                let base = here(&inline);
                let mut j = i;
                let mut prefix: Vec<String> = Vec::new();
                let mut absolute = match word.as_str() {
                    "crate" => Some(Vec::new()),
                    _ => None,
                };
                // Resolve leading `self::`/`super::` segments.
                if absolute.is_none() {
                    let mut resolved = base.clone();
                    while let Some(Token::Ident(w)) = toks.get(j) {
                        match w.as_str() {
                            "super" => {
                                resolved.pop();
                            }
                            "self" => {}
                            _ => break,
                        }
                        if toks.get(j + 1) != Some(&Token::Sep) {
                            break;
                        }
                        j += 2;
                    }
                    absolute = Some(resolved);
                } else {
                    j += 2;
                }
                prefix.extend(absolute.unwrap_or_default());
                let mut paths = Vec::new();
                use_tree(&toks, &mut j, prefix, &mut paths);
                for (path, _) in paths {
                    facts.paths.push((path, scope.clone()));
                }
                i = j.max(i + 1);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    facts
}

/// A path a use tree names, and the name it is bound to there (`as`).
type Named = (Vec<String>, Option<String>);

/// Reads a path or use tree starting at `toks[*j]` (after `prefix::`),
/// pushing every full path it names.
fn use_tree(toks: &[Token], j: &mut usize, mut prefix: Vec<String>, out: &mut Vec<Named>) {
    loop {
        match toks.get(*j) {
            Some(Token::Ident(name)) => {
                if name != "self" {
                    prefix.push(name.clone());
                }
                *j += 1;
                if toks.get(*j) == Some(&Token::Sep) {
                    *j += 1;
                    continue;
                }
                let alias = if is(toks.get(*j), "as") {
                    *j += 2;
                    ident(toks.get(*j - 1))
                } else {
                    None
                };
                out.push((prefix, alias));
                return;
            }
            Some(Token::Punct('{')) => {
                *j += 1;
                loop {
                    match toks.get(*j) {
                        Some(Token::Punct('}')) | None => {
                            *j += 1;
                            return;
                        }
                        Some(Token::Punct(',')) => *j += 1,
                        _ => use_tree(toks, j, prefix.clone(), out),
                    }
                }
            }
            _ => {
                // `*`, `<`, `!` …: the path so far.
                out.push((prefix, None));
                return;
            }
        }
    }
}

/// The module graph of the crate whose sources are in `src`.
fn crate_graph(src: &Path) -> Graph {
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("no lib.rs or main.rs in {}", src.display()));
    // (file, module path, directory of its children, test only)
    let mut files: Vec<(PathBuf, Vec<String>, PathBuf, bool)> =
        vec![(root, Vec::new(), src.to_path_buf(), false)];
    let mut parsed = Vec::new();
    let mut test_modules: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut reexports: HashMap<String, String> = HashMap::new();
    while let Some((file, module, dir, test)) = files.pop() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let facts = file_facts(&text, &module, test);
        for (below, name, in_test) in &facts.mods {
            let mut child_dir = dir.clone();
            for b in below {
                child_dir.push(b);
            }
            let flat = child_dir.join(format!("{name}.rs"));
            let nested = child_dir.join(name).join("mod.rs");
            let path = if flat.exists() { flat } else { nested };
            assert!(path.exists(), "{}: mod {name} not found", file.display());
            let mut child: Vec<String> = module.clone();
            child.extend(below.iter().cloned());
            child.push(name.clone());
            if *in_test && !test {
                test_modules.insert(child.clone());
            }
            files.push((path, child, child_dir.join(name), *in_test || test));
        }
        if module.is_empty() {
            reexports.extend(facts.reexports.iter().cloned());
        }
        let rel = file
            .strip_prefix(src)
            .unwrap_or(&file)
            .display()
            .to_string();
        parsed.push((rel, module, test, facts));
    }
    let top_modules: BTreeSet<String> = parsed
        .iter()
        .filter(|(_, m, _, _)| m.len() == 1)
        .map(|(_, m, _, _)| m[0].clone())
        .collect();
    // Which node code at `module` (test code in `scope`) belongs to.
    let node_of = |module: &[String], scope: Option<&Vec<String>>| -> Option<String> {
        if let Some(scope) = scope {
            return Some(scope.join("::"));
        }
        if let Some(t) = test_modules.iter().find(|t| module.starts_with(t)) {
            return Some(t.join("::"));
        }
        module.first().cloned()
    };
    let mut graph = Graph::new();
    for (rel, module, _, facts) in &parsed {
        for (path, scope) in &facts.paths {
            let Some(from) = node_of(module, scope.as_ref()) else {
                continue; // the crate root
            };
            let target: Vec<String> = match path.first() {
                Some(first) if top_modules.contains(first) => path.clone(),
                Some(first) => match reexports.get(first) {
                    Some(module) => vec![module.clone()],
                    None => continue,
                },
                None => continue,
            };
            let Some(to) = node_of(&target, None) else {
                continue;
            };
            graph.entry(to.clone()).or_default();
            if to != from {
                graph
                    .entry(from)
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| rel.clone());
            } else {
                graph.entry(from).or_default();
            }
        }
        if let Some(node) = node_of(module, None) {
            graph.entry(node).or_default();
        }
    }
    graph
}

mod checker {
    //! The checker itself, on small synthetic crates.

    use super::*;

    fn write(dir: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn graph_of(name: &str, files: &[(&str, &str)]) -> Graph {
        let dir = std::env::temp_dir().join(format!(
            "protoreg-module-graph-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        write(&dir, files);
        let graph = crate_graph(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        graph
    }

    #[test]
    fn finds_a_cycle_around_three_modules() {
        let graph = graph_of(
            "three",
            &[
                (
                    "lib.rs",
                    "pub mod a;\npub mod b;\nmod c;\npub use c::Thing;",
                ),
                ("a.rs", "use crate::b::{self, B};\nfn f() {}"),
                ("b/mod.rs", "mod inner;\n"),
                ("b/inner.rs", "pub fn g() { super::super::c::h() }"),
                ("c.rs", "pub struct Thing;\nfn h() { crate::a::f() }"),
            ],
        );
        assert_eq!(
            cycles(&graph),
            vec![vec!["a".to_string(), "b".into(), "c".into()]]
        );
        let text = describe(&graph, &cycles(&graph)[0]);
        assert!(text.contains("b -> c (b/inner.rs)"), "{text}");
    }

    #[test]
    fn finds_a_cycle_through_a_root_reexport_and_a_use_group() {
        let graph = graph_of(
            "reexport",
            &[
                ("lib.rs", "mod a;\nmod b;\npub use a::{Alpha as A2, x::Y};"),
                ("a.rs", "use crate::{ids, b::B};\npub struct Alpha;"),
                ("b.rs", "fn f() -> crate::A2 { todo!() }"),
                ("ids.rs", ""),
            ],
        );
        assert_eq!(cycles(&graph), vec![vec!["a".to_string(), "b".into()]]);
    }

    #[test]
    fn ignores_tests_comments_strings_and_the_root() {
        let graph = graph_of(
            "clean",
            &[
                (
                    "lib.rs",
                    "mod a;\nmod b;\n#[cfg(test)]\npub(crate) mod support;\nuse a::A; use b::B;",
                ),
                (
                    "a.rs",
                    "// crate::b::x\nconst S: &str = \"crate::b::x\";\nconst R: &str = r#\"super::b\"#;\n\
                     fn f<'a>(c: char) -> bool { c == '{' }\n\
                     #[cfg(test)]\nmod tests { use crate::b::B; use crate::support; }",
                ),
                ("b.rs", "use crate::a::A;\n#[cfg(test)]\nmod tests;"),
                ("b/tests.rs", "use crate::support::x;"),
                ("support.rs", "use crate::{a, b};"),
            ],
        );
        assert!(cycles(&graph).is_empty(), "{graph:?}");
        assert!(graph["a::tests"].contains_key("b"), "{graph:?}");
        assert!(graph["b"].contains_key("a"), "{graph:?}");
        assert!(graph["b::tests"].contains_key("support"), "{graph:?}");
        assert!(!graph["a"].contains_key("b"), "{graph:?}");
    }
}
