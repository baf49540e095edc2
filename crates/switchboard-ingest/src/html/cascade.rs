//! Which declaration wins, for each element, for each property that can hide text: the page's
//! `<style>` rules matched against the tree, then the element's `style` attribute.
//!
//! Matching is scraper's: its selector implementation run by the `selectors` crate on scraper's
//! elements, the engine behind `scraper::Selector::matches`, called per complex selector so each
//! keeps its own specificity. The cascade is CSS's for one origin: an `!important` declaration
//! beats a normal one; then the `style` attribute beats the stylesheets; then the higher
//! specificity; then the later rule. External stylesheets are never fetched.
//!
//! The work is bounded: the CSS read per page ([`MAX_CSS_BYTES`]), the rules kept
//! ([`css::MAX_RULES`]) and the selector tests run ([`MAX_TESTS`]; rules are indexed by the id,
//! class or tag their selector ends with, as browsers do, so an element is tested only against
//! rules that could match it). Past a cap the rest is left out with a warning, and text it
//! would hide is kept. The deadline is checked throughout.

use std::collections::HashMap;

use ego_tree::NodeId;
use scraper::selector::Simple;
use scraper::{ElementRef, Html};
use selectors::context::{MatchingContext, MatchingForInvalidation, MatchingMode, NeedsSelectorFlags, QuirksMode};
use selectors::matching::matches_selector;
use selectors::parser::{Component, Selector};

use super::css::{self, Declaration, Property, Rule};
use crate::limits::{Halt, Sink};

/// Bytes of `<style>` text read per page; later blocks are left out.
const MAX_CSS_BYTES: usize = 1024 * 1024;

/// Selector tests per page (one element against one complex selector). A page of 3,000
/// elements and a thousand rules needs far fewer thanks to the index.
const MAX_TESTS: usize = 2_000_000;

/// How a declaration ranks in the cascade: larger wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    important: bool,
    inline: bool,
    specificity: u32,
    order: u32,
}

/// The winning value of each property read, for one element.
#[derive(Clone, Debug, Default)]
pub(super) struct Computed {
    values: [Option<(Rank, String)>; Property::COUNT],
}

impl Computed {
    pub(super) fn get(&self, property: Property) -> Option<&str> {
        self.values[property as usize].as_ref().map(|(_, v)| v.as_str())
    }

    /// The declarations of a `style` attribute alone.
    #[cfg(test)]
    pub(super) fn inline(style: &str) -> Computed {
        let mut computed = Computed::default();
        computed.declare_inline(style);
        computed
    }

    fn declare(&mut self, declaration: &Declaration, rank: Rank) {
        let slot = &mut self.values[declaration.property as usize];
        if slot.as_ref().is_none_or(|(held, _)| rank >= *held) {
            *slot = Some((rank, declaration.value.clone()));
        }
    }

    fn declare_inline(&mut self, style: &str) {
        for (order, d) in css::parse_inline(style).iter().enumerate() {
            let rank = Rank { important: d.important, inline: true, specificity: 0, order: order as u32 };
            self.declare(d, rank);
        }
    }
}

/// The computed styles of a document's elements (those that declare anything).
pub(super) struct Styles {
    by_node: HashMap<NodeId, Computed>,
}

impl Styles {
    pub(super) fn of(&self, node: NodeId) -> Option<&Computed> {
        self.by_node.get(&node)
    }

    pub(super) fn compute(html: &Html, sink: &mut Sink) -> Result<Styles, Halt> {
        let mut complete = true;
        let rules = read_stylesheets(html, sink, &mut complete)?;
        let index = Index::new(&rules);
        let mut caches = Default::default();
        let mut context = MatchingContext::new(
            MatchingMode::Normal,
            None,
            &mut caches,
            QuirksMode::NoQuirks,
            NeedsSelectorFlags::No,
            MatchingForInvalidation::No,
        );
        let mut by_node = HashMap::new();
        let mut tests = 0usize;
        let mut candidates = Vec::new();
        for node in html.tree.nodes() {
            let Some(element) = ElementRef::wrap(node) else { continue };
            let mut computed = Computed::default();
            index.candidates(&element, &mut candidates);
            for &(rule, selector) in &candidates {
                if tests >= MAX_TESTS {
                    complete = false;
                    break;
                }
                tests += 1;
                sink.tick()?;
                let selector: &Selector<Simple> = &rules[rule].selectors.slice()[selector];
                if matches_selector(selector, 0, None, &element, &mut context) {
                    let specificity = selector.specificity();
                    for d in &rules[rule].declarations {
                        let rank = Rank { important: d.important, inline: false, specificity, order: rule as u32 };
                        computed.declare(d, rank);
                    }
                }
            }
            if let Some(style) = element.value().attr("style") {
                computed.declare_inline(style);
            }
            if computed.values.iter().any(Option::is_some) {
                by_node.insert(node.id(), computed);
            }
        }
        if !complete {
            sink.warnings.push(
                "the page's stylesheets were too large to read in full: text they hide may have been kept".to_owned(),
            );
        }
        Ok(Styles { by_node })
    }
}

/// The rules of the page's `<style>` elements, in document order.
fn read_stylesheets(html: &Html, sink: &mut Sink, complete: &mut bool) -> Result<Vec<Rule>, Halt> {
    let mut rules = Vec::new();
    let mut budget = MAX_CSS_BYTES;
    for node in html.tree.nodes() {
        let Some(element) = ElementRef::wrap(node) else { continue };
        let e = element.value();
        if e.name() != "style"
            || !e.attr("type").is_none_or(|t| t.trim().is_empty() || t.trim().eq_ignore_ascii_case("text/css"))
            || !e.attr("media").is_none_or(css::media_applies)
            || node.ancestors().any(|a| a.value().as_element().is_some_and(|a| a.name() == "template"))
        {
            continue;
        }
        let text: String = node.children().filter_map(|c| c.value().as_text().map(|t| &**t)).collect();
        if text.len() > budget {
            *complete = false;
            break;
        }
        budget -= text.len();
        *complete &= css::parse_sheet(&text, &mut rules);
        sink.check_deadline()?;
    }
    Ok(rules)
}

enum Key {
    Id(String),
    Class(String),
    Tag(String),
}

/// `(rule, selector)` pairs by what the selector's last compound requires: an id, a class or a
/// tag (the first of these found), or nothing we index on.
struct Index {
    ids: HashMap<String, Vec<(usize, usize)>>,
    classes: HashMap<String, Vec<(usize, usize)>>,
    tags: HashMap<String, Vec<(usize, usize)>>,
    any: Vec<(usize, usize)>,
}

impl Index {
    fn new(rules: &[Rule]) -> Index {
        let mut index = Index { ids: HashMap::new(), classes: HashMap::new(), tags: HashMap::new(), any: Vec::new() };
        for (r, rule) in rules.iter().enumerate() {
            for (s, selector) in rule.selectors.slice().iter().enumerate() {
                let key = selector.iter().find_map(|c| match c {
                    Component::ID(id) => Some(Key::Id(id.0.to_string())),
                    Component::Class(class) => Some(Key::Class(class.0.to_string())),
                    _ => None,
                });
                let key = key.or_else(|| {
                    selector.iter().find_map(|c| match c {
                        Component::LocalName(name) => Some(Key::Tag(name.lower_name.0.to_string())),
                        _ => None,
                    })
                });
                let bucket = match key {
                    Some(Key::Id(id)) => index.ids.entry(id).or_default(),
                    Some(Key::Class(class)) => index.classes.entry(class).or_default(),
                    Some(Key::Tag(tag)) => index.tags.entry(tag).or_default(),
                    None => &mut index.any,
                };
                bucket.push((r, s));
            }
        }
        index
    }

    /// The pairs `element` could match, each once.
    fn candidates(&self, element: &ElementRef<'_>, out: &mut Vec<(usize, usize)>) {
        out.clear();
        let e = element.value();
        let mut add = |pairs: Option<&Vec<(usize, usize)>>| out.extend(pairs.into_iter().flatten().copied());
        add(e.id().and_then(|id| self.ids.get(id)));
        for class in e.classes() {
            add(self.classes.get(class));
        }
        add(self.tags.get(e.name()));
        out.extend_from_slice(&self.any);
        out.sort_unstable();
        out.dedup();
    }
}
