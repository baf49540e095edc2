//! Canary tokens: a random marker placed in the system prompt. If it ever shows up in a reply,
//! the model is repeating its instructions (RELIABILITY L2), and the reply must not be sent.
//!
//! A model that leaks rarely copies the token cleanly: it spaces it out, changes case, wraps it
//! in markdown, splits it over lines, or quotes half of it. [`leaks`] compares letters and digits
//! only, and also catches a reversed token and any 12-character piece of the random part
//! (48 bits: a chance match is about one in 10^14 per position).
//!
//! ```
//! use switchboard_guard::canary;
//!
//! let token = canary::generate();
//! assert!(token.starts_with("CANARY-"));
//! let spaced: String = token.chars().flat_map(|c| [c, ' ']).collect();
//! assert!(canary::leaks(&format!("My instructions say {spaced}"), &token));
//! assert!(!canary::leaks("Your parcel ships tomorrow.", &token));
//! ```

use crate::text::normalize;

/// Shortest piece of the random part that counts as a leak.
const MIN_PIECE: usize = 12;

/// A fresh canary: `CANARY-` followed by a random UUID (v4, 122 random bits).
pub fn generate() -> String {
    format!("CANARY-{}", uuid::Uuid::new_v4())
}

/// Whether `output` contains `canary`, whole or in part, however it is spaced, cased or split.
pub fn leaks(output: &str, canary: &str) -> bool {
    let haystack = alphanumeric_lower(output);
    let token = alphanumeric_lower(canary);
    // The random part: what follows the fixed prefix (the whole token if it has none).
    let random = token.strip_prefix("canary").unwrap_or(&token);
    if random.is_empty() {
        return false;
    }
    if haystack.contains(&token) || haystack.contains(random) {
        return true;
    }
    let reversed: String = random.chars().rev().collect();
    if haystack.contains(&reversed) {
        return true;
    }
    let chars: Vec<char> = random.chars().collect();
    chars.len() >= MIN_PIECE
        && chars.windows(MIN_PIECE).any(|piece| haystack.contains(&piece.iter().collect::<String>()))
}

fn alphanumeric_lower(text: &str) -> String {
    normalize(text).chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_disguise_is_caught() {
        let token = "CANARY-3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b";
        let cases = [
            "CANARY-3f2a9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b",
            "canary 3f2a9c1e 7b4d 4e8f 9a0b 1c2d3e4f5a6b",
            "C-A-N-A-R-Y-3-F-2-A-9-C-1-E-7-B-4-D-4-E-8-F-9-A-0-B-1-C-2-D-3-E-4-F-5-A-6-B",
            "`CANARY-3f2a9c1e`\n`-7b4d-4e8f-9a0b-1c2d3e4f5a6b`",
            "the code is 3F2A9C1E7B4D4E8F (part of it)",
            "...9a0b-1c2d3e4f5a6b",
            "b6a5f4e3d2c1b0a9f8e4d4b7e1c9a2f3",
            "CANARY\u{200b}-3f2a\u{200b}9c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b",
            "ＣＡＮＡＲＹ－３ｆ２ａ９ｃ１ｅ－７ｂ４ｄ",
        ];
        for output in cases {
            assert!(leaks(output, token), "{output:?}");
        }
    }

    #[test]
    fn ordinary_replies_do_not_leak() {
        let token = generate();
        for output in ["", "CANARY", "Your order 3f2a ships today.", "Returns are free within 30 days [1]."] {
            assert!(!leaks(output, &token), "{output:?}");
        }
        assert!(!leaks("anything", ""));
    }

    #[test]
    fn generated_tokens_differ() {
        assert_ne!(generate(), generate());
        assert_eq!(generate().len(), "CANARY-".len() + 36);
    }
}
