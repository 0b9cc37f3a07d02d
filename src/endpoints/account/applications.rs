//! The Authorized applications page: what each application may do for the person, and
//! ending one's access (its tokens revoked, its consent forgotten).

use http::StatusCode;

use super::pages_of::applications_page;
use super::{Account, SignedIn};
use crate::clock::Clock;
use crate::endpoints::browser::{Early, outage, shown};
use crate::endpoints::{Answer, Event};
use crate::random::Random;
use crate::store::{ApiTokenStore, DeviceStore, LookupReader, SessionStore};

impl<S, C, R> Account<'_, S, C, R>
where
    S: SessionStore + LookupReader + ApiTokenStore + DeviceStore,
    C: Clock,
    R: Random,
{
    /// `GET /oauth/applications` (and the page after a revocation, with its `message`).
    pub(super) async fn applications_page(
        &self,
        person: &SignedIn,
        message: Option<&str>,
    ) -> Result<Answer, Early> {
        let username = &person.session.username;
        let (holdings, apps) = self.holdings(username).await?;
        let now = self.clock.now_ms() / 1000;
        let html = applications_page(person, (&holdings, &apps), message, now);
        Ok(shown((html, None), StatusCode::OK, "", username))
    }

    /// `POST /oauth/applications/revoke`: every token of the application for this person
    /// revoked, and its consent forgotten (asked again next time).
    pub(super) async fn revoke_access(&self, person: &SignedIn) -> Result<Answer, Early> {
        let client_id = person.form.get("client_id").unwrap_or_default();
        let now = self.clock.now_ms() / 1000;
        let username = &person.session.username;
        if !crate::identifier::is_client_id(client_id) {
            return self
                .applications_page(person, Some("No such application."))
                .await;
        }
        let revoked = self.store.revoke_access(username, client_id, now).await;
        let revoked = revoked.map_err(outage)?;
        let message = format!("Access revoked: {revoked} token(s) ended.");
        let mut answer = self.applications_page(person, Some(&message)).await?;
        answer.log.event = Event::AccessRevoked;
        answer.log.client_id = client_id.into();
        answer.log.description = format!("{revoked} token(s) revoked");
        Ok(answer)
    }
}
