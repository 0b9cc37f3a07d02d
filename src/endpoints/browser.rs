//! What every page of ours does: the issuer, a form post's `Origin`, the browser's session
//! from its cookie, and pages as answers (each with its log line). Shared by the web
//! approval's pages and the signed-in person's own (tokens, authorized applications).

use http::{Request, StatusCode};

use super::{Answer, Event, RequestLog, Settings, issuer};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::form::Form;
use crate::pages::{self, Message};
use crate::response::{self, HttpResponse};
use crate::session::{self, Session};
use crate::store::{SessionStore, StoreError};

/// An answer that ends the request early: a page, or a redirect to the client.
pub(super) type Early = Box<Answer>;

/// The ports a page's session needs.
pub(super) struct Browser<'a, S, C> {
    pub store: &'a S,
    pub clock: &'a C,
    pub settings: &'a Settings,
}

impl<S: SessionStore, C: Clock> Browser<'_, S, C> {
    /// A form post's issuer and fields, once its `Origin` is this server's: a page of
    /// another site cannot post to these forms with the person's cookie.
    pub(super) fn posted<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Result<(String, Form), Early> {
        let issuer = issuer_of(self.settings, req)?;
        let origin = req.headers().get(http::header::ORIGIN);
        let origin = origin.and_then(|o| o.to_str().ok());
        if origin.is_none_or(|o| Some(o) != origin_of(&issuer).as_deref()) {
            return Err(forbidden(
                "This form can only be sent from this site's own pages.",
            ));
        }
        let form = crate::request::read_form(req).map_err(|e| bad_request(&e))?;
        Ok((issuer, form))
    }

    /// The browser's live session, if its cookie names one; a used one is marked used.
    pub(super) async fn current_session<B>(
        &self,
        req: &Request<B>,
    ) -> Result<Option<Session>, Early> {
        let Some(id) = session::cookie(req.headers()) else {
            return Ok(None);
        };
        let now_secs = self.clock.now_ms() / 1000;
        let found = self
            .store
            .session(&session::key_of(&id))
            .await
            .map_err(outage)?;
        let Some(session) = found.filter(|s| s.is_live(now_secs)) else {
            return Ok(None);
        };
        if session.needs_touch(now_secs) {
            self.store
                .touch_session(&session.key, now_secs)
                .await
                .map_err(outage)?;
        }
        Ok(Some(session))
    }
}

/// The issuer, or a page saying the request names no host.
pub(super) fn issuer_of<B>(settings: &Settings, req: &Request<B>) -> Result<String, Early> {
    issuer(settings.issuer.as_deref(), req)
        .ok_or_else(|| bad_request(&"the request names no host to call the issuer"))
}

/// `scheme://host[:port]` of a URL, as a browser's `Origin` header names it.
pub(super) fn origin_of(url: &str) -> Option<String> {
    let origin = url::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// A page, and its log line.
pub(super) fn shown(
    page: (String, Option<String>),
    status: StatusCode,
    client_id: &str,
    username: &str,
) -> Answer {
    let (html, redirect_origin) = page;
    let response = response::page(status, html, redirect_origin.as_deref());
    let mut answer = logged(response, Event::Page, client_id, username);
    if !status.is_success() {
        answer.log.event = Event::Refused;
        answer.log.error = "access_denied";
    }
    answer
}

pub(super) fn logged(
    response: HttpResponse,
    event: Event,
    client_id: &str,
    username: &str,
) -> Answer {
    let log = RequestLog {
        event,
        client_id: client_id.into(),
        username: username.into(),
        ..RequestLog::default()
    };
    Answer { response, log }
}

pub(super) fn render(page: &impl askama::Template) -> (String, Option<String>) {
    (page.render().unwrap_or_default(), None)
}

pub(super) fn message(status: StatusCode, title: &str, text: &str) -> Early {
    let page = Message {
        style: pages::STYLE,
        title,
        text,
    };
    let mut answer = shown(render(&page), status, "", "");
    answer.log.error = if status.is_server_error() {
        "server_error"
    } else {
        "invalid_request"
    };
    answer.log.description = text.into();
    Box::new(answer)
}

pub(super) fn bad_request(why: &dyn std::fmt::Display) -> Early {
    message(
        StatusCode::BAD_REQUEST,
        "This request cannot be served",
        &why.to_string(),
    )
}

pub(super) fn forbidden(why: &str) -> Early {
    message(StatusCode::FORBIDDEN, "Not allowed", why)
}

pub(super) fn early(e: ApiError) -> Early {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    message(status, "Something went wrong", &e.to_string())
}

pub(super) fn outage(e: StoreError) -> Early {
    early(super::unavailable(e))
}
