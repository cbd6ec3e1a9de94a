//! Query strings: decoded pairs and bounded integer parameters.

use super::errors::{printable, ApiError};

pub(super) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// The pairs of `url`'s query string, decoded as HTML forms encode them (`+` is a space,
    /// `%XX` a byte; an invalid escape is kept as written, bytes that are not UTF-8 become
    /// U+FFFD).
    pub(super) fn parse(url: &str) -> Query {
        let query = url.split_once('?').map_or("", |(_, query)| query);
        let pairs = form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Query { pairs }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub(super) fn optional_int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.get(name) else {
            return Ok(None);
        };
        let bad = || {
            ApiError::BadRequest(format!(
                "{name} must be an integer from {} to {}, not {:?}",
                range.start(),
                range.end(),
                printable(text)
            ))
        };
        let value: i64 = text.trim().parse().map_err(|_| bad())?;
        if range.contains(&value) {
            Ok(Some(value))
        } else {
            Err(bad())
        }
    }

    pub(super) fn int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
        default: i64,
    ) -> Result<i64, ApiError> {
        Ok(self.optional_int(name, range)?.unwrap_or(default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_bounded_integers() {
        let query = Query::parse("/x?limit=5&wait=abc&lease=%36%30&neg=-1");
        assert_eq!(query.int("limit", 1..=100, 50).unwrap(), 5);
        assert_eq!(query.int("absent", 1..=100, 50).unwrap(), 50);
        assert_eq!(query.int("lease", 0..=3600, 1).unwrap(), 60);
        assert!(query.int("wait", 0..=60, 0).is_err());
        assert!(query.int("neg", 0..=60, 0).is_err());
    }

    #[test]
    fn query_values_are_percent_decoded_and_bad_escapes_kept() {
        let query = Query::parse("/x?a=a%20b+c&bad=%zz%&short=%4&utf8=%C3%A9&%6eame=v&flag");
        assert_eq!(query.get("a"), Some("a b c"));
        assert_eq!(query.get("bad"), Some("%zz%"));
        assert_eq!(query.get("short"), Some("%4"));
        assert_eq!(query.get("utf8"), Some("é"));
        assert_eq!(query.get("name"), Some("v"));
        assert_eq!(query.get("flag"), Some(""));
        assert_eq!(Query::parse("/x").get("a"), None);
    }
}
