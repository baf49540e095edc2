//! The page's own CSS, as far as hiding text goes: the rules of its `<style>` blocks and the
//! declarations of `style` attributes, keeping only the properties [`super::style`] reads.
//!
//! Tokenizing is cssparser's (the tokenizer scraper's selectors are parsed with), so comments,
//! strings, escapes and nested blocks are read as a browser reads them and a broken rule is
//! skipped without losing the ones after it. Selectors are parsed by scraper's own selector
//! parser. Rules inside `@media` count when the query would hold on a desktop screen (see
//! [`media_applies`]) and inside `@layer` always; every other at-rule (`@supports`,
//! `@container`, `@import`: nothing is fetched) is skipped, so text it would hide is kept.

use cssparser::{
    AtRuleParser, CowRcStr, DeclarationParser, ParseError, Parser, ParserState, QualifiedRuleParser,
    RuleBodyItemParser, RuleBodyParser, StyleSheetParser, ToCss, Token,
};
use scraper::selector::Simple;
use selectors::parser::{ParseRelative, SelectorList};

/// Style rules kept per document (only those that set a property we read count). Real pages,
/// a whole CSS framework inlined included, stay below it.
pub(super) const MAX_RULES: usize = 5_000;

/// Brackets nested deeper than this in a selector make the rule skipped: the selector parser
/// recurses into `:is(:not(…))`, and no real selector nests more than a few levels.
const MAX_SELECTOR_NESTING: usize = 16;

/// `@media` and `@layer` blocks nested deeper than this are skipped (parsing them recurses).
const MAX_GROUP_NESTING: usize = 4;

/// Nested brackets read in a declaration value (`rgb(…)`, `var(…, …)`) before it is unknown.
const MAX_VALUE_NESTING: usize = 4;

/// The longhand properties that can hide text, as `style` reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Property {
    Display,
    Visibility,
    FontSize,
    Opacity,
    Color,
    BackgroundColor,
    BackgroundImage,
}

impl Property {
    pub(super) const COUNT: usize = 7;
}

/// One declaration of a property we read: its value in lower case, without `!important`.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Declaration {
    pub(super) property: Property,
    pub(super) value: String,
    pub(super) important: bool,
}

/// A style rule: its selector list (scraper's selector implementation) and what it declares.
pub(super) struct Rule {
    pub(super) selectors: SelectorList<Simple>,
    pub(super) declarations: Vec<Declaration>,
}

/// Appends the rules of one stylesheet to `rules`, at most [`MAX_RULES`] in all. Returns false
/// when rules were left out because of that cap.
pub(super) fn parse_sheet(css: &str, rules: &mut Vec<Rule>) -> bool {
    let mut parser = Parser::new(css);
    let mut sheet = Sheet { rules, nesting: 0, complete: true };
    sheet.parse(&mut parser);
    sheet.complete
}

/// The declarations of a `style` attribute, in their order.
pub(super) fn parse_inline(style: &str) -> Vec<Declaration> {
    let mut parser = Parser::new(style);
    declarations(&mut parser)
}

/// Whether a media query list (`screen and (min-width: 40em), print`) holds on a desktop
/// screen, 1280 by 800 CSS pixels in light mode. Queries we cannot judge (`not …`, `print`,
/// `speech`, features other than width, height, orientation and colour scheme) do not hold:
/// what they would hide is kept, and `@media print` never hides screen text.
pub(super) fn media_applies(list: &str) -> bool {
    let list = list.trim().to_ascii_lowercase();
    list.is_empty() || list.split(',').any(query_applies)
}

fn query_applies(query: &str) -> bool {
    let query = query.trim();
    let query = query.strip_prefix("only ").unwrap_or(query);
    query.split(" and ").map(str::trim).enumerate().all(|(i, part)| match part.strip_prefix('(') {
        Some(feature) => feature.strip_suffix(')').is_some_and(feature_applies),
        None => i == 0 && matches!(part, "screen" | "all"),
    })
}

fn feature_applies(feature: &str) -> bool {
    const WIDTH: f32 = 1280.0;
    const HEIGHT: f32 = 800.0;
    let Some((name, value)) = feature.split_once(':') else { return false };
    let value = value.trim();
    let length = || {
        let (number, scale) = match value.strip_suffix("px") {
            Some(n) => (n, 1.0),
            None => (value.strip_suffix("rem").or_else(|| value.strip_suffix("em"))?, 16.0),
        };
        number.trim().parse::<f32>().ok().map(|n| n * scale)
    };
    match name.trim() {
        "min-width" => length().is_some_and(|l| WIDTH >= l),
        "max-width" => length().is_some_and(|l| WIDTH <= l),
        "min-height" => length().is_some_and(|l| HEIGHT >= l),
        "max-height" => length().is_some_and(|l| HEIGHT <= l),
        "orientation" => value == "landscape",
        "prefers-color-scheme" => value == "light",
        _ => false,
    }
}

/// The properties a declaration sets among those we read: shorthands set several.
fn longhands(name: &str) -> &'static [Property] {
    match name.to_ascii_lowercase().as_str() {
        "display" => &[Property::Display],
        "visibility" => &[Property::Visibility],
        "font-size" | "font" => &[Property::FontSize],
        "opacity" => &[Property::Opacity],
        "color" => &[Property::Color],
        "background-color" => &[Property::BackgroundColor],
        "background-image" => &[Property::BackgroundImage],
        "background" => &[Property::BackgroundColor, Property::BackgroundImage],
        _ => &[],
    }
}

/// The value a shorthand gives one of its longhands.
fn longhand_value(shorthand: &str, property: Property, value: &str) -> Option<String> {
    match (shorthand, property) {
        // `font: 0/0 a` (an old image-replacement trick) sets the size to 0. The size is the
        // first length before a `/`: a unitless number other than 0 is a weight (`700`).
        ("font", _) => value.split_whitespace().find_map(|word| {
            let size = word.split('/').next().unwrap_or(word);
            let starts_numeric = size.starts_with(|c: char| c.is_ascii_digit() || c == '.');
            let has_unit = size.ends_with(|c: char| c.is_ascii_alphabetic() || c == '%');
            (starts_numeric && (has_unit || size == "0")).then(|| size.to_owned())
        }),
        // `background: #000 url(x.png)` sets an image; without one it resets the image.
        ("background", Property::BackgroundImage) => {
            let image = ["url(", "gradient(", "image-set("].iter().any(|f| value.contains(f));
            Some(if image { value.to_owned() } else { "none".to_owned() })
        }
        _ => Some(value.to_owned()),
    }
}

fn declarations<'i>(input: &mut Parser<'i>) -> Vec<Declaration> {
    let mut parser = Declarations(Vec::new());
    for _ in RuleBodyParser::new(input, &mut parser) {}
    parser.0
}

/// Collects the declarations of a block or a `style` attribute.
struct Declarations(Vec<Declaration>);

impl<'i> DeclarationParser<'i> for Declarations {
    type Declaration = ();
    type Error = ();

    fn parse_value(
        &mut self,
        name: CowRcStr<'i>,
        input: &mut Parser<'i>,
        _start: &ParserState,
    ) -> Result<(), ParseError<()>> {
        let properties = longhands(&name);
        if properties.is_empty() {
            return Err(ParseError::custom(()));
        }
        let mut text = String::new();
        if !serialize(input, &mut text, 0) {
            return Err(ParseError::custom(()));
        }
        let text = text.to_ascii_lowercase();
        let (value, important) = split_important(&text);
        if value.is_empty() {
            return Err(ParseError::custom(()));
        }
        let shorthand = name.to_ascii_lowercase();
        for &property in properties {
            if let Some(value) = longhand_value(&shorthand, property, value) {
                self.0.push(Declaration { property, value, important });
            }
        }
        Ok(())
    }
}

impl AtRuleParser<'_> for Declarations {
    type Prelude = ();
    type AtRule = ();
    type Error = ();
}

impl QualifiedRuleParser<'_> for Declarations {
    type Prelude = ();
    type QualifiedRule = ();
    type Error = ();
}

impl RuleBodyItemParser<'_, (), ()> for Declarations {
    fn parse_declarations(&self) -> bool {
        true
    }
    fn parse_qualified(&self) -> bool {
        // Nested style rules (CSS nesting) are skipped, not read as declarations.
        false
    }
}

/// `value !important` as `(value, true)`, whatever the spacing.
fn split_important(text: &str) -> (&str, bool) {
    let trimmed = text.trim();
    if let Some(rest) = trimmed.strip_suffix("important")
        && let Some(rest) = rest.trim_end().strip_suffix('!')
    {
        return (rest.trim(), true);
    }
    (trimmed, false)
}

/// Writes the tokens of a value as text without comments, whitespace runs as one space. False
/// when it nests deeper than [`MAX_VALUE_NESTING`] (then the value is not read at all).
fn serialize(input: &mut Parser<'_>, out: &mut String, nesting: usize) -> bool {
    loop {
        let token = match input.next_including_whitespace() {
            Ok(token) => token.clone(),
            Err(_) => return true,
        };
        let closing = match token {
            Token::WhiteSpace(_) => {
                out.push(' ');
                continue;
            }
            Token::Function(_) | Token::ParenthesisBlock => ')',
            Token::SquareBracketBlock => ']',
            Token::CurlyBracketBlock => '}',
            token => {
                // Writing into a String cannot fail.
                let _ = token.to_css(out);
                continue;
            }
        };
        if nesting >= MAX_VALUE_NESTING {
            return false;
        }
        let _ = token.to_css(out);
        let inner = input.parse_nested_block(|block| Ok::<_, ParseError<()>>(serialize(block, out, nesting + 1)));
        if !inner.unwrap_or(false) {
            return false;
        }
        out.push(closing);
    }
}

/// The deepest bracket nesting in a selector's text (over-counting brackets in strings only
/// makes a rule skipped, which keeps its text).
fn bracket_nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'(' | b'[' => {
                depth += 1;
                max = max.max(depth);
            }
            b')' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The rule list of a stylesheet or of a group rule inside one.
struct Sheet<'r> {
    rules: &'r mut Vec<Rule>,
    nesting: usize,
    complete: bool,
}

impl Sheet<'_> {
    fn parse(&mut self, input: &mut Parser<'_>) {
        for _ in StyleSheetParser::new(input, self) {}
    }
}

/// What comes before a block: a selector list, or a group rule whose rules count or not.
enum Prelude {
    Style(SelectorList<Simple>),
    Group { applies: bool },
}

impl<'i> QualifiedRuleParser<'i> for Sheet<'_> {
    type Prelude = Prelude;
    type QualifiedRule = ();
    type Error = ();

    fn parse_prelude(&mut self, input: &mut Parser<'i>) -> Result<Prelude, ParseError<()>> {
        let start = input.position();
        while input.next().is_ok() {}
        let text = input.slice_from(start);
        if bracket_nesting(text) > MAX_SELECTOR_NESTING {
            return Err(ParseError::custom(()));
        }
        let mut selector_parser = Parser::new(text);
        SelectorList::parse(&scraper::selector::Parser, &mut selector_parser, ParseRelative::No)
            .map(Prelude::Style)
            .map_err(|_| ParseError::custom(()))
    }

    fn parse_block(
        &mut self,
        prelude: Prelude,
        _start: &ParserState,
        input: &mut Parser<'i>,
    ) -> Result<(), ParseError<()>> {
        let Prelude::Style(selectors) = prelude else { return Ok(()) };
        let declarations = declarations(input);
        if declarations.is_empty() {
            return Ok(());
        }
        if self.rules.len() >= MAX_RULES {
            self.complete = false;
            return Ok(());
        }
        self.rules.push(Rule { selectors, declarations });
        Ok(())
    }
}

impl<'i> AtRuleParser<'i> for Sheet<'_> {
    type Prelude = Prelude;
    type AtRule = ();
    type Error = ();

    fn parse_prelude(&mut self, name: CowRcStr<'i>, input: &mut Parser<'i>) -> Result<Prelude, ParseError<()>> {
        let applies = match name.to_ascii_lowercase().as_str() {
            "media" => {
                let mut query = String::new();
                serialize(input, &mut query, 0) && media_applies(&query)
            }
            // Layers only order rules among themselves; their rules all apply.
            "layer" => {
                while input.next().is_ok() {}
                true
            }
            _ => return Err(ParseError::custom(())),
        };
        Ok(Prelude::Group { applies })
    }

    fn rule_without_block(&mut self, _prelude: Prelude, _start: &ParserState) -> Result<(), ()> {
        // `@layer a, b;` only declares an order.
        Ok(())
    }

    fn parse_block(
        &mut self,
        prelude: Prelude,
        _start: &ParserState,
        input: &mut Parser<'i>,
    ) -> Result<(), ParseError<()>> {
        if !matches!(prelude, Prelude::Group { applies: true }) || self.nesting >= MAX_GROUP_NESTING {
            return Ok(());
        }
        let mut inner = Sheet { rules: &mut *self.rules, nesting: self.nesting + 1, complete: true };
        inner.parse(input);
        self.complete &= inner.complete;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(css: &str) -> Vec<(String, Vec<Declaration>)> {
        let mut rules = Vec::new();
        assert!(parse_sheet(css, &mut rules));
        rules.into_iter().map(|r| (cssparser::ToCss::to_css_string(&r.selectors), r.declarations)).collect()
    }

    fn d(property: Property, value: &str, important: bool) -> Declaration {
        Declaration { property, value: value.to_owned(), important }
    }

    #[test]
    fn rules_keep_the_properties_that_can_hide_text() {
        let css = r#"/* a comment { display: none } */
            .x, #y > p { DISPLAY: None !IMPORTANT; margin: 0; color: /* white */ #FFF }
            a[title="}"] { color: rgb(255, 255, 255) }
            .broken { color: ; } .after { font: italic 700 0/0 a }
            .bg { background: #000 url("x.png") no-repeat } .plain { background: #fff }
            p { margin: 0 } ::: { display: none } .ok { opacity: 0 }"#;
        let got = rules(css);
        let names: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(names, [".x, #y > p", "a[title=\"}\"]", ".after", ".bg", ".plain", ".ok"]);
        assert_eq!(got[0].1, [d(Property::Display, "none", true), d(Property::Color, "#fff", false)]);
        assert_eq!(got[1].1, [d(Property::Color, "rgb(255, 255, 255)", false)]);
        assert_eq!(got[2].1, [d(Property::FontSize, "0", false)]);
        assert_eq!(got[3].1[1].property, Property::BackgroundImage);
        assert_ne!(got[3].1[1].value, "none");
        assert_eq!(
            got[4].1,
            [d(Property::BackgroundColor, "#fff", false), d(Property::BackgroundImage, "none", false)]
        );
    }

    #[test]
    fn media_rules_count_on_a_desktop_screen_only() {
        let css = "@media screen { .a { display: none } } @media print { .b { display: none } }
            @media all and (min-width: 40em) { .c { display: none } } @media (max-width: 600px) { .d { display: none } }
            @media print, screen and (orientation: landscape) { .e { display: none } }
            @media not screen { .f { display: none } } @supports (display: grid) { .g { display: none } }
            @layer base { .h { display: none } } @layer a, b; @media screen { @media (hover: hover) { .i { display: none } } }";
        let names: Vec<String> = rules(css).into_iter().map(|(s, _)| s).collect();
        assert_eq!(names, [".a", ".c", ".e", ".h"]);
        assert!(media_applies(""));
        assert!(!media_applies("speech"));
    }

    #[test]
    fn inline_declarations_in_order() {
        assert_eq!(
            parse_inline("color:#fff; VISIBILITY: hidden ! important;;junk;font-size:0px"),
            [
                d(Property::Color, "#fff", false),
                d(Property::Visibility, "hidden", true),
                d(Property::FontSize, "0px", false)
            ]
        );
    }

    #[test]
    fn deep_nesting_is_skipped_not_recursed() {
        let deep =
            format!("{}.x{} {{ display: none }} .y {{ display: none }}", ":is(".repeat(50_000), ")".repeat(50_000));
        assert_eq!(rules(&deep).len(), 1);
        let value = format!(".z {{ color: {}#fff{} }}", "(".repeat(50_000), ")".repeat(50_000));
        assert!(rules(&value).is_empty());
        let groups = format!("{} .w {{ display: none }} {}", "@media screen {".repeat(10_000), "}".repeat(10_000));
        assert!(rules(&groups).is_empty());
    }
}
