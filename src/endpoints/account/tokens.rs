//! The Tokens page: the person's API tokens, one created (and shown once), one revoked.

use http::StatusCode;

use super::creation::{Created, CreationError, Creator, create_api_token};
use super::pages_of::{TokensView, tokens_page};
use super::{Account, SignedIn};
use crate::api_token::{Life, Order};
use crate::clock::Clock;
use crate::endpoints::Answer;
use crate::endpoints::Event;
use crate::endpoints::browser::{Early, early, forbidden, outage, shown};
use crate::random::Random;
use crate::store::{ApiTokenStore, DeviceStore, LookupReader, SessionStore};

/// The form's scope boxes are named `scope.<name>`: one field each, as forms here hold
/// each field once.
const SCOPE_FIELD: &str = "scope.";

impl<S, C, R> Account<'_, S, C, R>
where
    S: SessionStore + LookupReader + ApiTokenStore + DeviceStore,
    C: Clock,
    R: Random,
{
    /// `GET /oauth/tokens`.
    pub(super) async fn tokens_page(&self, person: &SignedIn) -> Result<Answer, Early> {
        let view = TokensView {
            created: None,
            message: None,
        };
        self.show_tokens(person, view, StatusCode::OK).await
    }

    /// The page with what the person holds now.
    async fn show_tokens(
        &self,
        person: &SignedIn,
        view: TokensView<'_>,
        status: StatusCode,
    ) -> Result<Answer, Early> {
        let username = &person.session.username;
        let (holdings, apps) = self.holdings(username).await?;
        let now = self.clock.now_ms() / 1000;
        let catalogue = &self.settings.scopes;
        let html = tokens_page(person, (&holdings, &apps), catalogue, view, now);
        Ok(shown((html, None), status, "", username))
    }

    /// `POST /oauth/tokens`: a new token, shown on the page once (never in a URL).
    pub(super) async fn create_token(&self, person: &SignedIn) -> Result<Answer, Early> {
        let form = &person.form;
        let client_id = form.get("client_id").unwrap_or_default();
        let refusal = match self.made(person, client_id).await {
            Ok(created) => return self.created(person, created).await,
            Err(CreationError::Refused(refusal)) => refusal,
            Err(CreationError::UserChanged) => {
                let session = &person.session;
                self.store.end_session(&session.key).await.map_err(outage)?;
                let why = "Your account changed since you signed in. Sign in again.";
                return Err(forbidden(why));
            }
            Err(CreationError::Failed(e)) => return Err(early(e)),
        };
        let message = format!("No token was created: {refusal}.");
        let view = TokensView {
            created: None,
            message: Some(&message),
        };
        let mut answer = self
            .show_tokens(person, view, StatusCode::BAD_REQUEST)
            .await?;
        answer.log.client_id = client_id.into();
        answer.log.description = refusal.to_string();
        Ok(answer)
    }

    /// The token the form asks for, if it may be made.
    async fn made(&self, person: &SignedIn, client_id: &str) -> Result<Created, CreationError> {
        let form = &person.form;
        let order = Order {
            name: form.get("name").unwrap_or_default().to_string(),
            scope: form.prefixed(SCOPE_FIELD).join(" "),
            life: Life::parse(form.get("life").unwrap_or_default())?,
        };
        let session = &person.session;
        let creator = Creator {
            username: &session.username,
            groups: &session.groups,
            superuser: session.superuser,
            generation: Some(session.generation),
        };
        let now = self.clock.now_ms() / 1000;
        let catalogue = &self.settings.scopes;
        let who = (&creator, client_id);
        create_api_token(self.store, self.random, catalogue, who, &order, now).await
    }

    async fn created(&self, person: &SignedIn, created: Created) -> Result<Answer, Early> {
        let view = TokensView {
            created: Some(&created.token),
            message: None,
        };
        let mut answer = self.show_tokens(person, view, StatusCode::OK).await?;
        let record = &created.record;
        answer.log.event = Event::ApiTokenCreated;
        answer.log.client_id = record.client_id.clone();
        answer.log.token_id = record.token_id.clone();
        answer.log.scopes = record.scopes.join(" ");
        Ok(answer)
    }

    /// `POST /oauth/tokens/revoke`: one of the person's tokens, by its public id.
    pub(super) async fn revoke_token(&self, person: &SignedIn) -> Result<Answer, Early> {
        let token_id = person.form.get("token_id").unwrap_or_default();
        let now = self.clock.now_ms() / 1000;
        let username = &person.session.username;
        // An id of no token's form names none of the person's: no write is tried.
        let revoked = match crate::token::is_token_id(token_id) {
            true => self.store.revoke_api_token(username, token_id, now).await,
            false => Ok(false),
        };
        let revoked = revoked.map_err(outage)?;
        let message = (!revoked).then_some("That token was revoked already, or is not yours.");
        let view = TokensView {
            created: None,
            message,
        };
        let mut answer = self.show_tokens(person, view, StatusCode::OK).await?;
        if revoked {
            answer.log.event = Event::ApiTokenRevoked;
            answer.log.token_id = token_id.into();
        }
        Ok(answer)
    }
}
