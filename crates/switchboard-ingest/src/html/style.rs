//! What styles hide: elements that are not shown at all, and text whose colour is (all but)
//! the colour behind it.
//!
//! The styles are the cascaded values of [`super::cascade`]: the page's `<style>` rules and
//! each element's `style` attribute (stylesheets it links to are not fetched, so what they hide
//! is kept), with the old `color` and `bgcolor` attributes below both, as browsers rank them.
//! Colours are inherited down the tree, so white text by class on a background a class makes
//! dark is kept, and on the default white page it is dropped. A background image or gradient,
//! or a colour we do not parse (`hsl()`, `var()`, most names), is "unknown": text over it is
//! kept.

use scraper::node::Element;

use super::cascade::Computed;
use super::css::Property;

/// Styles that keep the element from being seen: `display: none`, `visibility: hidden`, no
/// size, or no opacity. Readers never see such text, so it is not knowledge; it is where
/// instructions to the assistant get planted. The whole element is skipped, as `display: none`
/// would be, even where a child sets `visibility: visible` again.
pub(super) fn hidden(styles: &Computed) -> bool {
    let is = |property, values: &[&str]| styles.get(property).is_some_and(|v| values.contains(&v));
    is(Property::Display, &["none"])
        || is(Property::Visibility, &["hidden", "collapse"])
        || is(Property::FontSize, &["0", "0px", "0pt", "0em", "0rem", "0%", "1px"])
        || is(Property::Opacity, &["0", "0.0", "0%"])
}

type Rgb = [u8; 3];

const WHITE: Rgb = [255, 255, 255];

/// A colour as far as inline styles tell.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Paint {
    /// Nothing inline says: black text, the white page behind it.
    Default,
    Known(Rgb),
    /// Fully transparent text: nothing shows.
    Clear,
    /// Set to something we do not read (an image, a gradient, a variable): could be anything.
    Unknown,
}

/// The colour of text and the nearest background behind it, inherited down the tree.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Look {
    color: Paint,
    background: Paint,
}

impl Look {
    pub(super) const PAGE: Look = Look { color: Paint::Default, background: Paint::Default };

    /// The look inside `element`, styled as `styles` says, this being the look around it.
    pub(super) fn inside(self, element: &Element, styles: Option<&Computed>) -> Look {
        let mut look = self;
        let get = |property| styles.and_then(|s| s.get(property));
        // The old attributes count only where no style sets the same property.
        let color = get(Property::Color).or_else(|| element.attr("color").filter(|_| element.name() == "font"));
        if let Some(color) = color {
            look.color = text_paint(&color.to_ascii_lowercase(), look.color);
        }
        if let Some(background) = get(Property::BackgroundColor).or_else(|| element.attr("bgcolor")) {
            look.background = background_paint(&background.to_ascii_lowercase(), look.background);
        }
        if get(Property::BackgroundImage).is_some_and(|image| !matches!(image, "none" | "initial" | "unset")) {
            look.background = Paint::Unknown;
        }
        look
    }

    /// Whether text in this look cannot be read: transparent, or a colour with a contrast ratio
    /// below 1.2 against what is behind it (WCAG asks 4.5 of body text; 1.2 is #eee on white).
    pub(super) fn hides_text(self) -> bool {
        let behind = match self.background {
            Paint::Default => WHITE,
            Paint::Known(rgb) => rgb,
            Paint::Clear | Paint::Unknown => return false,
        };
        match self.color {
            Paint::Clear => true,
            Paint::Known(rgb) => contrast(rgb, behind) < 1.2,
            Paint::Default | Paint::Unknown => false,
        }
    }
}

fn text_paint(value: &str, inherited: Paint) -> Paint {
    match value.trim() {
        "inherit" | "currentcolor" | "" => inherited,
        "initial" | "unset" | "revert" => Paint::Default,
        value => match parse_color(value) {
            Some((_, 0.0)) => Paint::Clear,
            Some((rgb, _)) => Paint::Known(rgb),
            None => Paint::Unknown,
        },
    }
}

/// `background` may be a shorthand (`#fff url(x.png) no-repeat`): any image or gradient makes
/// it unknown, else its colour is the one word that parses as one.
fn background_paint(value: &str, inherited: Paint) -> Paint {
    let value = value.trim();
    if value.contains("url(") || value.contains("gradient(") || value.contains("image-set(") {
        return Paint::Unknown;
    }
    if matches!(value, "inherit" | "transparent" | "none" | "initial" | "unset" | "revert" | "") {
        return inherited;
    }
    let color = parse_color(value).or_else(|| value.split_whitespace().find_map(parse_color));
    match color {
        // Transparent lets the background behind show; half transparent mixes with it.
        Some((_, 0.0)) => inherited,
        Some((rgb, alpha)) if alpha >= 1.0 => Paint::Known(rgb),
        _ => Paint::Unknown,
    }
}

/// `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`/`rgba()` (commas or spaces, numbers or
/// percentages), `white`, `black`, `transparent`: the colour and its alpha (0 to 1).
fn parse_color(value: &str) -> Option<(Rgb, f32)> {
    match value {
        "white" => return Some((WHITE, 1.0)),
        "black" => return Some(([0, 0, 0], 1.0)),
        "transparent" => return Some(([0, 0, 0], 0.0)),
        _ => {}
    }
    if let Some(hex) = value.strip_prefix('#') {
        let digits: Vec<u8> = hex.chars().map(|c| c.to_digit(16).map(|d| d as u8)).collect::<Option<_>>()?;
        let (rgba, alpha) = match digits.len() {
            3 | 4 => (digits.iter().map(|d| d * 17).collect::<Vec<u8>>(), digits.get(3).map(|a| a * 17)),
            6 | 8 => {
                let bytes: Vec<u8> = digits.chunks(2).map(|p| p[0] * 16 + p[1]).collect();
                (bytes.clone(), bytes.get(3).copied())
            }
            _ => return None,
        };
        return Some(([rgba[0], rgba[1], rgba[2]], alpha.map_or(1.0, |a| f32::from(a) / 255.0)));
    }
    let inner = value.strip_prefix("rgba(").or_else(|| value.strip_prefix("rgb("))?.strip_suffix(')')?;
    let parts: Vec<&str> = inner.split([',', ' ', '/']).filter(|p| !p.is_empty()).collect();
    let number = |p: &str, full: f32| -> Option<f32> {
        let n = match p.strip_suffix('%') {
            Some(pct) => pct.parse::<f32>().ok()? / 100.0 * full,
            None => p.parse::<f32>().ok()?,
        };
        Some(n.clamp(0.0, full))
    };
    let channel = |p: &str| number(p, 255.0).map(|n| n.round() as u8);
    match parts.as_slice() {
        [r, g, b] => Some(([channel(r)?, channel(g)?, channel(b)?], 1.0)),
        [r, g, b, a] => Some(([channel(r)?, channel(g)?, channel(b)?], number(a, 1.0)?)),
        _ => None,
    }
}

/// The WCAG contrast ratio of two colours, 1 (the same) to 21 (black on white).
fn contrast(a: Rgb, b: Rgb) -> f32 {
    let luminance = |rgb: Rgb| {
        let linear = |c: u8| {
            let c = f32::from(c) / 255.0;
            if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
    };
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The look inside a chain of elements, outermost first, given as HTML start tags.
    fn look(chain: &[&str]) -> Look {
        let html = format!("{}x", chain.concat());
        let doc = scraper::Html::parse_fragment(&html);
        let mut look = Look::PAGE;
        for node in doc.tree.nodes() {
            if let Some(e) = node.value().as_element().filter(|e| e.name() != "html") {
                let styles = e.attr("style").map(Computed::inline);
                look = look.inside(e, styles.as_ref());
            }
        }
        look
    }

    fn hidden_by_style(style: &str) -> bool {
        hidden(&Computed::inline(style))
    }

    #[test]
    fn colours_parse_in_the_usual_notations() {
        for white in
            ["white", "#fff", "#FFFFFF", "#ffff", "rgb(255,255,255)", "rgb(255 255 255)", "rgb(100%, 100%, 100%)"]
        {
            assert_eq!(parse_color(&white.to_ascii_lowercase()), Some((WHITE, 1.0)), "{white}");
        }
        assert_eq!(parse_color("rgba(0, 0, 0, 0)"), Some(([0, 0, 0], 0.0)));
        assert_eq!(parse_color("rgb(0 0 0 / 50%)"), Some(([0, 0, 0], 0.5)));
        assert_eq!(parse_color("#1f386480").map(|(rgb, _)| rgb), Some([0x1f, 0x38, 0x64]));
        for other in ["hsl(0, 0%, 100%)", "var(--bg)", "#ggg", "#12345", "rgb(1,2)", "navy"] {
            assert_eq!(parse_color(other), None, "{other}");
        }
    }

    #[test]
    fn text_the_colour_of_what_is_behind_it_is_hidden() {
        let hidden = [
            &[r#"<p style="color:#ffffff;background:#ffffff">"#][..],
            &[r#"<p style="color: white">"#],
            &[r#"<div style="background-color: #123456">"#, r#"<span style="color:#123456">"#],
            &[r#"<div style="background:#000; color:#fff">"#, r#"<p style="background:#fff">"#],
            &[r#"<div style="background:#fff">"#, r#"<p style="color:rgb(250 250 250) !important">"#],
            &[r#"<p style="color:#eee">"#],
            &[r#"<p style="color:transparent">"#],
            &[r##"<table bgcolor="#ffffff">"##, r#"<font color="white">"#],
        ];
        for chain in hidden {
            assert!(look(chain).hides_text(), "{chain:?}");
        }
        let shown = [
            &[r#"<p style="color:#000;background:#fff">"#][..],
            &[r#"<div style="background:#1f3864">"#, r#"<p style="color:#fff">"#],
            &[r#"<div style="background:#000;color:#fff">"#, r#"<p>"#],
            &[r#"<div style="background:url(night.jpg)">"#, r#"<p style="color:#fff">"#],
            &[r#"<div style="background:#fff linear-gradient(#000, #111)">"#, r#"<p style="color:#fff">"#],
            &[r#"<div style="color:#fff">"#, r#"<p style="color:#333">"#],
            &[r#"<p style="color:var(--text)">"#],
            &[r#"<p style="color:#999">"#],
            &[r#"<div style="background:#000">"#, r#"<p style="background:transparent;color:#fff">"#],
        ];
        for chain in shown {
            assert!(!look(chain).hides_text(), "{chain:?}");
        }
    }

    #[test]
    fn hiding_declarations_are_recognised_in_any_spacing_and_case() {
        assert!(hidden_by_style("color:#fff; VISIBILITY: hidden !important"));
        assert!(hidden_by_style("font-size: 0"));
        assert!(!hidden_by_style("display: block; font-size: 10px"));
        // The later declaration wins, unless the earlier one is important.
        assert!(!hidden_by_style("display: none; display: block"));
        assert!(hidden_by_style("display: none !important; display: block"));
    }
}
