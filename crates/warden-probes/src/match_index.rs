//! The `matching` patterns of the live checks, and the index that answers
//! all of them in one pass over a process table's command lines: one
//! Aho-Corasick automaton over every pattern's literals, so each command
//! line is read once for all patterns (a scan per check was 10^8 pattern
//! tests at 10,000 checks over 10,000 processes), and only the candidates
//! a regex's literals let through are given to the regex.

use std::sync::{Arc, Mutex, MutexGuard};

use aho_corasick::AhoCorasick;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::pattern::Pattern;

/// The patterns of every live check that locates its process by
/// `matching`, each in a slot of its own for as long as its [`Watch`] lives.
#[derive(Debug, Default)]
pub struct Watched {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    slots: Vec<Option<Arc<Pattern>>>,
    free: Vec<u32>,
    /// Bumped by every change of the slots: an index or an answer made
    /// at an older generation may lack a pattern watched since.
    generation: u64,
    /// The index of the latest generation it was built for.
    index: Option<Arc<Index>>,
}

/// A check's place among the watched patterns; dropping it frees the slot.
#[derive(Debug)]
pub struct Watch {
    watched: Arc<Watched>,
    slot: u32,
    /// The generation that added it: an answer older than this does not
    /// know this pattern (or knows another one in the same slot).
    since: u64,
}

impl Watch {
    pub(crate) fn slot(&self) -> usize {
        self.slot as usize
    }

    pub(crate) fn since(&self) -> u64 {
        self.since
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let mut registry = self.watched.registry();
        if let Some(slot) = registry.slots.get_mut(self.slot as usize) {
            *slot = None;
            registry.free.push(self.slot);
            registry.generation += 1;
        }
    }
}

impl Watched {
    fn registry(&self) -> MutexGuard<'_, Registry> {
        // The registry stays whole whatever panicked while it was held.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `pattern` to the patterns every answer covers.
    pub fn watch(self: &Arc<Self>, pattern: Arc<Pattern>) -> Watch {
        let mut registry = self.registry();
        registry.generation += 1;
        let slot = match registry.free.pop() {
            Some(slot) => {
                registry.slots[slot as usize] = Some(pattern);
                slot
            }
            None => {
                registry.slots.push(Some(pattern));
                // More than 4 billion checks do not fit in a config.
                u32::try_from(registry.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        Watch {
            watched: Arc::clone(self),
            slot,
            since: registry.generation,
        }
    }

    pub fn generation(&self) -> u64 {
        self.registry().generation
    }

    /// The index of the watched patterns as they are now, built when they
    /// changed since the last one. Blocking (building it for 10,000
    /// patterns takes milliseconds): call it off the async workers.
    pub fn index(&self) -> Arc<Index> {
        let (generation, patterns) = {
            let registry = self.registry();
            if let Some(index) = registry
                .index
                .as_ref()
                .filter(|i| i.generation == registry.generation)
            {
                return Arc::clone(index);
            }
            (registry.generation, registry.slots.clone())
        };
        // Built outside the lock: probes are made and dropped meanwhile.
        let index = Arc::new(Index::build(generation, &patterns));
        let mut registry = self.registry();
        if registry.generation == generation {
            registry.index = Some(Arc::clone(&index));
        }
        index
    }
}

/// What a command line must contain for a slot's pattern to match it.
#[derive(Debug)]
enum Needle {
    /// A plain-text pattern: containing it is matching.
    Text(Box<[u8]>),
    /// A regex: a match begins with one of `prefixes` and ends with one of
    /// `suffixes` (an empty list: no literal known at that end); a command
    /// line holding both is a candidate, confirmed by the regex.
    Literals {
        prefixes: Vec<Vec<u8>>,
        suffixes: Vec<Vec<u8>>,
    },
    /// Nothing known: the regex is tried on every command line.
    Everywhere,
}

/// Every literal's slot and the group it belongs to.
const PREFIX: u8 = 1;
const SUFFIX: u8 = 2;

/// The watched patterns of one generation, ready to answer a table.
#[derive(Debug)]
pub struct Index {
    generation: u64,
    /// The automaton over every literal; None when no pattern has one.
    automaton: Option<AhoCorasick>,
    /// For each literal of the automaton: its slot and its group.
    literals: Vec<(u32, u8)>,
    /// For each slot: the groups a candidate must hold (0: a free slot or
    /// one tried everywhere), and the regex confirming a candidate (None:
    /// plain text, the literal is the match).
    slots: Vec<(u8, Option<Arc<Pattern>>)>,
    /// The slots whose pattern is tried on every command line.
    everywhere: Vec<(u32, Arc<Pattern>)>,
}

impl Index {
    fn build(generation: u64, patterns: &[Option<Arc<Pattern>>]) -> Index {
        let mut texts: Vec<Vec<u8>> = Vec::new();
        let mut literals = Vec::new();
        let mut slots = Vec::with_capacity(patterns.len());
        let mut everywhere = Vec::new();
        for (slot, pattern) in patterns.iter().enumerate() {
            let slot32 = u32::try_from(slot).unwrap_or(u32::MAX);
            let Some(pattern) = pattern else {
                slots.push((0, None));
                continue;
            };
            match needle(pattern) {
                Needle::Text(text) => {
                    texts.push(text.into_vec());
                    literals.push((slot32, PREFIX));
                    slots.push((PREFIX, None));
                }
                Needle::Literals { prefixes, suffixes } => {
                    let mut need = 0;
                    for (group, list) in [(PREFIX, prefixes), (SUFFIX, suffixes)] {
                        if !list.is_empty() {
                            need |= group;
                        }
                        for literal in list {
                            texts.push(literal);
                            literals.push((slot32, group));
                        }
                    }
                    slots.push((need, Some(Arc::clone(pattern))));
                }
                Needle::Everywhere => {
                    everywhere.push((slot32, Arc::clone(pattern)));
                    slots.push((0, None));
                }
            }
        }
        let automaton = if texts.is_empty() {
            None
        } else {
            match AhoCorasick::new(&texts) {
                Ok(automaton) => Some(automaton),
                Err(_) => {
                    // Too big for the automaton (it would need more states
                    // than it can number): every pattern is tried on every
                    // command line instead, as before there was an index.
                    literals.clear();
                    everywhere.clear();
                    for (slot, entry) in slots.iter_mut().enumerate() {
                        *entry = (0, None);
                        if let Some(Some(pattern)) = patterns.get(slot) {
                            let slot = u32::try_from(slot).unwrap_or(u32::MAX);
                            everywhere.push((slot, Arc::clone(pattern)));
                        }
                    }
                    None
                }
            }
        };
        Index {
            generation,
            automaton,
            literals,
            slots,
            everywhere,
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// How many slots an answer has.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Calls `found(slot)` once for every slot whose pattern matches
    /// `line`; `scratch` is reused across lines.
    pub fn each_match(&self, line: &str, scratch: &mut Scratch, mut found: impl FnMut(usize)) {
        scratch.line = scratch.line.wrapping_add(1);
        if scratch.line == 0 {
            // Wrapped: old stamps could equal the new ones.
            scratch.stamp.fill(0);
            scratch.line = 1;
        }
        if scratch.stamp.len() < self.slots.len() {
            scratch.stamp.resize(self.slots.len(), 0);
            scratch.held.resize(self.slots.len(), 0);
        }
        scratch.touched.clear();
        if let Some(automaton) = &self.automaton {
            for hit in automaton.find_overlapping_iter(line) {
                let Some(&(slot, group)) = self.literals.get(hit.pattern().as_usize()) else {
                    continue;
                };
                let slot = slot as usize;
                if scratch.stamp[slot] != scratch.line {
                    scratch.stamp[slot] = scratch.line;
                    scratch.held[slot] = 0;
                    scratch.touched.push(slot as u32);
                }
                scratch.held[slot] |= group;
            }
        }
        for &slot in &scratch.touched {
            let slot = slot as usize;
            let (need, regex) = &self.slots[slot];
            if scratch.held[slot] == *need && regex.as_ref().is_none_or(|re| re.is_match(line)) {
                found(slot);
            }
        }
        for (slot, pattern) in &self.everywhere {
            if pattern.is_match(line) {
                found(*slot as usize);
            }
        }
    }
}

/// What [`Index::each_match`] keeps between lines: which slots the current
/// line's literals touched and the groups each holds, stamped by line so
/// nothing is cleared per line.
#[derive(Debug, Default)]
pub struct Scratch {
    line: u32,
    stamp: Vec<u32>,
    held: Vec<u8>,
    touched: Vec<u32>,
}

/// What a command line needs to hold for `pattern` to match it.
fn needle(pattern: &Pattern) -> Needle {
    let text = match pattern {
        Pattern::Literal(text) if text.is_empty() => return Needle::Everywhere,
        Pattern::Literal(text) => return Needle::Text(text.as_bytes().into()),
        Pattern::Regex(re) => re.as_str(),
    };
    // The regex crate parses with these same defaults (Unicode, case
    // sensitive unless the pattern says `(?i)`), so every match of the
    // compiled regex is a match of this tree.
    let Ok(hir) = regex_syntax::parse(text) else {
        return Needle::Everywhere;
    };
    let ends = [ExtractKind::Prefix, ExtractKind::Suffix].map(|kind| {
        let seq = Extractor::new().kind(kind).extract(&hir);
        // A finite set of non-empty literals: every match begins (ends)
        // with one of them. An empty literal says nothing.
        match seq.literals() {
            Some(list) if !list.is_empty() && list.iter().all(|l| !l.is_empty()) => list
                .iter()
                .map(|l| l.as_bytes().to_vec())
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        }
    });
    let [prefixes, suffixes] = ends;
    if prefixes.is_empty() && suffixes.is_empty() {
        Needle::Everywhere
    } else {
        Needle::Literals { prefixes, suffixes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(patterns: &[&str]) -> (Arc<Watched>, Vec<Watch>, Arc<Index>) {
        let watched = Arc::new(Watched::default());
        let watches = patterns
            .iter()
            .map(|p| watched.watch(Arc::new(Pattern::new(p).unwrap())))
            .collect();
        let index = watched.index();
        (watched, watches, index)
    }

    fn matches(index: &Index, line: &str) -> Vec<usize> {
        let mut found = Vec::new();
        index.each_match(line, &mut Scratch::default(), |slot| found.push(slot));
        found.sort_unstable();
        found
    }

    /// Every pattern, alone, against every line, as the index says it.
    const PATTERNS: &[&str] = &[
        "sleep 4000123",
        "sleep",
        "",
        " ",
        "worker --queue q1",
        r"^java .*jenkins",
        r"jenkins\.war$",
        r"(?i)NGINX: master",
        r"nginx: (master|worker)",
        r"\bpostgres\b",
        r"[a-z]+d$",
        r".*",
        r"^$",
        r"^\[kthreadd\]$",
        r"\d{3}",
        r"a|\w+x",
        r"sl(e)+p 4",
        r"q1$",
        r"(?i)ü",
        r"[^a]",
    ];

    const LINES: &[&str] = &[
        "sleep 4000123",
        "sleep 40001234",
        "/usr/bin/sleep 4000123 x",
        "sleep 400012",
        "",
        "worker --queue q1",
        "worker --queue q1 -x",
        "java -jar /usr/share/jenkins/jenkins.war",
        "/usr/bin/java jenkins",
        "nginx: master process /usr/sbin/nginx",
        "Nginx: MASTER process",
        "nginx: worker process",
        "postgres: checkpointer",
        "/usr/lib/postgresql/bin/postgres -D x",
        "postgresql",
        "[kthreadd]",
        "mysqld",
        "slep 4",
        "sleeeep 4",
        "ÜBER",
        "über",
        "aaaa",
        "box",
    ];

    #[test]
    fn the_index_agrees_with_each_pattern_on_every_line() {
        let (_watched, watches, index) = index_of(PATTERNS);
        for line in LINES {
            let want: Vec<usize> = PATTERNS
                .iter()
                .zip(&watches)
                .filter(|(p, _)| Pattern::new(p).unwrap().is_match(line))
                .map(|(_, w)| w.slot())
                .collect();
            assert_eq!(matches(&index, line), want, "{line:?}");
        }
    }

    #[test]
    fn plain_text_and_regexes_with_literals_are_in_the_automaton() {
        let (_w, _ws, index) = index_of(&["sleep 4000123", r"^java .*jenkins", r".*", r"\d+"]);
        // The two with literals; `.*` and `\d+` tried everywhere.
        assert_eq!(index.everywhere.len(), 2);
        assert!(index.automaton.is_some());
        assert_eq!(index.slots[0], (PREFIX, None));
        assert_eq!(index.slots[1].0, PREFIX | SUFFIX);
    }

    #[test]
    fn a_dropped_watch_frees_its_slot_and_a_new_generation_forgets_it() {
        let watched = Arc::new(Watched::default());
        let a = watched.watch(Arc::new(Pattern::new("alpha").unwrap()));
        let b = watched.watch(Arc::new(Pattern::new("beta").unwrap()));
        let first = watched.index();
        assert!(Arc::ptr_eq(&first, &watched.index()), "built once");
        assert_eq!(matches(&first, "alpha beta"), vec![a.slot(), b.slot()]);
        let slot = a.slot();
        drop(a);
        let c = watched.watch(Arc::new(Pattern::new("gamma").unwrap()));
        assert_eq!(c.slot(), slot, "the slot is reused");
        assert!(c.since() > first.generation());
        let second = watched.index();
        let mut want = vec![b.slot(), c.slot()];
        want.sort_unstable();
        assert_eq!(matches(&second, "alpha beta gamma"), want);
    }

    #[test]
    fn ten_thousand_plain_patterns_build_small_and_answer_each_line_alone() {
        let texts: Vec<String> = (0..10_000)
            .map(|i| format!("sleep {}", 4_000_000 + i))
            .collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let (_w, watches, index) = index_of(&refs);
        for i in [0, 1, 4_321, 9_999] {
            assert_eq!(matches(&index, &texts[i]), vec![watches[i].slot()]);
        }
        let bytes = index
            .automaton
            .as_ref()
            .map_or(0, AhoCorasick::memory_usage);
        assert!(bytes < 8 << 20, "{bytes} bytes");
    }
}
