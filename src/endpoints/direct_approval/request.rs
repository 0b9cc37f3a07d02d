//! From an HTTP request to an [`AuthorizeRequest`]: checks 1-3 of the contract, plus the
//! Basic credentials, whose absence is only reported at check 7.

use http::header;

use crate::basic_auth::{self, Credentials};
use crate::error::ApiError;
use crate::request::{check_state_and_key, read_form};

/// The fields of a direct-approval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AuthorizeRequest {
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

pub(super) fn parse<B: AsRef<[u8]>>(req: &http::Request<B>) -> Result<AuthorizeRequest, ApiError> {
    let form = read_form(req)?;
    let field = |name: &str| form.get(name).map(str::to_string);
    let client_id =
        field("client_id").ok_or_else(|| ApiError::invalid_request("client_id is required"))?;
    let dpop_jkt = field("dpop_jkt");
    check_state_and_key(form.get("state"), dpop_jkt.as_deref())
        .map_err(ApiError::invalid_request)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form;
    use crate::request::{BODY_ERROR_HEADER, MAX_STATE_BYTES};
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
