//! Secrets (tokens, webhook URLs, user ids) never reach a log line, an error message, stats or
//! metrics whole: this module masks them and compares them in constant time. It also makes
//! new ones.

use std::fs;
use std::io::Read;

use anyhow::{Context, Result};

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

/// Checks an `Authorization` header's value against `token`: `Bearer <token>`, the scheme in
/// any case. The token is compared with [`constant_time_eq`] only, so the answer's timing tells
/// nothing about how much of a guess was right. The error says what was wrong, never the token.
pub fn check_bearer(value: &str, token: &str) -> Result<(), &'static str> {
    let (scheme, presented) = value
        .trim()
        .split_once(' ')
        .ok_or("malformed Authorization header; use Bearer <token>")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("malformed Authorization header; use Bearer <token>");
    }
    if constant_time_eq(presented.trim().as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err("wrong token")
    }
}

/// A URL with everything after its host replaced, so the webhook token it may carry is hidden:
/// `https://discord.com/api/webhooks/1/abc` → `https://discord.com/…`.
pub fn mask_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    // A host never holds `;`, `,` or a space: what follows them (a source's `;token=...`, the
    // next source of a list) is no part of it.
    let host = rest
        .split(['/', '?', '#', ';', ',', ' '])
        .next()
        .unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    if scheme.is_empty() {
        "…".to_string()
    } else {
        format!("{scheme}://{host}/…")
    }
}

/// A webhook URL with its token hidden but its id kept, so a user can tell which webhook it
/// is: `https://discord.com/api/webhooks/123/abc` → `https://discord.com/api/webhooks/123/…`.
/// Anything that is not a webhook URL is masked like any URL.
pub fn mask_webhook(url: &str) -> String {
    let without_query = url.split(['?', '#']).next().unwrap_or(url);
    let Some((before, rest)) = without_query.split_once("/webhooks/") else {
        return mask_url(url);
    };
    let id = rest.split('/').next().unwrap_or("");
    let host = mask_url(before);
    let Some(base) = host.strip_suffix('…') else {
        return host;
    };
    if id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()) {
        return host;
    }
    let path = before.split_once("://").map_or("", |(_, rest)| rest);
    let path = path.split_once('/').map_or("", |(_, path)| path);
    format!("{base}{path}/webhooks/{id}/…")
}

/// Any secret as `dq config show` prints it: a webhook keeps its id, a URL its scheme and
/// host, a header its name; anything else only its length.
pub fn mask(value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    if value.contains("/webhooks/") {
        return mask_webhook(value);
    }
    if value.contains("://") {
        return mask_url(value);
    }
    if let Some((name, _)) = value.split_once(':') {
        let name = name.trim();
        if !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
        {
            return format!("{name}: …");
        }
    }
    format!("… ({} characters)", value.chars().count())
}

/// 32 random bytes from the kernel, in hex: serve's token, and the announce key `dq setup`
/// makes.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(bytes.iter().map(|byte| format!("{byte:02x}")).collect())
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
    fn bearer_check_accepts_only_the_exact_token_in_any_scheme_case() {
        assert_eq!(check_bearer("Bearer k3y", "k3y"), Ok(()));
        assert_eq!(check_bearer(" bearer   k3y ", "k3y"), Ok(()));
        for bad in ["Bearer k3", "Bearer k3y2", "Basic k3y", "k3y", "Bearer", ""] {
            let error = check_bearer(bad, "k3y").unwrap_err();
            assert!(!error.contains("k3y"), "{error}");
        }
    }

    #[test]
    fn masked_urls_keep_only_scheme_and_host() {
        assert_eq!(
            mask_url("https://discord.com/api/webhooks/123/s3cr3t?wait=true"),
            "https://discord.com/…"
        );
        assert_eq!(mask_url("http://user:pw@host:8080/x"), "http://host:8080/…");
        assert_eq!(
            mask_url("https://h:8080;token=s3cr3t,https://g;token=s3cr3t"),
            "https://h:8080/…"
        );
        assert_eq!(mask_url("not a url"), "…");
    }

    #[test]
    fn masked_webhooks_keep_their_id_never_their_token() {
        assert_eq!(
            mask_webhook("https://discord.com/api/webhooks/123/s3cr3t?wait=true"),
            "https://discord.com/api/webhooks/123/…"
        );
        assert_eq!(
            mask_webhook("http://u:pw@127.0.0.1:9/api/v10/webhooks/1/s3cr3t"),
            "http://127.0.0.1:9/api/v10/webhooks/1/…"
        );
        assert_eq!(mask_webhook("https://x/webhooks/s3cr3t"), "https://x/…");
        assert_eq!(mask_webhook("webhooks/1/s3cr3t"), "…");
    }

    #[test]
    fn any_secret_is_masked_by_its_shape() {
        assert_eq!(
            mask("https://d/api/webhooks/9/s3cr3t"),
            "https://d/api/webhooks/9/…"
        );
        assert_eq!(
            mask("https://host:8080/p?token=s3cr3t"),
            "https://host:8080/…"
        );
        assert_eq!(mask("X-Github-Token: s3cr3t"), "X-Github-Token: …");
        assert_eq!(mask("s3cr3t"), "… (6 characters)");
        assert_eq!(mask(""), "");
    }
}
