//! Browser sessions for the sign-in and consent pages: an opaque random id in a `__Host-`
//! cookie (`Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`), only its hash stored, ended by
//! an idle and an absolute timeout or by signing out. A session carries its own random
//! CSRF token, which every form it shows posts back.

use std::collections::BTreeSet;
use std::time::Duration;

use http::HeaderMap;
use subtle::ConstantTimeEq;

use crate::random::{Random, RandomError};
use crate::secret;

/// The cookie's name: `__Host-` makes the browser refuse it unless it is `Secure`, has
/// `Path=/` and no `Domain`, so no sibling host can set or shadow it.
pub const COOKIE: &str = "__Host-doa_session";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// How often a session's use is written: at most once a minute, so a page view is a read.
pub const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// A signed-in browser, as stored: never the id itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Lowercase hex of SHA-256 of the cookie's id.
    pub key: String,
    /// The user's name in its normal form (the users table's key).
    pub username: String,
    /// What the sign-in found: the directory's groups, and whether `super:user` may be
    /// granted. Held for the session's life, as a token holds its scopes for its own.
    pub groups: BTreeSet<String>,
    pub superuser: bool,
    /// The user's generation at sign-in: an operator's action that ends the user's tokens
    /// (disable, password reset, revoke all) raises it, and ends the session with them.
    pub generation: u64,
    /// Posted back by every form of this session's pages.
    pub csrf: String,
    /// Seconds since the epoch.
    pub created_at: u64,
    pub seen_at: u64,
}

/// Who signed in, as the password check found them.
pub struct SignedIn {
    pub username: String,
    pub groups: BTreeSet<String>,
    pub superuser: bool,
    pub generation: u64,
}

/// A new session's cookie value (shown to the browser once) and its record.
pub struct Started {
    pub id: String,
    pub session: Session,
}

impl Session {
    /// A fresh session for `username`, with a new id and CSRF token: a sign-in never
    /// keeps an id the browser had before (no fixation).
    pub fn start(
        signed_in: SignedIn,
        now_secs: u64,
        random: &impl Random,
    ) -> Result<Started, RandomError> {
        let id = secret::generate(random)?;
        let session = Session {
            key: key_of(&id),
            username: signed_in.username,
            groups: signed_in.groups,
            superuser: signed_in.superuser,
            generation: signed_in.generation,
            csrf: secret::generate(random)?,
            created_at: now_secs,
            seen_at: now_secs,
        };
        Ok(Started { id, session })
    }

    /// Neither timeout has passed.
    pub fn is_live(&self, now_secs: u64) -> bool {
        now_secs < self.expires_at() && now_secs < self.seen_at + IDLE.as_secs()
    }

    /// When the record may be deleted (its TTL): the absolute timeout.
    pub fn expires_at(&self) -> u64 {
        self.created_at + ABSOLUTE.as_secs()
    }

    /// Whether this use should be written (the idle timeout counts from it).
    pub fn needs_touch(&self, now_secs: u64) -> bool {
        now_secs >= self.seen_at + TOUCH_EVERY.as_secs()
    }

    /// Whether `user`, as read now, is still the one who signed in: there, enabled, and at
    /// the generation of the sign-in.
    pub fn holds_for(&self, user: Option<&crate::store::User>) -> bool {
        user.is_some_and(|u| u.enabled && u.generation == self.generation)
    }

    /// The form's CSRF token is this session's, compared in constant time.
    pub fn csrf_matches(&self, presented: Option<&str>) -> bool {
        let presented = presented.unwrap_or_default();
        !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// The stored key of a cookie's id.
pub fn key_of(id: &str) -> String {
    secret::hex(&secret::hash(id))
}

/// The session cookie's value in a request, if it carries exactly one.
pub fn cookie(headers: &HeaderMap) -> Option<String> {
    let mut found = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string());
    match (found.next(), found.next()) {
        (Some(value), None) if !value.is_empty() => Some(value),
        _ => None,
    }
}

/// The `Set-Cookie` value that starts a session in the browser; it lasts as long as the
/// session may.
pub fn set_cookie(id: &str) -> String {
    let max_age = ABSOLUTE.as_secs();
    format!("{COOKIE}={id}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax")
}

/// The `Set-Cookie` value that ends it.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    const NOW: u64 = 1_800_000_000;

    fn alice() -> SignedIn {
        SignedIn {
            username: "alice".into(),
            groups: BTreeSet::new(),
            superuser: false,
            generation: 3,
        }
    }

    #[test]
    fn a_session_ends_when_idle_or_old() {
        let Started { id, session } = Session::start(alice(), NOW, &OsRandom).unwrap();
        assert_eq!(session.key, key_of(&id));
        assert_ne!(session.key, id, "only the hash is stored");
        assert!(session.is_live(NOW + IDLE.as_secs() - 1));
        assert!(!session.is_live(NOW + IDLE.as_secs()));
        let used = Session {
            seen_at: NOW + ABSOLUTE.as_secs() - 10,
            ..session.clone()
        };
        assert!(used.is_live(NOW + ABSOLUTE.as_secs() - 1));
        assert!(
            !used.is_live(NOW + ABSOLUTE.as_secs()),
            "however recently used"
        );
        assert!(!session.needs_touch(NOW + 59));
        assert!(session.needs_touch(NOW + 60));
    }

    #[test]
    fn a_session_holds_only_for_its_user_as_signed_in() {
        let session = Session::start(alice(), NOW, &OsRandom).unwrap().session;
        let user = crate::store::User {
            generation: 3,
            ..crate::store::memory::user("alice")
        };
        assert!(session.holds_for(Some(&user)));
        let reset = crate::store::User {
            generation: 4,
            ..user.clone()
        };
        assert!(!session.holds_for(Some(&reset)), "password reset");
        let disabled = crate::store::User {
            enabled: false,
            ..user
        };
        assert!(!session.holds_for(Some(&disabled)));
        assert!(!session.holds_for(None), "removed");
    }

    #[test]
    fn the_csrf_token_is_the_session_s_own() {
        let a = Session::start(alice(), NOW, &OsRandom).unwrap().session;
        let b = Session::start(alice(), NOW, &OsRandom).unwrap().session;
        assert!(a.csrf_matches(Some(&a.csrf)));
        assert!(!a.csrf_matches(Some(&b.csrf)));
        assert!(!a.csrf_matches(Some("")));
        assert!(!a.csrf_matches(None));
    }

    #[test]
    fn one_session_cookie_is_read_and_written_with_its_flags() {
        let mut headers = HeaderMap::new();
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.append(http::header::COOKIE, v.parse().unwrap());
            h
        };
        assert_eq!(cookie(&headers), None);
        let one = with(&format!("theme=dark; {COOKIE}=abc"));
        assert_eq!(cookie(&one).as_deref(), Some("abc"));
        let two = with(&format!("{COOKIE}=abc; {COOKIE}=def"));
        assert_eq!(
            cookie(&two),
            None,
            "two are a planted one: neither is trusted"
        );
        headers.append(http::header::COOKIE, "x=1".parse().unwrap());
        assert_eq!(cookie(&headers), None);
        let set = set_cookie("abc");
        for flag in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
            assert!(set.contains(flag), "{set}");
        }
        assert!(!set.contains("Domain"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }
}
