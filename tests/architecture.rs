//! The code's shape, checked: no module of any crate imports, directly or
//! through others, a module that imports it back (issue 14: "no import
//! cycles between modules"). A cycle makes two files one unit that neither
//! can be read, tested or moved without the other.
//!
//! The graph is read from the sources, file by file: an edge a -> b when
//! a's code (its `#[cfg(test)] mod` tail cut) names b through a `crate::`,
//! `super::` or `self::` path, in a `use` tree (braces expanded) or inline.
//! A parent's `pub use child::...` is its face, not a use, so no edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;
type Graph = BTreeMap<Module, BTreeSet<Module>>;

#[test]
fn no_crate_has_an_import_cycle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut crates = vec![root.join("src")];
    let mut members: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("src"))
                .collect()
        })
        .unwrap_or_default();
    members.sort();
    crates.extend(members);
    assert!(crates.len() > 1, "no crates found under {}", root.display());

    let mut found = String::new();
    for src in &crates {
        let graph = graph(src);
        assert!(!graph.is_empty(), "no modules read in {}", src.display());
        for cycle in cycles(&graph) {
            found += &format!(
                "{}: {}\n",
                src.strip_prefix(root).unwrap_or(src).display(),
                cycle.iter().map(name).collect::<Vec<_>>().join(", ")
            );
            for a in &cycle {
                for b in graph[a].iter().filter(|b| cycle.contains(b)) {
                    found += &format!("    {} -> {}\n", name(a), name(b));
                }
            }
        }
    }
    assert!(found.is_empty(), "import cycles:\n{found}");
}

/// The reader itself: a known cycle is found, a re-export is not an edge.
#[test]
fn the_reader_finds_a_cycle_and_skips_re_exports() {
    let dir = tempfile::tempdir().unwrap();
    let write = |file: &str, text: &str| std::fs::write(dir.path().join(file), text).unwrap();
    write("lib.rs", "mod a;\nmod b;\nmod c;\npub use a::A;\n");
    write(
        "a.rs",
        "use crate::{b::{B, helper as h}, c};\npub struct A;\n",
    );
    write("b.rs", "pub struct B(super::a::A);\n");
    write(
        "c.rs",
        "//! crate::a is named in a comment only\nconst U: &str = \"http://crate::a\";\n",
    );
    let graph = graph(dir.path());
    let cycles = cycles(&graph);
    assert_eq!(cycles.len(), 1, "{graph:?}");
    assert_eq!(cycles[0].iter().map(name).collect::<Vec<_>>(), ["a", "b"]);
    assert!(graph[&Vec::new()].is_empty(), "the root only re-exports");
    assert!(
        graph[&vec!["c".to_string()]].is_empty(),
        "comments and strings are not uses"
    );
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "(root)".into()
    } else {
        module.join("::")
    }
}

fn graph(src: &Path) -> Graph {
    let mut sources = BTreeMap::new();
    read_tree(src, src, &mut sources);
    let mut graph = Graph::new();
    for (module, text) in &sources {
        let mut edges = BTreeSet::new();
        for (path, re_export) in paths(text) {
            let (base, rest) = anchor(module, &path);
            let mut full = base;
            full.extend(rest);
            let Some(target) = (0..=full.len())
                .rev()
                .map(|k| full[..k].to_vec())
                .find(|m| sources.contains_key(m))
            else {
                continue;
            };
            let descendant = target.len() > module.len() && target.starts_with(module);
            if target != *module && !(re_export && descendant) {
                edges.insert(target);
            }
        }
        graph.insert(module.clone(), edges);
    }
    graph
}

fn read_tree(src: &Path, dir: &Path, out: &mut BTreeMap<Module, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            read_tree(src, &path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let Ok(rel) = path
            .with_extension("")
            .strip_prefix(src)
            .map(Path::to_path_buf)
        else {
            continue;
        };
        let mut module: Module = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if module.last().is_some_and(|l| l == "mod") || module == ["lib"] || module == ["main"] {
            module.pop();
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        out.insert(module, code_only(&text));
    }
}

/// The text without its test tail, comments, string and char literals.
fn code_only(text: &str) -> String {
    let text = text.find("#[cfg(test)]\nmod").map_or(text, |i| &text[..i]);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                out.push_str("\"\"");
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every `crate::`/`super::`/`self::` path in the code, with whether it
/// is a `pub use` (a re-export).
fn paths(code: &str) -> Vec<(Vec<String>, bool)> {
    let mut found = Vec::new();
    let mut rest = code;
    let mut body = String::new();
    // `use` statements first, braces expanded; the rest is scanned inline.
    while let Some(at) = find_word(rest, "use") {
        body.push_str(&rest[..at]);
        let before = rest[..at].trim_end();
        let re_export = before.ends_with("pub") || before.ends_with(')') && before.contains("pub(");
        let Some(end) = rest[at..].find(';') else {
            break;
        };
        let tree: String = rest[at + 3..at + end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        for path in expand(&tree) {
            found.push((path, re_export));
        }
        rest = &rest[at + end + 1..];
    }
    body.push_str(rest);
    for head in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(i) = body[from..].find(head).map(|i| i + from) {
            from = i + head.len();
            if i > 0
                && body[..i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            {
                continue;
            }
            let tail = &body[i..];
            let len = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            let path: Vec<String> = tail[..len]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect();
            found.push((path, false));
        }
    }
    found.retain(|(p, _)| {
        p.first()
            .is_some_and(|h| h == "crate" || h == "super" || h == "self")
    });
    found
}

fn find_word(text: &str, word: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(word).map(|i| i + from) {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && after.is_some_and(char::is_whitespace)
        {
            return Some(i);
        }
        from = i + word.len();
    }
    None
}

/// `a::{b, c::{d, e as f}}` -> a::b, a::c::d, a::c::e.
fn expand(tree: &str) -> Vec<Vec<String>> {
    fn parse(s: &[u8], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        let mut token = String::new();
        while *i < s.len() {
            match s[*i] {
                b'{' => {
                    *i += 1;
                    loop {
                        parse(s, i, &path, out);
                        match s.get(*i) {
                            Some(b',') => *i += 1,
                            Some(b'}') => {
                                *i += 1;
                                return;
                            }
                            _ => return,
                        }
                        if s.get(*i) == Some(&b'}') {
                            *i += 1;
                            return;
                        }
                    }
                }
                b',' | b'}' => break,
                b':' => {
                    if !token.is_empty() {
                        path.push(std::mem::take(&mut token));
                    }
                    *i += 1;
                }
                b' ' => {
                    // `x as y`: the rest of this item is its alias.
                    while *i < s.len() && !matches!(s[*i], b',' | b'}') {
                        *i += 1;
                    }
                }
                c => {
                    token.push(c as char);
                    *i += 1;
                }
            }
        }
        if !token.is_empty() {
            path.push(token);
        }
        out.push(path);
    }
    let compact: String = tree
        .replace(", ", ",")
        .replace("{ ", "{")
        .replace(" }", "}")
        .replace(":: ", "::");
    let mut out = Vec::new();
    parse(compact.trim().as_bytes(), &mut 0, &[], &mut out);
    out
}

/// Where a path starts: the crate root, this module, or an ancestor.
fn anchor(module: &Module, path: &[String]) -> (Module, Vec<String>) {
    let supers = path.iter().take_while(|p| *p == "super").count();
    match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), path[1..].to_vec()),
        Some("self") => (module.clone(), path[1..].to_vec()),
        _ => (
            module[..module.len().saturating_sub(supers)].to_vec(),
            path[supers..].to_vec(),
        ),
    }
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<Vec<Module>> {
    struct Walk<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g Module, usize>,
        low: BTreeMap<&'g Module, usize>,
        stack: Vec<&'g Module>,
        out: Vec<Vec<Module>>,
    }
    impl<'g> Walk<'g> {
        fn visit(&mut self, v: &'g Module) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in &self.graph[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(lw));
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    component.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.out.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.out
}
