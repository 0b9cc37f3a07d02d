//! The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9449 §10), as the query
//! of `GET /oauth/authorize` or the hidden fields of the pages' forms carry it.

use url::form_urlencoded;

use crate::form::Form;
use crate::pages::Hidden;

/// The request's fields, as sent (each checked later, in `checks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::endpoints) struct AuthorizationRequest {
    pub client_id: String,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub dpop_jkt: Option<String>,
}

impl AuthorizationRequest {
    /// The fields of `form`; `Err` says why the request cannot be served (on a page: the
    /// client is not known yet, so nothing goes back to it).
    pub(super) fn from_form(form: &Form) -> Result<Self, String> {
        let field = |name: &str| form.get(name).map(str::to_string);
        let client_id = field("client_id").ok_or("client_id is required")?;
        // Not an id any application can have: no read is made for it.
        if !crate::identifier::is_client_id(&client_id) {
            return Err("The application is not registered here.".into());
        }
        let dpop_jkt = field("dpop_jkt");
        crate::request::check_state_and_key(form.get("state"), dpop_jkt.as_deref())?;
        Ok(AuthorizationRequest {
            client_id,
            redirect_uri: field("redirect_uri"),
            response_type: field("response_type"),
            scope: field("scope"),
            state: field("state"),
            code_challenge: field("code_challenge"),
            code_challenge_method: field("code_challenge_method"),
            dpop_jkt,
        })
    }

    /// The fields present, by name, in one order.
    fn fields(&self) -> Vec<(&'static str, &str)> {
        let optional = [
            ("redirect_uri", &self.redirect_uri),
            ("response_type", &self.response_type),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("dpop_jkt", &self.dpop_jkt),
        ];
        let present = optional
            .into_iter()
            .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)));
        std::iter::once(("client_id", self.client_id.as_str()))
            .chain(present)
            .collect()
    }

    /// The request as a form's hidden fields.
    pub(super) fn hidden(&self) -> Vec<Hidden> {
        let field = |(name, value): (&'static str, &str)| Hidden {
            name,
            value: value.to_string(),
        };
        self.fields().into_iter().map(field).collect()
    }

    /// The request as a query, to come back to `GET /oauth/authorize` after a form.
    pub(super) fn query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.fields())
            .finish()
    }
}

/// A user code as a link or a form carried it, kept only as long as a code could be
/// typed: it is shown again, never looked up on the way.
pub(in crate::endpoints) fn user_code_of(typed: Option<&str>) -> String {
    typed.unwrap_or_default().chars().take(20).collect()
}

/// Where a sign-in goes back to: the authorization request that asked for it, or one of
/// the person's own pages (a fixed list: a sign-in never redirects anywhere a form says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::endpoints) enum Return {
    Authorize(AuthorizationRequest),
    Account(AccountPage),
    /// The device verification page, with the user code a link named (RFC 8628
    /// `verification_uri_complete`), as typed.
    Device(String),
}

impl Return {
    /// From the sign-in form: `next` names an account page, else the authorization request.
    pub(super) fn from_form(form: &Form) -> Result<Self, String> {
        match form.get("next") {
            Some("device") => Ok(Return::Device(user_code_of(form.get("user_code")))),
            Some(next) => AccountPage::named(next)
                .map(Return::Account)
                .ok_or_else(|| format!("{next:?} is not a page of ours")),
            None => AuthorizationRequest::from_form(form).map(Return::Authorize),
        }
    }

    /// The client the sign-in is for (none for an account page).
    pub(super) fn client_id(&self) -> &str {
        match self {
            Return::Authorize(ar) => &ar.client_id,
            Return::Account(_) | Return::Device(_) => "",
        }
    }

    /// What the sign-in form carries through.
    pub(in crate::endpoints) fn hidden(&self) -> Vec<Hidden> {
        match self {
            Return::Authorize(ar) => ar.hidden(),
            Return::Account(page) => vec![Hidden {
                name: "next",
                value: page.name().into(),
            }],
            Return::Device(user_code) => vec![
                Hidden {
                    name: "next",
                    value: "device".into(),
                },
                Hidden {
                    name: "user_code",
                    value: user_code.clone(),
                },
            ],
        }
    }
}

/// The signed-in person's own pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::endpoints) enum AccountPage {
    Tokens,
    Applications,
}

impl AccountPage {
    pub(in crate::endpoints) const ALL: [AccountPage; 2] =
        [AccountPage::Tokens, AccountPage::Applications];

    pub(in crate::endpoints) fn name(self) -> &'static str {
        match self {
            AccountPage::Tokens => "tokens",
            AccountPage::Applications => "applications",
        }
    }

    /// Its path after the issuer's.
    pub(in crate::endpoints) fn path(self) -> &'static str {
        match self {
            AccountPage::Tokens => "/oauth/tokens",
            AccountPage::Applications => "/oauth/applications",
        }
    }

    fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_goes_through_a_form_and_comes_back_the_same() {
        let query = "client_id=cli&redirect_uri=https%3A%2F%2Fa.example%2Fcb&response_type=code\
                     &scope=repo%3Aread&state=s%20%26%201&code_challenge=abc&code_challenge_method=S256";
        let form = crate::form::parse(query.as_bytes()).unwrap();
        let request = AuthorizationRequest::from_form(&form).unwrap();
        assert_eq!(request.state.as_deref(), Some("s & 1"));
        let again = crate::form::parse(request.query().as_bytes()).unwrap();
        assert_eq!(AuthorizationRequest::from_form(&again).unwrap(), request);
        let names: Vec<_> = request.hidden().iter().map(|h| h.name).collect();
        assert_eq!(names.len(), 7);
        let missing = crate::form::parse(b"scope=repo:read").unwrap();
        assert!(AuthorizationRequest::from_form(&missing).is_err());
    }

    #[test]
    fn a_sign_in_returns_to_the_request_or_to_one_of_our_pages_only() {
        let back = |body: &str| Return::from_form(&crate::form::parse(body.as_bytes()).unwrap());
        assert_eq!(
            back("next=tokens"),
            Ok(Return::Account(AccountPage::Tokens))
        );
        assert!(back("next=https%3A%2F%2Fevil.example").is_err());
        assert!(matches!(back("client_id=cli"), Ok(Return::Authorize(_))));
        let page = Return::Account(AccountPage::Applications);
        assert_eq!(page.client_id(), "");
        assert_eq!(page.hidden()[0].value, "applications");
    }
}
