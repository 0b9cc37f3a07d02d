//! Direct approval's checks 5-8 and 10-11, in contract order: pure decisions on what the
//! reads brought, the time given, never a clock or a store. The driver (`super`) runs
//! the reads before them and check 9 (the password) and 12 (the writes) between and after.

use std::collections::BTreeSet;
use std::time::Duration;

use super::request::AuthorizeRequest;
use crate::basic_auth::Credentials;
use crate::dpop::Proof;
use crate::error::{ApiError, RedirectError};
use crate::scope::{self, ScopePolicy};
use crate::store::{Admission, Application, FailedLogins, Lookup};
use crate::{pkce, redirect};

/// What checks 5-8 let through to the password: the application, where the answer goes,
/// the key what is issued is bound to, and the attempt admitted with its failures so far.
pub(super) struct Admitted<'r, L> {
    pub app: &'r Application,
    pub credentials: &'r Credentials,
    pub redirect_uri: String,
    pub jkt: Option<&'r str>,
    pub lease: L,
    pub counts: Option<FailedLogins>,
}

/// Checks 5-8. `proof`: the request's DPoP proof and what spending it found; `attempt`:
/// the login's lease and the counter's answer (`None` without credentials; an
/// outage answered here, in check 8's turn); `now_ms`:
/// when the admission came (it may have waited its turn).
pub(super) fn before_password<'r, L>(
    req: &'r AuthorizeRequest,
    lookup: &'r Lookup,
    (proof, spent): (Option<&'r Proof>, Result<(), ApiError>),
    attempt: Option<(L, Result<Admission, ApiError>)>,
    now_ms: u64,
    backoff_cap: Duration,
) -> Result<Admitted<'r, L>, ApiError> {
    // 5: registered application; 6: redirect URI.
    let app = lookup
        .application
        .as_ref()
        .ok_or_else(|| ApiError::invalid_request("unknown client"))?;
    let redirect_uri = redirect::select(&app.redirect_uris, req.redirect_uri.as_deref())?;
    // 6a: a token is bound to a key if the application requires it (a code request needs
    // no proof: its exchange does); a proof must be fresh, its nonce current. What is
    // issued is bound to the proof's key, or else to the key `dpop_jkt` names.
    let wants_token = req.response_type.as_deref().unwrap_or("token") == "token";
    super::super::proof::required(app.require_dpop && wants_token, proof)?;
    spent?;
    let jkt = proof.map(|p| p.jkt.as_str()).or(req.dpop_jkt.as_deref());
    // 7: credentials (an attempt is made for them, and only for them).
    let (Some(credentials), Some((lease, admission))) = (&req.credentials, attempt) else {
        return Err(ApiError::MissingCredentials);
    };
    // 8: back-off, and one verification at a time per name.
    let counts = super::super::login::back_off(admission?, now_ms, backoff_cap)?;
    Ok(Admitted {
        app,
        credentials,
        redirect_uri,
        jkt,
        lease,
        counts,
    })
}

/// What checks 10-11 approve, for check 12 to write.
pub(super) enum Approval {
    Token {
        scopes: Vec<String>,
    },
    /// `response_type=code`, with its PKCE challenge (S256).
    Code {
        scopes: Vec<String>,
        challenge: String,
    },
}

/// A refusal of checks 10-11: the redirect URI is trusted by now, so the error goes there,
/// in the query for a code request, in the fragment for a token request.
pub(super) struct Refusal {
    pub error: RedirectError,
    pub in_query: bool,
}

/// Who the password proved the user to be, as checks 10-11 see it.
pub(super) struct Person<'a> {
    pub username: &'a str,
    pub groups: &'a BTreeSet<String>,
    pub superuser: bool,
}

/// Checks 10 (response type; a code needs PKCE) and 11 (whom the application may be
/// granted tokens for, then scopes).
pub(super) fn after_password(
    req: &AuthorizeRequest,
    app: &Application,
    person: Person<'_>,
    catalogue: &BTreeSet<String>,
) -> Result<Approval, Refusal> {
    let refuse = |error, in_query| Refusal { error, in_query };
    let challenge = match req.response_type.as_deref().unwrap_or("token") {
        "token" => None,
        "code" => {
            let method = req.code_challenge_method.as_deref();
            let challenge = pkce::challenge(req.code_challenge.as_deref(), method);
            Some(challenge.map_err(|why| refuse(RedirectError::InvalidRequest(why), true))?)
        }
        _ => {
            let why = "response_type must be token or code".into();
            return Err(refuse(RedirectError::UnsupportedResponseType(why), false));
        }
    };
    let in_query = challenge.is_some();
    if !app.access.admits(person.username, person.groups) {
        let why = "the application may not be granted tokens for this user".into();
        return Err(refuse(RedirectError::AccessDenied(why), in_query));
    }
    let policy = ScopePolicy {
        catalogue,
        ceiling: app.scope_ceiling.as_ref(),
        superuser: person.superuser,
    };
    let scopes = scope::grant(req.scope.as_deref(), &policy).map_err(|e| refuse(e, in_query))?;
    Ok(match challenge {
        Some(challenge) => Approval::Code { scopes, challenge },
        None => Approval::Token { scopes },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::{application, user};

    const NOW_MS: u64 = 1_800_000_000_000;
    const CAP: Duration = Duration::from_secs(900);

    fn request(fields: &[(&str, &str)]) -> AuthorizeRequest {
        let field = |name| {
            fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        };
        AuthorizeRequest {
            client_id: "cli".into(),
            redirect_uri: field("redirect_uri"),
            scope: field("scope"),
            response_type: field("response_type"),
            state: None,
            code_challenge: field("code_challenge"),
            code_challenge_method: field("code_challenge_method"),
            dpop_jkt: None,
            credentials: Some(Credentials {
                username: "alice".into(),
                password: "pw".into(),
            }),
        }
    }

    fn lookup() -> Lookup {
        let app = Application {
            redirect_uris: vec!["https://a.example/cb".into()],
            ..application("cli")
        };
        Lookup {
            application: Some(app),
            user: Some(user("alice")),
            bcrypt_cost: None,
        }
    }

    fn admitted() -> Option<((), Result<Admission, ApiError>)> {
        Some(((), Ok(Admission::Admitted { counts: None })))
    }

    #[test]
    fn checks_5_to_8_answer_in_contract_order() {
        let req = request(&[]);
        let unknown = Lookup::default();
        let missing = before_password(&req, &unknown, (None, Ok(())), admitted(), NOW_MS, CAP);
        assert_eq!(
            missing.err(),
            Some(ApiError::invalid_request("unknown client"))
        );
        let found = lookup();
        let spent = || (None, Ok(()));
        let none = before_password(&req, &found, spent(), None::<((), _)>, NOW_MS, CAP);
        assert_eq!(none.err(), Some(ApiError::MissingCredentials));
        let outage = Some(((), Err(ApiError::ServerError)));
        let late = before_password(&req, &found, spent(), outage, NOW_MS, CAP);
        assert_eq!(
            late.err(),
            Some(ApiError::ServerError),
            "an outage in 8's turn"
        );
        let refused = Admission::Refused {
            window_until_ms: NOW_MS + 3_000,
            lease_until_ms: 0,
        };
        let waiting = before_password(&req, &found, spent(), Some(((), Ok(refused))), NOW_MS, CAP);
        let back_off = ApiError::BackOff {
            retry_after_secs: 3,
        };
        assert_eq!(waiting.err(), Some(back_off));
        let through = before_password(&req, &found, spent(), admitted(), NOW_MS, CAP);
        assert_eq!(through.unwrap().redirect_uri, "https://a.example/cb");
    }

    #[test]
    fn checks_10_and_11_refuse_to_the_redirect_uri() {
        let app = lookup().application.unwrap();
        let groups = BTreeSet::new();
        let person = || Person {
            username: "alice",
            groups: &groups,
            superuser: false,
        };
        let catalogue: BTreeSet<String> = ["repo:read".to_string()].into();
        let decide =
            |fields: &[(&str, &str)]| after_password(&request(fields), &app, person(), &catalogue);
        let odd = decide(&[("response_type", "id_token")]).err().unwrap();
        assert_eq!(
            (odd.error.code(), odd.in_query),
            ("unsupported_response_type", false)
        );
        let no_pkce = decide(&[("response_type", "code")]).err().unwrap();
        assert_eq!(
            (no_pkce.error.code(), no_pkce.in_query),
            ("invalid_request", true)
        );
        let too_much = decide(&[("scope", "org:admin")]).err().unwrap();
        assert_eq!(
            (too_much.error.code(), too_much.in_query),
            ("invalid_scope", false)
        );
        let granted = decide(&[("scope", "repo:read")]);
        assert!(matches!(granted, Ok(Approval::Token { scopes }) if scopes == ["repo:read"]));
    }
}
