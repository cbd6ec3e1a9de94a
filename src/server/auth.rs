//! Bearer-token authentication, compared in constant time.

use tiny_http::Request;

use super::errors::ApiError;
use super::Shared;

pub(super) fn authorize(shared: &Shared, request: &Request) -> Result<(), ApiError> {
    let Some(token) = &shared.config.token else {
        return Ok(());
    };
    let header = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("Authorization"))
        .ok_or(ApiError::Unauthorized(
            "missing Authorization: Bearer <token> header",
        ))?;
    check_bearer(header.value.as_str(), token)
}

/// [`secret::check_bearer`](crate::secret::check_bearer) (constant time, shared with
/// consume's listener), as a 401.
fn check_bearer(value: &str, token: &str) -> Result<(), ApiError> {
    crate::secret::check_bearer(value, token).map_err(ApiError::Unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::constant_time_eq;

    #[test]
    fn bearer_check_accepts_only_the_exact_token_and_never_echoes_it() {
        let token = "s3cret-token";
        assert!(check_bearer("Bearer s3cret-token", token).is_ok());
        assert!(check_bearer("bearer  s3cret-token ", token).is_ok());
        for wrong in [
            "",
            "Bearer",
            "Bearer ",
            "Bearer s3cret-toke",
            "Bearer s3cret-token2",
            "Bearer S3CRET-TOKEN",
            "Basic s3cret-token",
            "s3cret-token",
        ] {
            let error = check_bearer(wrong, token).unwrap_err();
            assert_eq!(error.status(), 401, "{wrong:?}");
            assert!(!error.message().contains(token), "{wrong:?}");
        }
        // The comparison is the constant-time one: same verdict on every pair.
        for presented in ["s3cret-token", "s3cret-tokem", "x", "s3cret-token-longer"] {
            assert_eq!(
                check_bearer(&format!("Bearer {presented}"), token).is_ok(),
                constant_time_eq(presented.as_bytes(), token.as_bytes())
            );
        }
    }
}
