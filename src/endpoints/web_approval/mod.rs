//! The web approval flow (RFC 6749 §4.1 with PKCE, the door Quay's UI uses): `GET
//! /oauth/authorize` shows the sign-in page to a browser without a session and the consent
//! page to one with; the sign-in form posts to `/oauth/signin`, the consent form back to
//! `/oauth/authorize`, and `/oauth/signout` ends the session. Sign-in is direct approval's
//! login (one lease, one back-off per person, the timing floor); the code it ends with is
//! exchanged at the token endpoint as any other.

use std::time::Duration;

use http::{Method, Request, StatusCode};

use super::browser::{
    Browser, Early, bad_request, early, forbidden, issuer_of, logged, message, outage, render,
    shown,
};
use super::issuance::{CodeTerms, Issuance};
use super::login::{LoginLease, MIN_DIRECTORY_BUDGET_MS, PasswordCheck, back_off};
use super::{Answer, Event, RequestLog, Settings, endpoint_url, fetch_budget};
use crate::basic_auth::Credentials;
use crate::clock::Clock;
use crate::directory::Directory;
use crate::error::ApiError;
use crate::pages::{self, Message};
use crate::password::Passwords;
use crate::random::Random;
use crate::response::{self, RedirectParams, TokenResponse};
use crate::scope;
use crate::session::{self, Session, SignedIn};
use crate::store::{
    CodeStore, ConsentStore, FailureCounter, Lookup, LookupReader, SessionStore, StoreError,
    TokenReader, TokenWriter, User, UserLinker, Verified,
};
use crate::token::AccessToken;

mod checks;
pub(super) mod pages_of;
mod request;

use checks::{Invalid, Response, Valid, admits, validate};
use request::AuthorizationRequest;
pub(super) use request::{AccountPage, Return, user_code_of};

/// The pages' paths after the issuer's.
pub(super) const AUTHORIZE_PAGE_PATH: &str = "/oauth/authorize";
pub(super) const SIGN_IN_PATH: &str = "/oauth/signin";
pub(super) const SIGN_OUT_PATH: &str = "/oauth/signout";

/// The one thing a failed sign-in says, whatever failed.
const SIGN_IN_FAILED: &str = "The username or password is wrong.";

/// One sign-in attempt: where it goes back to, and what it holds.
struct Attempt<'a, 'b, S: FailureCounter> {
    issuer: &'a str,
    back: &'a Return,
    credentials: &'a Credentials,
    lease: &'a LoginLease<'b, S>,
    deadline_ms: u64,
}

/// What a request to the pages asks for.
pub(super) enum Action {
    /// `GET /oauth/authorize`: the sign-in or the consent page.
    Show,
    /// `POST /oauth/authorize`: the consent form's decision.
    Decide,
    SignIn,
    SignOut,
}

/// The web approval's ports.
pub(super) struct WebApproval<'a, S, C, R, P, D> {
    pub store: &'a S,
    pub clock: &'a C,
    pub random: &'a R,
    /// Sign-in's password: direct approval's check 9.
    pub login: PasswordCheck<'a, S, C, P, D>,
    pub settings: &'a Settings,
    pub issuance: Issuance<'a, S, R>,
}

impl<S, C, R, P, D> WebApproval<'_, S, C, R, P, D>
where
    S: LookupReader + FailureCounter + UserLinker + SessionStore + TokenWriter + TokenReader,
    S: CodeStore + ConsentStore,
    C: Clock,
    R: Random,
    P: Passwords,
    D: Directory,
{
    pub(super) async fn answer<B: AsRef<[u8]>>(&self, req: &Request<B>, action: Action) -> Answer {
        let outcome = match action {
            Action::Show => self.show(req).await,
            Action::Decide => self.decide(req).await,
            Action::SignIn => self.sign_in(req).await,
            Action::SignOut => self.sign_out(req).await,
        };
        outcome.unwrap_or_else(|early| *early)
    }

    /// `GET /oauth/authorize`: the consent page for a signed-in browser, else sign-in.
    async fn show<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Result<Answer, Early> {
        if req.method() != Method::GET {
            return Err(message(
                StatusCode::METHOD_NOT_ALLOWED,
                "Not here",
                "Use GET.",
            ));
        }
        let issuer = issuer_of(self.settings, req)?;
        let query = crate::request::query(req);
        let form = crate::form::parse(query.as_bytes()).map_err(|e| bad_request(&e))?;
        let ar = AuthorizationRequest::from_form(&form).map_err(|why| bad_request(&why))?;
        let session = self.browser().current_session(req).await?;
        let username = session.as_ref().map(|s| s.username.as_str());
        // The consent given so far is read beside the application and the user: one
        // round trip, not two (unused when the request is refused).
        let consent = async {
            match username {
                Some(name) => self.store.consent(name, &ar.client_id).await,
                None => Ok(Default::default()),
            }
        };
        let (lookup, granted) = tokio::join!(self.lookup(&ar.client_id, username), consent);
        let lookup = lookup?;
        let superuser = session.as_ref().is_none_or(|s| s.superuser);
        let catalogue = &self.settings.scopes;
        let app = lookup.application.as_ref();
        let valid =
            validate(&ar, app, catalogue, superuser).map_err(|e| refused(e, &ar, &issuer))?;
        let Some(session) = session else {
            let back = Return::Authorize(ar.clone());
            let page = pages_of::sign_in(&issuer, Some(&valid.app.name), &back, "", None);
            return Ok(shown(page, StatusCode::OK, &ar.client_id, ""));
        };
        admits(&valid, &session.username, &session.groups).map_err(|e| refused(e, &ar, &issuer))?;
        // Consent once given holds until the application asks for more.
        let granted: std::collections::BTreeSet<String> = granted.map_err(outage)?;
        if valid.scopes.iter().all(|s| granted.contains(s)) {
            return self
                .grant(&ar, &valid, &session, lookup.user, &issuer)
                .await;
        }
        let page = pages_of::consent(&issuer, &valid, &ar, &session, None);
        Ok(shown(
            page,
            StatusCode::OK,
            &ar.client_id,
            &session.username,
        ))
    }

    /// `POST /oauth/signin`: direct approval's login, then a new session and back to the
    /// authorization request (or the account page) the form names.
    async fn sign_in<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Result<Answer, Early> {
        let (issuer, form) = self.browser().posted(req)?;
        let back = Return::from_form(&form).map_err(|why| bad_request(&why))?;
        let username = form.get("username").unwrap_or_default();
        let credentials = Credentials {
            username: username.to_string(),
            password: form.get("password").unwrap_or_default().to_string(),
        };
        let now_ms = self.clock.now_ms();
        let deadline_ms = now_ms + fetch_budget(req, now_ms).as_millis() as u64;
        self.login.passwords.prepare();
        let cap = self.settings.backoff_cap;
        let lease = LoginLease::new(self.store, self.random, &credentials, cap).map_err(early)?;
        let lookup = self.store.lookup(back.client_id(), Some(lease.key()));
        let admit = lease.admit(self.clock, self.random, deadline_ms);
        let (lookup, admission) = tokio::join!(lookup, admit);
        let attempt = Attempt {
            issuer: &issuer,
            back: &back,
            credentials: &credentials,
            lease: &lease,
            deadline_ms,
        };
        let outcome = self.verify(attempt, (lookup, admission)).await;
        lease.release().await;
        let signed_in = outcome?;
        let started = Session::start(signed_in, self.clock.now_ms() / 1000, self.random);
        let session::Started { id, session } = started.map_err(|_| early(ApiError::ServerError))?;
        self.store.put_session(&session).await.map_err(outage)?;
        let to = match &back {
            Return::Authorize(ar) => format!(
                "{}?{}",
                endpoint_url(&issuer, AUTHORIZE_PAGE_PATH),
                ar.query()
            ),
            Return::Account(page) => endpoint_url(&issuer, page.path()),
            Return::Device(user_code) => {
                let page = endpoint_url(&issuer, super::device_authorization::VERIFICATION_PATH);
                let query: String =
                    url::form_urlencoded::byte_serialize(user_code.as_bytes()).collect();
                format!("{page}?user_code={query}")
            }
        };
        let response = response::see_other(&to, Some(session::set_cookie(&id)));
        let client_id = back.client_id();
        Ok(logged(
            response,
            Event::SignedIn,
            client_id,
            &session.username,
        ))
    }

    /// The sign-in's checks once the reads are in: the application (for its name), the
    /// back-off, the password; a failure is counted and answered no sooner than the
    /// timing floor, with the one message every failure shows.
    async fn verify(
        &self,
        Attempt {
            issuer,
            back,
            credentials,
            lease,
            deadline_ms,
        }: Attempt<'_, '_, S>,
        (lookup, admission): (
            Result<Lookup, StoreError>,
            Result<crate::store::Admission, StoreError>,
        ),
    ) -> Result<SignedIn, Early> {
        let lookup = lookup.map_err(outage)?;
        let app_name = match back {
            Return::Authorize(ar) => {
                let app = lookup.application.as_ref();
                let catalogue = &self.settings.scopes;
                let valid =
                    validate(ar, app, catalogue, true).map_err(|e| refused(e, ar, issuer))?;
                Some(valid.app.name.clone())
            }
            Return::Account(_) | Return::Device(_) => None,
        };
        let again = |status, message: &str| {
            let username = &credentials.username;
            let page =
                pages_of::sign_in(issuer, app_name.as_deref(), back, username, Some(message));
            Box::new(shown(page, status, back.client_id(), ""))
        };
        let admitted_ms = self.clock.now_ms();
        let counts = match back_off(
            admission.map_err(outage)?,
            admitted_ms,
            self.settings.backoff_cap,
        ) {
            Ok(counts) => counts,
            Err(ApiError::BackOff { retry_after_secs }) => {
                let wait = format!("Too many attempts. Try again in {retry_after_secs} seconds.");
                return Err(again(StatusCode::TOO_MANY_REQUESTS, &wait));
            }
            Err(e) => return Err(early(e)),
        };
        let check = self.login;
        let verifying_since = self.clock.now_ms();
        let within = deadline_ms
            .saturating_sub(verifying_since)
            .max(MIN_DIRECTORY_BUDGET_MS);
        let checked = check.check(credentials, &lookup, Duration::from_millis(within));
        let Some(login) = checked.await.map_err(early)? else {
            let recorded = lease
                .count_failure(counts.as_ref(), self.clock.now_ms())
                .await;
            check.wait_out_timing_floor(&lookup, verifying_since).await;
            recorded.map_err(outage)?;
            return Err(again(StatusCode::UNAUTHORIZED, SIGN_IN_FAILED));
        };
        Ok(SignedIn {
            generation: login.user.generation,
            username: login.user.username,
            groups: login.groups,
            superuser: login.superuser,
        })
    }

    /// `POST /oauth/authorize`: the consent form's decision, by the signed-in person.
    async fn decide<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Result<Answer, Early> {
        let (issuer, form) = self.browser().posted(req)?;
        let ar = AuthorizationRequest::from_form(&form).map_err(|why| bad_request(&why))?;
        let Some(session) = self.browser().current_session(req).await? else {
            // Signed out or timed out meanwhile: the request starts again at sign-in.
            let back = format!(
                "{}?{}",
                endpoint_url(&issuer, AUTHORIZE_PAGE_PATH),
                ar.query()
            );
            return Ok(logged(
                response::see_other(&back, None),
                Event::Page,
                &ar.client_id,
                "",
            ));
        };
        if !session.csrf_matches(form.get("csrf")) {
            return Err(forbidden("The form has expired. Go back and try again."));
        }
        let lookup = self.lookup(&ar.client_id, Some(&session.username)).await?;
        let app = lookup.application.as_ref();
        let catalogue = &self.settings.scopes;
        let valid = validate(&ar, app, catalogue, session.superuser)
            .map_err(|e| refused(e, &ar, &issuer))?;
        admits(&valid, &session.username, &session.groups).map_err(|e| refused(e, &ar, &issuer))?;
        if form.get("decision") != Some("allow") {
            let denied = Invalid::Redirect {
                redirect_uri: valid.redirect_uri.clone(),
                error: crate::error::RedirectError::AccessDenied("the user denied access".into()),
            };
            return Err(refused(denied, &ar, &issuer));
        }
        let dangerous = valid.scopes.iter().any(|s| scope::describe(s).1);
        if dangerous && form.get("confirm") != Some("dangerous") {
            let why = "Confirm that the application may administer on your behalf, or deny.";
            let page = pages_of::consent(&issuer, &valid, &ar, &session, Some(why));
            return Ok(shown(
                page,
                StatusCode::BAD_REQUEST,
                &ar.client_id,
                &session.username,
            ));
        }
        let remembered =
            self.store
                .remember_consent(&session.username, &ar.client_id, &valid.scopes);
        remembered.await.map_err(outage)?;
        self.grant(&ar, &valid, &session, lookup.user, &issuer)
            .await
    }

    /// The approved request's answer to the client: a code stored for the exchange, or
    /// (registered for it) the token itself; a user disabled, reset or removed since
    /// sign-in ends the session instead.
    async fn grant(
        &self,
        ar: &AuthorizationRequest,
        valid: &Valid<'_>,
        session: &Session,
        user: Option<User>,
        issuer: &str,
    ) -> Result<Answer, Early> {
        let Some(user) = user.filter(|u| session.holds_for(Some(u))) else {
            self.store.end_session(&session.key).await.map_err(outage)?;
            let why = "Your account changed since you signed in. Sign in again.";
            return Err(forbidden(why));
        };
        let params = RedirectParams {
            state: ar.state.as_deref(),
            iss: Some(issuer),
        };
        let now_ms = self.clock.now_ms();
        let (response, event, token_id) = match &valid.response {
            Response::Code { challenge } => {
                let terms = CodeTerms {
                    client_id: &ar.client_id,
                    redirect_uri: &valid.redirect_uri,
                    redirect_uri_given: ar.redirect_uri.is_some(),
                    scopes: &valid.scopes,
                    challenge: challenge.clone(),
                    client_epoch: valid.app.token_epoch,
                    jkt: ar.dpop_jkt.as_deref(),
                };
                let code = self.issuance.issue_code(&user, terms, now_ms).await;
                let code = code.map_err(early)?;
                let response = response::code_issued(&valid.redirect_uri, &code, params);
                (response, Event::CodeIssued, String::new())
            }
            Response::Implicit => {
                let token = self.implicit_token(&user, valid, now_ms).await?;
                let exposed = token.expose();
                let issued = TokenResponse {
                    token: &exposed,
                    bound: false,
                    expires_in: self.settings.lifetime_of(valid.app).as_secs(),
                };
                let response = response::issued(&valid.redirect_uri, issued, params);
                (response, Event::TokenIssued, token.id().to_string())
            }
        };
        let mut answer = logged(response, event, &ar.client_id, &session.username);
        answer.log.scopes = valid.scopes.join(" ");
        answer.log.token_id = token_id;
        Ok(answer)
    }

    /// The implicit response's token, held to the user as signed in.
    async fn implicit_token(
        &self,
        user: &User,
        valid: &Valid<'_>,
        now_ms: u64,
    ) -> Result<AccessToken, Early> {
        let held_to = Verified {
            username: user.username.clone(),
            password_hash: None,
            generation: user.generation,
            new_password_hash: None,
        };
        let issued = self
            .issuance
            .issue_token(&held_to, valid.app, &valid.scopes, None, now_ms)
            .await;
        issued.map_err(early)
    }

    /// `POST /oauth/signout`: the session ends here and on every instance.
    async fn sign_out<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Result<Answer, Early> {
        let (_, form) = self.browser().posted(req)?;
        let session = self.browser().current_session(req).await?;
        if let Some(session) = &session {
            if !session.csrf_matches(form.get("csrf")) {
                return Err(forbidden("The form has expired. Go back and try again."));
            }
            self.store.end_session(&session.key).await.map_err(outage)?;
        }
        let page = Message {
            style: pages::STYLE,
            title: "Signed out",
            text: "You are signed out. You can close this page.",
        };
        let username = session.map(|s| s.username).unwrap_or_default();
        let mut answer = shown(render(&page), StatusCode::OK, "", &username);
        answer.log.event = Event::SignedOut;
        answer.response = response::with_cookie(answer.response, session::clear_cookie());
        Ok(answer)
    }

    fn browser(&self) -> Browser<'_, S, C> {
        Browser {
            store: self.store,
            clock: self.clock,
            settings: self.settings,
        }
    }

    async fn lookup(&self, client_id: &str, username: Option<&str>) -> Result<Lookup, Early> {
        self.store.lookup(client_id, username).await.map_err(outage)
    }
}

/// A refusal: on a page, or to the client's redirect URI (with `state` and `iss`).
fn refused(invalid: Invalid, ar: &AuthorizationRequest, issuer: &str) -> Early {
    match invalid {
        Invalid::Page(why) => bad_request(&why),
        Invalid::Redirect {
            redirect_uri,
            error,
        } => {
            let params = RedirectParams {
                state: ar.state.as_deref(),
                iss: Some(issuer),
            };
            // The implicit response's errors go in the fragment, as its token would
            // (RFC 6749 §4.2.2.1); the code flow's in the query.
            let in_query = ar.response_type.as_deref() != Some("token");
            let response = response::redirect_error(&redirect_uri, &error, params, in_query);
            let log = RequestLog {
                event: Event::RedirectError,
                client_id: ar.client_id.clone(),
                error: error.code(),
                description: error.to_string(),
                ..RequestLog::default()
            };
            Box::new(Answer { response, log })
        }
    }
}
