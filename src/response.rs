//! Outcomes to HTTP responses: the only place headers and bodies are written.
//!
//! Responses are plain `http` types with a `String` body (empty for none), so the core
//! never names the Lambda runtime's types; the glue converts them.

use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;
use url::form_urlencoded;

use crate::error::{ApiError, RedirectError};

/// What every endpoint answers: status, headers, and a body that is empty or JSON.
pub type HttpResponse = Response<String>;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_description: String,
}

/// A JSON error (checks 1-9, 12, outages): never a redirect.
pub fn error(err: &ApiError, realm: &str) -> HttpResponse {
    let body = serde_json::to_string(&ErrorBody {
        error: err.code(),
        error_description: err.to_string(),
    })
    .unwrap_or_default();
    let mut builder = Response::builder()
        .status(err.status())
        .header(header::CONTENT_TYPE, "application/json");
    match err {
        ApiError::MethodNotAllowed => builder = builder.header(header::ALLOW, "POST"),
        ApiError::MethodNotAllowedHere(method) => builder = builder.header(header::ALLOW, *method),
        _ => {}
    }
    if let ApiError::UseDpopNonce { nonce } = err {
        builder = builder.header(crate::dpop::NONCE_HEADER, nonce.as_str());
    }
    if let Some(seconds) = err.retry_after() {
        builder = builder.header(header::RETRY_AFTER, seconds.max(1));
    }
    if err.challenges() {
        builder = builder.header(
            header::WWW_AUTHENTICATE,
            format!("Basic realm=\"{realm}\", charset=\"UTF-8\""),
        );
    }
    finish(builder, body)
}

/// RFC 7009 §2.2: 200 whether or not the token existed.
pub fn revoked() -> HttpResponse {
    finish(Response::builder().status(StatusCode::OK), String::new())
}

/// What every authorization response ends with: the client's `state`, and the issuer
/// (`iss`, RFC 9207), so a client talking to several servers knows which one answered.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedirectParams<'a> {
    pub state: Option<&'a str>,
    /// `None` only where no issuer can be named (discovery then fails too).
    pub iss: Option<&'a str>,
}

impl<'a> RedirectParams<'a> {
    fn append_to(self, pairs: &mut Vec<(&'a str, &'a str)>) {
        pairs.extend(self.state.map(|s| ("state", s)));
        pairs.extend(self.iss.map(|i| ("iss", i)));
    }
}

/// A token as the client is told of it: `token_type` is `DPoP` for a token bound to the
/// client's key (RFC 9449 §5), else `Bearer`.
#[derive(Debug, Clone, Copy)]
pub struct TokenResponse<'a> {
    pub token: &'a str,
    pub bound: bool,
    pub expires_in: u64,
}

impl TokenResponse<'_> {
    fn token_type(&self) -> &'static str {
        if self.bound { "DPoP" } else { "Bearer" }
    }
}

/// The success redirect:
/// `#access_token=…&token_type=Bearer&expires_in=…[&state=…]&iss=…`.
pub fn issued(
    redirect_uri: &str,
    issued: TokenResponse<'_>,
    echo: RedirectParams<'_>,
) -> HttpResponse {
    let expires_in = issued.expires_in.to_string();
    let mut pairs = vec![
        ("access_token", issued.token),
        ("token_type", issued.token_type()),
        ("expires_in", expires_in.as_str()),
    ];
    echo.append_to(&mut pairs);
    redirect(redirect_uri, &pairs)
}

/// An error redirect (checks 10-11): in the fragment for tokens (RFC 6749 §4.2.2.1), in
/// the query for codes (§4.1.2.1).
pub fn redirect_error(
    redirect_uri: &str,
    err: &RedirectError,
    echo: RedirectParams<'_>,
    in_query: bool,
) -> HttpResponse {
    let description = err.to_string();
    let mut pairs = vec![
        ("error", err.code()),
        ("error_description", description.as_str()),
    ];
    echo.append_to(&mut pairs);
    if in_query {
        redirect_with_query(redirect_uri, &pairs)
    } else {
        redirect(redirect_uri, &pairs)
    }
}

/// A code's redirect: `<redirect_uri>?code=…[&state=…]&iss=…` (RFC 6749 §4.1.2).
pub fn code_issued(redirect_uri: &str, code: &str, echo: RedirectParams<'_>) -> HttpResponse {
    let mut pairs = vec![("code", code)];
    echo.append_to(&mut pairs);
    redirect_with_query(redirect_uri, &pairs)
}

/// The token endpoint's success (RFC 6749 §5.1).
/// The token endpoint's answer (RFC 6749 §5.1), with the next refresh token when the
/// grant gives one.
pub fn token(issued: TokenResponse<'_>, refresh: Option<&str>, scopes: &[String]) -> HttpResponse {
    let mut body = serde_json::json!({
        "access_token": issued.token,
        "token_type": issued.token_type(),
        "expires_in": issued.expires_in,
        "scope": scopes.join(" "),
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = refresh.into();
    }
    json(StatusCode::OK, &body)
}

/// A 200 with a JSON body (introspection, discovery).
pub fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    let builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json");
    finish(builder, body.to_string())
}

fn encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    }
    out
}

/// The pairs added to the redirect URI's query (after its own, if it has one).
fn redirect_with_query(redirect_uri: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    location(format!("{redirect_uri}{separator}{}", encode(pairs)))
}

fn redirect(redirect_uri: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    location(format!("{redirect_uri}#{}", encode(pairs)))
}

fn location(target: String) -> HttpResponse {
    let Ok(location) = HeaderValue::try_from(target) else {
        // Registration only accepts printable ASCII, so this means a corrupt record.
        return error(&ApiError::ServerError, "");
    };
    let builder = Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location);
    finish(builder, String::new())
}

/// A page of the sign-in and consent flow. Its forms may post to this server and, when
/// `redirect_origin` names one, be redirected to that client (Chromium holds a form's
/// redirects to `form-action` too); nothing else loads or runs: styles only by the hash of
/// the one stylesheet, no script, no frame may hold it. Its own form posts carry an
/// `Origin` (a `no-referrer` page's would say `null`), which every POST is checked by.
pub fn page(status: StatusCode, html: String, redirect_origin: Option<&str>) -> HttpResponse {
    let form_action = match redirect_origin {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".into(),
    };
    let policy = format!(
        "default-src 'none'; style-src '{}'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'",
        crate::pages::STYLE_HASH.as_str()
    );
    let builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
        .header(header::CONTENT_SECURITY_POLICY, policy)
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header("referrer-policy", "same-origin");
    finish_page(builder, html)
}

/// `303 See Other` to a page of this server (after a form post), setting or clearing the
/// session cookie when `cookie` says how.
pub fn see_other(target: &str, cookie: Option<String>) -> HttpResponse {
    let mut builder = Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, target);
    if let Some(cookie) = cookie {
        builder = builder.header(header::SET_COOKIE, cookie);
    }
    finish(builder, String::new())
}

/// Adds a `Set-Cookie` to a response (a page that ends the session).
pub fn with_cookie(mut response: HttpResponse, cookie: String) -> HttpResponse {
    if let Ok(value) = HeaderValue::try_from(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// A page's headers besides its own: no-store, no-cache.
fn finish_page(builder: http::response::Builder, body: String) -> HttpResponse {
    builder
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
        .body(body)
        .unwrap_or_else(|_| {
            let mut fallback = Response::new(String::new());
            *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

/// Headers every response carries (contract: no-store, no-cache, no referrer, no CORS).
fn finish(builder: http::response::Builder, body: String) -> HttpResponse {
    builder
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::PRAGMA, "no-cache")
        .header("referrer-policy", "no-referrer")
        .body(body)
        .unwrap_or_else(|_| {
            let mut fallback = Response::new(String::new());
            *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header<'a>(r: &'a HttpResponse, name: &str) -> Option<&'a str> {
        r.headers().get(name).map(|v| v.to_str().unwrap())
    }

    fn json(r: &HttpResponse) -> serde_json::Value {
        serde_json::from_str(r.body()).unwrap()
    }

    #[test]
    fn success_location_has_the_contract_order() {
        let token = TokenResponse {
            token: "abc-_123",
            bound: false,
            expires_in: 315_576_000,
        };
        let r = issued(
            "https://my/internal/application/token_created",
            token,
            RedirectParams::default(),
        );
        assert_eq!(r.status(), 302);
        assert_eq!(
            header(&r, "location"),
            Some(
                "https://my/internal/application/token_created#access_token=abc-_123&token_type=Bearer&expires_in=315576000"
            )
        );
        assert_eq!(header(&r, "cache-control"), Some("no-store"));
        assert_eq!(header(&r, "pragma"), Some("no-cache"));
        assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"));
        assert!(r.body().is_empty());
        assert!(
            r.headers()
                .keys()
                .all(|k| !k.as_str().starts_with("access-control"))
        );
    }

    #[test]
    fn state_is_form_encoded_and_cannot_inject() {
        let token = TokenResponse {
            token: "tok",
            bound: true,
            expires_in: 60,
        };
        let r = issued(
            "https://a.example/cb?x=1",
            token,
            RedirectParams {
                state: Some("s&access_token=evil#x y"),
                iss: Some("https://as.example/prod"),
            },
        );
        assert_eq!(
            header(&r, "location"),
            Some(
                "https://a.example/cb?x=1#access_token=tok&token_type=DPoP&expires_in=60&state=s%26access_token%3Devil%23x+y&iss=https%3A%2F%2Fas.example%2Fprod"
            )
        );
    }

    #[test]
    fn a_code_and_a_code_request_s_errors_go_in_the_query() {
        let echo = RedirectParams {
            state: Some("s t"),
            iss: Some("https://as.example"),
        };
        let r = code_issued("https://a.example/cb?x=1", "c0de", echo);
        assert_eq!(
            header(&r, "location"),
            Some("https://a.example/cb?x=1&code=c0de&state=s+t&iss=https%3A%2F%2Fas.example")
        );
        let e = RedirectError::InvalidRequest("pkce".into());
        let r = redirect_error("https://a.example/cb", &e, RedirectParams::default(), true);
        assert_eq!(
            header(&r, "location"),
            Some("https://a.example/cb?error=invalid_request&error_description=pkce")
        );
    }

    #[test]
    fn redirect_errors_carry_error_description_and_state() {
        let r = redirect_error(
            "https://a.example/cb",
            &RedirectError::InvalidScope("unknown scope x:y".into()),
            RedirectParams {
                state: Some("st"),
                iss: Some("https://as.example"),
            },
            false,
        );
        assert_eq!(r.status(), 302);
        assert_eq!(
            header(&r, "location"),
            Some(
                "https://a.example/cb#error=invalid_scope&error_description=unknown+scope+x%3Ay&state=st&iss=https%3A%2F%2Fas.example"
            )
        );
    }

    #[test]
    fn json_errors_have_their_headers() {
        let r = error(&ApiError::MethodNotAllowed, "r");
        assert_eq!(r.status(), 405);
        assert_eq!(header(&r, "allow"), Some("POST"));
        assert_eq!(header(&r, "content-type"), Some("application/json"));
        assert_eq!(json(&r)["error"], "invalid_request");

        let r = error(&ApiError::LoginFailed, "direct-oauth");
        assert_eq!(r.status(), 401);
        assert_eq!(
            header(&r, "www-authenticate"),
            Some("Basic realm=\"direct-oauth\", charset=\"UTF-8\"")
        );
        assert_eq!(
            json(&r)["error_description"],
            "invalid username or password"
        );

        let r = error(
            &ApiError::Unavailable {
                retry_after_secs: 2,
            },
            "r",
        );
        assert_eq!(r.status(), 503);
        assert_eq!(header(&r, "retry-after"), Some("2"));
        assert_eq!(json(&r)["error"], "temporarily_unavailable");
        assert!(header(&r, "location").is_none());
        assert_eq!(header(&r, "cache-control"), Some("no-store"));
    }
}
