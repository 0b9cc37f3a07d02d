//! The device verification page (RFC 8628 §3.3), one of the signed-in person's pages:
//! `GET /oauth/device` shows the code's entry (filled from `verification_uri_complete`'s
//! `user_code`, never looked up on a GET); `POST /oauth/device` with a code shows the
//! request it names (the application, the scopes, where and when it came from) with the
//! warning against approving what the person did not start (cross-device phishing); with
//! `decision=allow|deny` it records the decision the tool's next poll learns.
//!
//! Guessing is bounded: a person who entered [`MAX_MISSES`] wrong codes in the window
//! waits for its end (with 20^8 codes, a live one is out of reach).

use http::{Request, StatusCode};

use super::{Account, SignedIn};
use crate::clock::Clock;
use crate::device::{self, Decision, MAX_MISSES, MISS_WINDOW};
use crate::endpoints::browser::{Early, outage, render, shown};
use crate::endpoints::{Event, device_authorization::VERIFICATION_PATH, endpoint_url};
use crate::pages::{self, DeviceRequest, scope_lines};
use crate::random::Random;
use crate::store::{
    ApiTokenStore, Application, DeviceAuthorization, DeviceStore, LookupReader, SessionStore,
};

/// What the entry shows besides the form.
struct Entry<'a> {
    typed: &'a str,
    message: Option<&'a str>,
    status: StatusCode,
}

impl<S, C, R> Account<'_, S, C, R>
where
    S: SessionStore + LookupReader + ApiTokenStore + DeviceStore,
    C: Clock,
    R: Random,
{
    /// `GET`: the entry, filled with the code the link named.
    pub(super) fn device_entry<B>(
        &self,
        person: &SignedIn,
        req: &Request<B>,
    ) -> Result<super::Answer, Early> {
        let query = super::query_of(req);
        let typed = super::user_code_of(query.get("user_code"));
        let shown_code = device::normalize(&typed).map_or(typed, |c| device::display(&c));
        let entry = Entry {
            typed: &shown_code,
            message: None,
            status: StatusCode::OK,
        };
        Ok(self.entry_page(person, entry))
    }

    /// `POST`: the request a code names, or the decision on it.
    pub(super) async fn device(&self, person: &SignedIn) -> Result<super::Answer, Early> {
        let now = self.clock.now_ms() / 1000;
        let username = &person.session.username;
        let typed = person.form.get("user_code").unwrap_or_default();
        let misses = self.store.wrong_user_codes(username, now).await;
        if misses.map_err(outage)? >= MAX_MISSES {
            let wait = format!(
                "Too many wrong codes. Wait {} minutes, then try again.",
                MISS_WINDOW.as_secs() / 60
            );
            let status = StatusCode::TOO_MANY_REQUESTS;
            return Ok(self.entry_page(
                person,
                Entry {
                    typed,
                    message: Some(&wait),
                    status,
                },
            ));
        }
        let Some(code) = device::normalize(typed) else {
            let why = "That is not a code from us: 8 letters, like BCDF-GHJK.";
            return Ok(self.again(person, typed, why));
        };
        let found = self
            .store
            .device_by_user_code(&code, now)
            .await
            .map_err(outage)?;
        let Some(request) = found else {
            self.store
                .note_wrong_user_code(username, now)
                .await
                .map_err(outage)?;
            return Ok(self.again(person, typed, "That code is wrong or expired."));
        };
        // A second click, or a code already used: said so, and not counted as a guess.
        if request.decision.is_some() {
            return Ok(self.again(person, typed, "That code was already used."));
        }
        let lookup = self.store.lookup(&request.client_id, None).await;
        let app = lookup
            .map_err(outage)?
            .application
            .filter(|a| a.device_grant);
        let Some(app) = app else {
            return Ok(self.again(person, typed, "That application no longer takes devices."));
        };
        match person.form.get("decision") {
            None => Ok(self.request_page(person, &request, &app)),
            Some(choice) => self.decide(person, &request, &app, choice == "allow").await,
        }
    }

    /// Records the person's decision: an approval only for whom the application admits,
    /// `super:user` only for a superuser.
    async fn decide(
        &self,
        person: &SignedIn,
        request: &DeviceAuthorization,
        app: &Application,
        allow: bool,
    ) -> Result<super::Answer, Early> {
        let session = &person.session;
        let superuser = request
            .scopes
            .iter()
            .any(|s| s == crate::scope::SUPERUSER_SCOPE);
        let admitted = app.access.admits(&session.username, &session.groups)
            && (!superuser || session.superuser);
        let decision = match allow && admitted {
            true => Decision::Approved {
                username: session.username.clone(),
                user_generation: person.user.generation,
                client_epoch: app.token_epoch,
            },
            false => Decision::Denied,
        };
        let now = self.clock.now_ms() / 1000;
        let done = self
            .store
            .decide_device(&request.device_hash, &decision, now)
            .await;
        let (title, text, event) = match (done.map_err(outage)?, &decision, allow) {
            (false, _, _) => (
                "Already decided",
                "This request was decided or expired before.",
                Event::Page,
            ),
            (true, Decision::Approved { .. }, _) => (
                "Device connected",
                "Go back to your device: it is signed in.",
                Event::DeviceApproved,
            ),
            (true, _, true) => (
                "Not allowed",
                "Your account may not use this application for that: the device gets nothing.",
                Event::DeviceDenied,
            ),
            (true, _, false) => ("Denied", "The device gets nothing.", Event::DeviceDenied),
        };
        let page = pages::Message {
            style: pages::STYLE,
            title,
            text,
        };
        let mut answer = shown(
            render(&page),
            StatusCode::OK,
            &app.client_id,
            &session.username,
        );
        answer.log.event = event;
        answer.log.scopes = request.scopes.join(" ");
        Ok(answer)
    }

    fn again(&self, person: &SignedIn, typed: &str, why: &str) -> super::Answer {
        let entry = Entry {
            typed,
            message: Some(why),
            status: StatusCode::BAD_REQUEST,
        };
        self.entry_page(person, entry)
    }

    fn entry_page(&self, person: &SignedIn, entry: Entry<'_>) -> super::Answer {
        let action = endpoint_url(&person.issuer, VERIFICATION_PATH);
        let typed: String = entry.typed.chars().take(20).collect();
        let page = pages::Device {
            style: pages::STYLE,
            nav: super::pages_of::nav(person),
            action: &action,
            typed: &typed,
            message: entry.message,
            request: None,
        };
        let mut answer = shown(render(&page), entry.status, "", &person.session.username);
        if entry.status.is_client_error() {
            answer.log.description = entry.message.unwrap_or_default().into();
        }
        answer
    }

    fn request_page(
        &self,
        person: &SignedIn,
        request: &DeviceAuthorization,
        app: &Application,
    ) -> super::Answer {
        let action = endpoint_url(&person.issuer, VERIFICATION_PATH);
        let page = pages::Device {
            style: pages::STYLE,
            nav: super::pages_of::nav(person),
            action: &action,
            typed: "",
            message: None,
            request: Some(DeviceRequest {
                app_name: app.name.clone(),
                user_code: device::display(&request.user_code),
                scopes: scope_lines(&request.scopes),
                requested_from: request.requested_from.clone(),
                user_agent: request.user_agent.clone(),
                requested_at: minute(request.created_at),
            }),
        };
        shown(
            render(&page),
            StatusCode::OK,
            &app.client_id,
            &person.session.username,
        )
    }
}

/// `2026-12-07 17:40 UTC` for epoch seconds.
fn minute(secs: u64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0));
    at.map(|t| format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute()))
        .unwrap_or_default()
}
