//! Where in a file's text something is, for error messages: `PATH:LINE:COLUMN: message`.
//! The config file's checks and the templates' compile errors both point into the same file,
//! so they say where in the same words.

use std::ops::Range;
use std::path::Path;

/// `PATH:LINE:COLUMN: message` for the byte range `span` of `text`, or `PATH: message`
/// without one.
pub fn at(path: &Path, text: &str, span: Option<Range<usize>>, message: &str) -> String {
    match span {
        Some(span) => {
            let (line, column) = position(text, span.start);
            format!("{}:{line}:{column}: {message}", path.display())
        }
        None => format!("{}: {message}", path.display()),
    }
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        assert_eq!(position("a\nbé c", 0), (1, 1));
        assert_eq!(position("a\nbé c", 2), (2, 1));
        assert_eq!(position("a\nbé c", 6), (2, 4));
        assert_eq!(position("ab", 99), (1, 3));
    }

    #[test]
    fn a_message_names_the_path_and_where_when_it_can() {
        let path = Path::new("/c.toml");
        assert_eq!(
            at(path, "a = 1\nb = x\n", Some(10..11), "bad"),
            "/c.toml:2:5: bad"
        );
        assert_eq!(at(path, "", None, "bad"), "/c.toml: bad");
    }
}
