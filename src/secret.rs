//! Secrets (tokens, webhook URLs, user ids) never reach a log line, an error message, stats or
//! metrics whole: this module masks them and compares them in constant time.

/// Compares two secrets in time that depends only on their lengths, not on where they differ.
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    let mut difference = left.len() ^ right.len();
    for index in 0..left.len().max(right.len()) {
        let a = left.get(index).copied().unwrap_or(0);
        let b = right.get(index).copied().unwrap_or(0);
        difference |= usize::from(a ^ b);
    }
    difference == 0
}

/// A URL with everything after its host replaced, so the webhook token it may carry is hidden:
/// `https://discord.com/api/webhooks/1/abc` → `https://discord.com/…`.
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    if scheme.is_empty() {
        "…".to_string()
    } else {
        format!("{scheme}://{host}/…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_every_byte_and_the_length_match() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(constant_time_eq(b"", b""));
    }

    /// The contract: the same verdict as `==` on every pair, including prefixes, length
    /// differences and a difference at each position; and the loop visits every byte of the
    /// longer input whatever the inputs are (it has no early exit to time).
    #[test]
    fn constant_time_eq_agrees_with_equality_on_every_pair() {
        let base = b"0123456789abcdef";
        let mut inputs: Vec<Vec<u8>> = (0..=base.len()).map(|end| base[..end].to_vec()).collect();
        for position in 0..base.len() {
            let mut changed = base.to_vec();
            changed[position] ^= 0x01;
            inputs.push(changed);
        }
        inputs.push(vec![0; 16]);
        inputs.push(vec![0xff; 17]);
        for left in &inputs {
            for right in &inputs {
                assert_eq!(constant_time_eq(left, right), left == right);
            }
        }
        // Zero bytes do not let a shorter input pass for a longer one padded with zeros.
        assert!(!constant_time_eq(b"ab", b"ab\0"));
    }

    #[test]
    fn masked_urls_keep_only_scheme_and_host() {
        assert_eq!(
            mask_url("https://discord.com/api/webhooks/123/s3cr3t?wait=true"),
            "https://discord.com/…"
        );
        assert_eq!(mask_url("http://user:pw@host:8080/x"), "http://host:8080/…");
        assert_eq!(mask_url("not a url"), "…");
    }
}
