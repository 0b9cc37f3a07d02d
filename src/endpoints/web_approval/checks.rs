//! The web approval's checks, pure, in the order `GET /oauth/authorize` and the consent
//! form run them: the client and its redirect URI (a failure is shown on a page: the URI is
//! not trusted yet), then the response type (the implicit one only where registered), PKCE
//! and the scopes (a failure goes to the
//! client's redirect URI), then whom the application may be granted tokens for.

use std::collections::BTreeSet;

use super::request::AuthorizationRequest;
use crate::error::RedirectError;
use crate::scope::{self, ScopePolicy};
use crate::store::Application;
use crate::{identifier, pkce, redirect};

/// A request that may be approved.
pub(super) struct Valid<'a> {
    pub app: &'a Application,
    pub redirect_uri: String,
    pub response: Response,
    pub scopes: Vec<String>,
}

/// What the approval sends back to the client.
pub(super) enum Response {
    /// A code for the token endpoint, bound to the PKCE challenge (S256).
    Code { challenge: String },
    /// The token itself, in the redirect's fragment: only for an application registered
    /// for it (`app add --implicit`).
    Implicit,
}

/// Why not.
pub(super) enum Invalid {
    /// Said on a page, never to the client: the client or its redirect URI is unknown.
    Page(String),
    /// Said to the client, in its redirect URI's query.
    Redirect {
        redirect_uri: String,
        error: RedirectError,
    },
}

/// Checks the request against its application. `superuser`: whether the person may be
/// granted `super:user` (before sign-in, not known yet: then it is not held against them).
pub(super) fn validate<'a>(
    req: &AuthorizationRequest,
    app: Option<&'a Application>,
    catalogue: &BTreeSet<String>,
    superuser: bool,
) -> Result<Valid<'a>, Invalid> {
    let app = app
        .filter(|_| identifier::is_client_id(&req.client_id))
        .ok_or_else(|| Invalid::Page("The application is not registered here.".into()))?;
    let requested = req.redirect_uri.as_deref();
    let redirect_uri = redirect::select(&app.redirect_uris, requested)
        .map_err(|e| Invalid::Page(format!("The application's request is not valid: {e}.")))?;
    let refuse = |error| Invalid::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
    };
    let response = match req.response_type.as_deref() {
        Some("code") => {
            let method = req.code_challenge_method.as_deref();
            let challenge = pkce::challenge(req.code_challenge.as_deref(), method)
                .map_err(|why| refuse(RedirectError::InvalidRequest(why)))?;
            Response::Code { challenge }
        }
        // The implicit response puts a token where a browser's history and the page's
        // scripts see it (RFC 9700 §2.1.2): only where an operator registered it, and
        // never with DPoP (no proof reaches this page).
        Some("token") if app.implicit && !app.require_dpop && req.dpop_jkt.is_none() => {
            Response::Implicit
        }
        Some("token") => {
            let why =
                "this application is not registered for the implicit response; use code".into();
            return Err(refuse(RedirectError::UnsupportedResponseType(why)));
        }
        _ => {
            let why = "response_type must be code".into();
            return Err(refuse(RedirectError::UnsupportedResponseType(why)));
        }
    };
    let policy = ScopePolicy {
        catalogue,
        ceiling: app.scope_ceiling.as_ref(),
        superuser,
    };
    let scopes = scope::grant(req.scope.as_deref(), &policy).map_err(refuse)?;
    Ok(Valid {
        app,
        redirect_uri,
        response,
        scopes,
    })
}

/// Whom the application may be granted tokens for (`app add --allow-user/--allow-group`).
pub(super) fn admits(
    valid: &Valid<'_>,
    username: &str,
    groups: &BTreeSet<String>,
) -> Result<(), Invalid> {
    if valid.app.access.admits(username, groups) {
        return Ok(());
    }
    let why = "the application may not be granted tokens for this user".into();
    Err(Invalid::Redirect {
        redirect_uri: valid.redirect_uri.clone(),
        error: RedirectError::AccessDenied(why),
    })
}
