//! The pages of the web approval, from what its checks found: each is its HTML and the
//! client's origin its forms may be redirected to (the consent page's, for the code).

use askama::Template;

use super::checks::Valid;
use super::request::{AuthorizationRequest, Return};
use super::{AUTHORIZE_PAGE_PATH, SIGN_IN_PATH, SIGN_OUT_PATH};
use crate::endpoints::browser::origin_of;
use crate::endpoints::endpoint_url;
use crate::pages::{Consent, STYLE, SignIn, scope_lines};
use crate::session::Session;

/// The sign-in page: for the application named, or for the person's own pages.
pub(in crate::endpoints) fn sign_in(
    issuer: &str,
    app_name: Option<&str>,
    back: &Return,
    username: &str,
    message: Option<&str>,
) -> (String, Option<String>) {
    let page = SignIn {
        style: STYLE,
        action: &endpoint_url(issuer, SIGN_IN_PATH),
        app_name,
        username,
        message,
        hidden: &back.hidden(),
    };
    (page.render().unwrap_or_default(), None)
}

/// The consent page: the scopes as a person reads them, the dangerous ones marked.
pub(super) fn consent(
    issuer: &str,
    valid: &Valid<'_>,
    ar: &AuthorizationRequest,
    session: &Session,
    message: Option<&str>,
) -> (String, Option<String>) {
    let scopes = scope_lines(&valid.scopes);
    let page = Consent {
        style: STYLE,
        action: &endpoint_url(issuer, AUTHORIZE_PAGE_PATH),
        signout_action: &endpoint_url(issuer, SIGN_OUT_PATH),
        app_name: &valid.app.name,
        username: &session.username,
        any_dangerous: scopes.iter().any(|s| s.dangerous),
        scopes: &scopes,
        csrf: &session.csrf,
        message,
        hidden: &ar.hidden(),
    };
    let html = page.render().unwrap_or_default();
    (html, form_target(&valid.redirect_uri))
}

/// Where the consent form's redirect may go, as a CSP source: the redirect URI's origin,
/// or its scheme alone for a native application's private-use scheme (RFC 8252 §7.1),
/// which has no origin.
fn form_target(redirect_uri: &str) -> Option<String> {
    origin_of(redirect_uri).or_else(|| {
        let scheme = url::Url::parse(redirect_uri).ok()?.scheme().to_string();
        Some(format!("{scheme}:"))
    })
}

#[cfg(test)]
mod tests {
    use super::form_target;

    #[test]
    fn a_redirect_uri_s_origin_or_scheme_is_the_form_s_target() {
        let target = |uri| form_target(uri).unwrap();
        assert_eq!(
            target("https://client.example/cb?x=1"),
            "https://client.example"
        );
        assert_eq!(target("http://127.0.0.1:8400/cb"), "http://127.0.0.1:8400");
        assert_eq!(
            target("com.example.app:/oauth2redirect"),
            "com.example.app:"
        );
    }
}
