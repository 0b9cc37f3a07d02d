//! Checks 1-2 of every endpoint that takes a form: a POST with a well-formed body.

use http::{Method, header};

use crate::error::ApiError;
use crate::form;

/// Set by [`crate::lambda`] when the event's body could not be decoded (API Gateway said
/// base64, but it was not): the request is refused at check 2 instead of panicking.
pub const BODY_ERROR_HEADER: &str = "x-direct-oauth-body-error";

/// Set by [`crate::lambda`]: the request's query, taken out of the URI `lambda_http` would
/// build (and may fail to) from it. A client's own is dropped before.
pub const QUERY_HEADER: &str = "x-direct-oauth-query";

/// The request's query: the one the Lambda glue kept aside, or the URI's.
pub fn query<B>(req: &http::Request<B>) -> &str {
    let kept = req
        .headers()
        .get(QUERY_HEADER)
        .and_then(|v| v.to_str().ok());
    kept.or_else(|| req.uri().query()).unwrap_or_default()
}

/// Longest `state` echoed back: it goes into the `Location` header, percent-encoded (up to
/// three times longer), and gateways limit header sizes.
pub const MAX_STATE_BYTES: usize = 1024;

/// What both doors' authorization requests check alike (contract check 3): `state` fits a
/// redirect, and `dpop_jkt`, if any, is a key's thumbprint.
pub fn check_state_and_key(state: Option<&str>, dpop_jkt: Option<&str>) -> Result<(), String> {
    if state.is_some_and(|s| s.len() > MAX_STATE_BYTES) {
        return Err(format!("state is longer than {MAX_STATE_BYTES} bytes"));
    }
    if dpop_jkt.is_some_and(|j| !crate::dpop::is_thumbprint(j)) {
        return Err("dpop_jkt must be a key's SHA-256 thumbprint in base64url (RFC 7638)".into());
    }
    Ok(())
}

/// Checks 1-2, shared by the endpoints: a POST with a well-formed form body.
pub fn read_form<B: AsRef<[u8]>>(req: &http::Request<B>) -> Result<form::Form, ApiError> {
    if req.method() != Method::POST {
        return Err(ApiError::MethodNotAllowed);
    }
    check_content_type(
        req.headers()
            .get_all(header::CONTENT_TYPE)
            .iter()
            .map(|v| v.as_bytes()),
    )?;
    if req.headers().contains_key(BODY_ERROR_HEADER) {
        return Err(ApiError::invalid_request(
            "the body is flagged as base64 but is not valid base64",
        ));
    }
    form::parse(req.body().as_ref())
}

/// At most one `Content-Type`: `application/x-www-form-urlencoded`, charset (if any)
/// UTF-8. A missing one is read as a form (what curl and API Gateway's sample events
/// send); any other declared type is refused.
fn check_content_type<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Result<(), ApiError> {
    let value = match (values.next(), values.next()) {
        (None, _) => return Ok(()),
        (Some(value), None) => value,
        (Some(_), Some(_)) => return Err(ApiError::UnsupportedMediaType),
    };
    let value = std::str::from_utf8(value).map_err(|_| ApiError::UnsupportedMediaType)?;
    let mut parts = value.split(';');
    let media_type = parts.next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType);
    }
    for param in parts.map(str::trim).filter(|p| !p.is_empty()) {
        let (name, val) = param.split_once('=').unwrap_or((param, ""));
        let val = val.trim().trim_matches('"');
        let utf8 = val.eq_ignore_ascii_case("utf-8") || val.eq_ignore_ascii_case("utf8");
        if name.trim().eq_ignore_ascii_case("charset") && !utf8 {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    Ok(())
}
