//! The signed-in person's own pages: their API tokens (the Generate Token door, as Quay
//! 3.18 has it: `GET /oauth/tokens`, create with `POST /oauth/tokens`, revoke one with
//! `POST /oauth/tokens/revoke`) and the applications they authorized (`GET
//! /oauth/applications`, `POST /oauth/applications/revoke` ends one application's access).
//!
//! Every page needs a live session whose user is still as signed in (same generation,
//! enabled): an operator's disable, password reset or `token revoke --user` ends it. A
//! browser without one is shown the sign-in page, which comes back here.

use http::{Method, Request, StatusCode};

use super::browser::{Browser, Early, bad_request, forbidden, issuer_of, logged, outage, shown};
use super::device_authorization::VERIFICATION_PATH;
use super::web_approval::pages_of::sign_in;
use super::web_approval::{AccountPage, Return, user_code_of};
use super::{Answer, Event, Settings, endpoint_url};
use crate::clock::Clock;
use crate::form::Form;
use crate::random::Random;
use crate::response;
use crate::session::{self, Session};
use crate::store::{
    ApiTokenStore, Application, DeviceStore, Holdings, LookupReader, SessionStore, User,
};

mod applications;
pub mod creation;
mod device;
mod pages_of;
mod tokens;

/// The paths of the pages' forms after the issuer's.
pub(super) const REVOKE_TOKEN_PATH: &str = "/oauth/tokens/revoke";
pub(super) const REVOKE_ACCESS_PATH: &str = "/oauth/applications/revoke";

/// What a request to the person's pages asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AccountAction {
    Show(AccountPage),
    CreateToken,
    RevokeToken,
    RevokeAccess,
    /// The device verification page: the code's entry (GET), the request it names or the
    /// decision on it (POST).
    ShowDevice,
    Device,
}

impl AccountAction {
    /// The action a path and method name, if any.
    pub(super) fn of(path: &str, method: &Method) -> Option<Self> {
        let post = method == Method::POST;
        if path.ends_with(REVOKE_TOKEN_PATH) {
            return Some(AccountAction::RevokeToken);
        }
        if path.ends_with(REVOKE_ACCESS_PATH) {
            return Some(AccountAction::RevokeAccess);
        }
        if path.ends_with(VERIFICATION_PATH) {
            return Some(match post {
                true => AccountAction::Device,
                false => AccountAction::ShowDevice,
            });
        }
        let page = AccountPage::ALL
            .into_iter()
            .find(|p| path.ends_with(p.path()))?;
        Some(match page {
            AccountPage::Tokens if post => AccountAction::CreateToken,
            page => AccountAction::Show(page),
        })
    }

    /// Where a sign-in for the action comes back to: its page (the verification page with
    /// the user code the request carried).
    fn back(self, user_code: Option<&str>) -> Return {
        match self {
            AccountAction::Show(page) => Return::Account(page),
            AccountAction::CreateToken | AccountAction::RevokeToken => {
                Return::Account(AccountPage::Tokens)
            }
            AccountAction::RevokeAccess => Return::Account(AccountPage::Applications),
            AccountAction::ShowDevice | AccountAction::Device => {
                Return::Device(user_code_of(user_code))
            }
        }
    }

    fn is_view(self) -> bool {
        matches!(self, AccountAction::Show(_) | AccountAction::ShowDevice)
    }
}

/// The person's pages' ports.
pub(super) struct Account<'a, S, C, R> {
    pub store: &'a S,
    pub clock: &'a C,
    pub random: &'a R,
    pub settings: &'a Settings,
}

/// A request by a signed-in person: the issuer, the form (empty for a page view), the
/// session, and the user as read now.
struct SignedIn {
    issuer: String,
    form: Form,
    session: Session,
    user: User,
}

impl<S, C, R> Account<'_, S, C, R>
where
    S: SessionStore + LookupReader + ApiTokenStore + DeviceStore,
    C: Clock,
    R: Random,
{
    pub(super) async fn answer<B: AsRef<[u8]>>(
        &self,
        req: &Request<B>,
        action: AccountAction,
    ) -> Answer {
        let outcome = match self.signed_in(req, action).await {
            Ok(person) => match action {
                AccountAction::Show(AccountPage::Tokens) => self.tokens_page(&person).await,
                AccountAction::CreateToken => self.create_token(&person).await,
                AccountAction::RevokeToken => self.revoke_token(&person).await,
                AccountAction::Show(AccountPage::Applications) => {
                    self.applications_page(&person, None).await
                }
                AccountAction::RevokeAccess => self.revoke_access(&person).await,
                AccountAction::ShowDevice => self.device_entry(&person, req),
                AccountAction::Device => self.device(&person).await,
            },
            Err(early) => Err(early),
        };
        outcome.unwrap_or_else(|early| *early)
    }

    /// The person behind the request, or the answer for a browser that has none: the
    /// sign-in page (a form post first goes back to the page, so nothing it held is acted
    /// on without a session).
    async fn signed_in<B: AsRef<[u8]>>(
        &self,
        req: &Request<B>,
        action: AccountAction,
    ) -> Result<SignedIn, Early> {
        let view = action.is_view();
        if view != (req.method() == Method::GET) {
            return Err(bad_request(&"this page takes GET, its forms POST"));
        }
        let browser = self.browser();
        let (issuer, form) = if view {
            (issuer_of(self.settings, req)?, Form::default())
        } else {
            browser.posted(req)?
        };
        let query = query_of(req);
        let back = action.back(form.get("user_code").or(query.get("user_code")));
        let Some(session) = browser.current_session(req).await? else {
            if view {
                return Err(self.sign_in_page(&issuer, &back, None));
            }
            let back = endpoint_url(&issuer, back_path(&back));
            let response = response::see_other(&back, None);
            return Err(Box::new(logged(response, Event::Page, "", "")));
        };
        if !view && !session.csrf_matches(form.get("csrf")) {
            return Err(forbidden("The form has expired. Go back and try again."));
        }
        let lookup = self.store.lookup("", Some(&session.username)).await;
        let user = lookup.map_err(outage)?.user;
        let Some(user) = user.filter(|u| session.holds_for(Some(u))) else {
            self.store.end_session(&session.key).await.map_err(outage)?;
            let why = "Your account changed since you signed in. Sign in again.";
            return Err(self.sign_in_page(&issuer, &back, Some(why)));
        };
        Ok(SignedIn {
            issuer,
            form,
            session,
            user,
        })
    }

    fn sign_in_page(&self, issuer: &str, back: &Return, message: Option<&str>) -> Early {
        let html = sign_in(issuer, None, back, "", message);
        let mut answer = shown(html, StatusCode::OK, "", "");
        if message.is_some() {
            answer.response = response::with_cookie(answer.response, session::clear_cookie());
        }
        Box::new(answer)
    }

    /// What the person holds, and every application (their names and terms): one round
    /// trip of two reads.
    async fn holdings(&self, username: &str) -> Result<(Holdings, Vec<Application>), Early> {
        let (holdings, apps) =
            tokio::join!(self.store.holdings(username), self.store.applications());
        Ok((holdings.map_err(outage)?, apps.map_err(outage)?))
    }

    fn browser(&self) -> Browser<'_, S, C> {
        Browser {
            store: self.store,
            clock: self.clock,
            settings: self.settings,
        }
    }
}

/// The page a form without a session goes back to (a form post is never acted on
/// without one).
fn back_path(back: &Return) -> &'static str {
    match back {
        Return::Account(page) => page.path(),
        _ => VERIFICATION_PATH,
    }
}

/// The request's query, as a form (the verification page's `user_code`): where the Lambda
/// glue kept it ([`crate::request::query`]).
fn query_of<B>(req: &Request<B>) -> Form {
    let query = crate::request::query(req);
    crate::form::parse(query.as_bytes()).unwrap_or_default()
}
