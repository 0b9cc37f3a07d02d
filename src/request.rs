//! From an HTTP request to an [`AuthorizeRequest`]: checks 1-3 of the contract, plus the
//! Basic credentials, whose absence is only reported at check 7.

use http::{Method, header};

use crate::basic_auth::{self, Credentials};
use crate::error::ApiError;
use crate::form;

/// Set by [`crate::lambda`] when the event's body could not be decoded (API Gateway said
/// base64, but it was not): the request is refused at check 2 instead of panicking.
pub const BODY_ERROR_HEADER: &str = "x-direct-oauth-body-error";

/// Longest `state` echoed back: it goes into the `Location` header, percent-encoded (up to
/// three times longer), and gateways limit header sizes.
pub const MAX_STATE_BYTES: usize = 1024;

/// The fields of a direct-approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub response_type: Option<String>,
    pub state: Option<String>,
    /// PKCE (RFC 7636), for `response_type=code`.
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// The DPoP key (its thumbprint) to bind what is issued to (RFC 9449 §10).
    pub dpop_jkt: Option<String>,
    /// `None` when the Authorization header is missing or malformed.
    pub credentials: Option<Credentials>,
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

/// `POST /oauth/revoke` (RFC 7009 §2.1): the token to revoke. A `token_type_hint` is
/// allowed and ignored, since there is one kind of token.
pub fn parse_revoke<B: AsRef<[u8]>>(req: &http::Request<B>) -> Result<String, ApiError> {
    let form = read_form(req)?;
    form.get("token")
        .map(str::to_string)
        .ok_or_else(|| ApiError::invalid_request("token is required"))
}

pub fn parse<B: AsRef<[u8]>>(req: &http::Request<B>) -> Result<AuthorizeRequest, ApiError> {
    let form = read_form(req)?;
    let field = |name: &str| form.get(name).map(str::to_string);
    let client_id =
        field("client_id").ok_or_else(|| ApiError::invalid_request("client_id is required"))?;
    if field("state").is_some_and(|s| s.len() > MAX_STATE_BYTES) {
        return Err(ApiError::invalid_request(format!(
            "state is longer than {MAX_STATE_BYTES} bytes"
        )));
    }
    let dpop_jkt = field("dpop_jkt");
    if dpop_jkt
        .as_deref()
        .is_some_and(|j| !crate::dpop::is_thumbprint(j))
    {
        return Err(ApiError::invalid_request(
            "dpop_jkt must be a key's SHA-256 thumbprint in base64url (RFC 7638)",
        ));
    }
    Ok(AuthorizeRequest {
        client_id,
        redirect_uri: field("redirect_uri"),
        scope: field("scope"),
        response_type: field("response_type"),
        state: field("state"),
        code_challenge: field("code_challenge"),
        code_challenge_method: field("code_challenge_method"),
        dpop_jkt,
        credentials: basic_auth::parse(
            req.headers()
                .get_all(header::AUTHORIZATION)
                .iter()
                .map(|v| v.as_bytes()),
        ),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::Request;

    const QUAY_BODY: &str = "client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:write,org:admin";

    fn post(content_type: Option<&str>, auth: &[&str], body: &str) -> Request<Vec<u8>> {
        let mut b = Request::builder().method("POST").uri("/oauth/authorizeapp");
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        for a in auth {
            b = b.header("authorization", *a);
        }
        b.body(body.as_bytes().to_vec()).unwrap()
    }

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    const AUTH: &str = "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl";

    #[test]
    fn parses_the_quay_example() {
        let r = parse(&post(FORM, &[AUTH], QUAY_BODY)).unwrap();
        assert_eq!(r.client_id, "some_client_id");
        assert_eq!(
            r.redirect_uri.as_deref(),
            Some("https://my/internal/application/token_created")
        );
        assert_eq!(r.scope.as_deref(), Some("repo:write,org:admin"));
        assert_eq!(r.credentials.unwrap().username, "username");
    }

    #[test]
    fn check_1_only_post() {
        for m in ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
            let req = Request::builder().method(m).body(Vec::new()).unwrap();
            assert_eq!(parse(&req).unwrap_err(), ApiError::MethodNotAllowed, "{m}");
        }
    }

    #[test]
    fn check_2_content_type() {
        for ct in [
            "application/x-www-form-urlencoded; charset=UTF-8",
            "Application/X-WWW-Form-Urlencoded;charset=\"utf-8\"",
        ] {
            assert!(parse(&post(Some(ct), &[], QUAY_BODY)).is_ok(), "{ct}");
        }
        assert!(
            parse(&post(None, &[], QUAY_BODY)).is_ok(),
            "no Content-Type reads as a form"
        );
        for ct in [
            Some("application/json"),
            Some("text/plain"),
            Some("multipart/form-data; boundary=x"),
            Some("application/x-www-form-urlencoded; charset=latin1"),
            Some("application/x-www-form-urlencodedx"),
        ] {
            assert_eq!(
                parse(&post(ct, &[], QUAY_BODY)).unwrap_err(),
                ApiError::UnsupportedMediaType,
                "{ct:?}"
            );
        }
    }

    #[test]
    fn check_2_body() {
        let big = format!("{QUAY_BODY}&pad={}", "a".repeat(form::MAX_BODY_BYTES));
        assert_eq!(parse(&post(FORM, &[], &big)).unwrap_err().status(), 413);
        assert_eq!(
            parse(&post(FORM, &[], "client_id=a&client_id=b"))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            parse(&post(FORM, &[], "client_id=%zz"))
                .unwrap_err()
                .status(),
            400
        );
        let mut flagged = post(FORM, &[], QUAY_BODY);
        flagged
            .headers_mut()
            .insert(BODY_ERROR_HEADER, "base64".parse().unwrap());
        assert_eq!(parse(&flagged).unwrap_err().status(), 400);
    }

    #[test]
    fn check_3_client_id_required() {
        for body in [
            "",
            "redirect_uri=x&scope=y",
            "client_id=",
            r#"{"client_id":"some_client_id"}"#,
        ] {
            assert_eq!(
                parse(&post(FORM, &[], body)).unwrap_err(),
                ApiError::invalid_request("client_id is required"),
                "{body}"
            );
        }
    }

    #[test]
    fn state_is_capped() {
        let ok = format!("{QUAY_BODY}&state={}", "s".repeat(MAX_STATE_BYTES));
        assert!(parse(&post(FORM, &[], &ok)).is_ok());
        let long = format!("{QUAY_BODY}&state={}", "s".repeat(MAX_STATE_BYTES + 1));
        assert_eq!(parse(&post(FORM, &[], &long)).unwrap_err().status(), 400);
    }

    #[test]
    fn revoke_needs_a_token() {
        assert_eq!(
            parse_revoke(&post(FORM, &[], "token=abc&token_type_hint=access_token")).unwrap(),
            "abc"
        );
        assert_eq!(
            parse_revoke(&post(FORM, &[], "")).unwrap_err().status(),
            400
        );
        assert_eq!(
            parse_revoke(&post(FORM, &[], "token=a&token=b"))
                .unwrap_err()
                .status(),
            400
        );
        let get = Request::builder().method("GET").body(Vec::new()).unwrap();
        assert_eq!(parse_revoke(&get).unwrap_err(), ApiError::MethodNotAllowed);
    }

    #[test]
    fn credentials_are_parsed_but_not_yet_required() {
        assert!(
            parse(&post(FORM, &[], QUAY_BODY))
                .unwrap()
                .credentials
                .is_none()
        );
        assert!(
            parse(&post(FORM, &["Bearer x"], QUAY_BODY))
                .unwrap()
                .credentials
                .is_none()
        );
        assert!(
            parse(&post(FORM, &[AUTH, AUTH], QUAY_BODY))
                .unwrap()
                .credentials
                .is_none()
        );
    }
}
