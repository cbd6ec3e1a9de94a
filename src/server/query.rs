//! Query strings: decoded pairs and bounded integer parameters.

use super::errors::{printable, ApiError};

pub(super) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub(super) fn parse(url: &str) -> Query {
        let query = url.split_once('?').map_or("", |(_, query)| query);
        let pairs = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
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

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("%zz%"), "%zz%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
