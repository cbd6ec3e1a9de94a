//! Discord's documented limits on a message and its embeds, and how texts are cut to them:
//! counted in code points, cut with an ellipsis, never left empty where Discord rejects it.

use super::Embed;
use crate::render::limits;

pub const TITLE: usize = 256;
pub const DESCRIPTION: usize = 4096;
pub const FIELDS: usize = 25;
pub const FIELD_NAME: usize = 256;
pub const FIELD_VALUE: usize = 1024;
pub const FOOTER: usize = 2048;
/// Title, description, field names and values and footer of every embed in a message.
pub const TOTAL: usize = 6000;
pub const EMBEDS: usize = 10;
pub const CONTENT: usize = 2000;
/// `nonce` on create message.
pub const NONCE: usize = 25;

/// Shown instead of an empty field name or value, which Discord rejects.
const EMPTY: &str = "—";
const ELLIPSIS: char = '…';

impl Embed {
    /// The characters this embed counts towards a message's 6,000.
    pub fn size(&self) -> usize {
        self.title.as_deref().map_or(0, count)
            + self.description.as_deref().map_or(0, count)
            + self
                .fields
                .iter()
                .map(|field| count(&field.name) + count(&field.value))
                .sum::<usize>()
            + self.footer.as_ref().map_or(0, |footer| count(&footer.text))
    }

    /// Cuts every part to its own limit and never leaves an empty name or value.
    pub(super) fn enforce_part_limits(&mut self) {
        if let Some(title) = &mut self.title {
            *title = cut(non_empty(title), limits::TITLE);
        }
        if let Some(description) = &mut self.description {
            *description = cut_description(description, limits::DESCRIPTION);
        }
        self.description = self.description.take().filter(|text| !text.is_empty());
        self.fields.truncate(limits::FIELDS);
        for field in &mut self.fields {
            field.name = cut(non_empty(&field.name), limits::FIELD_NAME);
            field.value = cut(non_empty(&field.value), limits::FIELD_VALUE);
        }
        if let Some(footer) = &mut self.footer {
            footer.text = cut(&footer.text, limits::FOOTER);
        }
        self.footer = self
            .footer
            .take()
            .filter(|footer| !footer.text.trim().is_empty());
    }

    /// Shortens the longest texts until the embed counts at most `budget` characters.
    pub(super) fn shrink_to(&mut self, budget: usize) {
        // Each round cuts the longest text by the excess (or to a few characters), so this
        // ends after at most one round per text.
        for _ in 0..=(limits::FIELDS * 2 + 3) {
            let size = self.size();
            if size <= budget {
                return;
            }
            let excess = size - budget;
            let mut texts: Vec<&mut String> = Vec::new();
            if let Some(description) = &mut self.description {
                texts.push(description);
            }
            for field in &mut self.fields {
                texts.push(&mut field.value);
                texts.push(&mut field.name);
            }
            if let Some(footer) = &mut self.footer {
                texts.push(&mut footer.text);
            }
            if let Some(title) = &mut self.title {
                texts.push(title);
            }
            let Some(longest) = texts.into_iter().max_by_key(|text| count(text)) else {
                return;
            };
            let length = count(longest);
            if length <= 1 {
                // Nothing left to cut: drop fields from the end instead.
                if self.fields.pop().is_none() {
                    return;
                }
                continue;
            }
            let keep = length.saturating_sub(excess).max(1);
            *longest = cut_description(longest, keep);
        }
    }
}

/// Characters as Discord counts them for its limits (Unicode code points).
pub fn count(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut to at most `max` characters, ending with an ellipsis when cut.
pub fn cut(text: &str, max: usize) -> String {
    if count(text) <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push(ELLIPSIS);
    out
}

/// Like `cut`, but a text that is one code block stays a closed code block.
pub(super) fn cut_description(text: &str, max: usize) -> String {
    const OPEN: &str = "```\n";
    const CLOSE: &str = "\n```";
    if count(text) <= max {
        return text.to_string();
    }
    match text
        .strip_prefix(OPEN)
        .and_then(|inner| inner.strip_suffix(CLOSE))
    {
        Some(inner) if max > OPEN.len() + CLOSE.len() + 1 => {
            format!(
                "{OPEN}{}{CLOSE}",
                cut(inner, max - OPEN.len() - CLOSE.len())
            )
        }
        _ => cut(text, max),
    }
}

pub(super) fn non_empty(text: &str) -> &str {
    if text.trim().is_empty() {
        EMPTY
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::builtin::code_block;

    #[test]
    fn cut_counts_code_points_and_ends_with_an_ellipsis() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("abcd", 3), "ab…");
        assert_eq!(count(&cut(&"ñ".repeat(300), 256)), 256);
    }

    #[test]
    fn a_cut_code_block_stays_closed() {
        let text = code_block(&"x".repeat(5000));
        let out = cut_description(&text, 4096);
        assert_eq!(count(&out), 4096);
        assert!(out.starts_with("```\n") && out.ends_with("…\n```"));
    }
}
