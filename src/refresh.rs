//! Refresh tokens (RFC 6749 §6) that rotate and detect reuse (RFC 9700 §4.14.2): the
//! token's form, an application's terms, and the judgement of a presented token against
//! its family as stored. Pure: the token endpoint's `refresh` grant reads and writes.
//!
//! A code or device grant starts a *family*: one stored record, one live refresh token
//! (its hash). Each use retires the presented token and issues the next. A retired token
//! presented again is a sign that it leaked (the client and a thief both hold it): the
//! whole family and the access tokens it issued are revoked, unless it comes within the
//! application's grace window of its retirement, which lets a client retry a refresh
//! whose answer it lost. The family ends by its idle or its absolute lifetime, and with
//! its user and application, as every token does (disable, `token revoke --user`,
//! `--client`).

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::random::{Random, RandomError};
use crate::store::RefreshFamily;
use crate::token::{self, ID_LEN};

/// What every refresh token starts with ("direct-oauth refresh"), so a secret scanner
/// tells it from an access token (`doa_`), and the authorizer never takes one.
pub const PREFIX: &str = "dor_";
/// The longest grace window an application may set.
pub const MAX_GRACE: Duration = Duration::from_secs(60);
/// How long an access token lives when its application gets refresh tokens and sets no
/// lifetime of its own: refresh tokens make a long one pointless.
pub const REFRESHED_ACCESS_LIFETIME: Duration = Duration::from_secs(3600);

/// A refresh token, freshly issued or presented: `dor_<family id><secret><checksum>`, laid
/// out as an access token is. The family id is its family's key; only SHA-256 of the
/// secret is stored. `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    family_id: String,
    secret: String,
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(<redacted>)")
    }
}

impl RefreshToken {
    /// The first token of a new family.
    pub fn start(random: &impl Random) -> Result<Self, RandomError> {
        let (family_id, secret) = token::generate_parts(random)?;
        Ok(RefreshToken { family_id, secret })
    }

    /// The next token of this one's family.
    pub fn next(&self, random: &impl Random) -> Result<Self, RandomError> {
        let (_, secret) = token::generate_parts(random)?;
        Ok(RefreshToken {
            family_id: self.family_id.clone(),
            secret,
        })
    }

    /// `None` if it cannot be one of ours (its checksum wrong included): refused
    /// without a read.
    pub fn parse(presented: &str) -> Option<Self> {
        let body = token::parse_prefixed(PREFIX, presented)?;
        Some(RefreshToken {
            family_id: body[..ID_LEN].to_string(),
            secret: body[ID_LEN..].to_string(),
        })
    }

    /// The family's key. Known only to who holds one of its tokens, and never logged:
    /// presenting it with a wrong secret revokes the family.
    pub fn family_id(&self) -> &str {
        &self.family_id
    }

    /// The whole token, as the client holds it: never log it.
    pub fn expose(&self) -> String {
        token::expose_prefixed(PREFIX, &self.family_id, &self.secret)
    }

    pub fn secret_hash(&self) -> [u8; 32] {
        Sha256::digest(self.secret.as_bytes()).into()
    }

    fn matches(&self, stored: &[u8; 32]) -> bool {
        self.secret_hash().ct_eq(stored).into()
    }
}

/// An application's refresh tokens: set by `app add|update --refresh-tokens` and its
/// companions; an application without terms gets none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshTerms {
    /// A family unused this long ends.
    pub idle: Duration,
    /// A family ends this long after the sign-in that started it, however used.
    pub absolute: Duration,
    /// How long after its retirement a refresh token may still be presented once more (a
    /// client's retry) without revoking its family: 0 to [`MAX_GRACE`].
    pub grace: Duration,
}

impl Default for RefreshTerms {
    /// A month unused, a quarter in all, no grace: what a family lasts at Okta's and
    /// Auth0's defaults, with RFC 9700's strict rotation.
    fn default() -> Self {
        RefreshTerms {
            idle: Duration::from_secs(30 * 86_400),
            absolute: Duration::from_secs(90 * 86_400),
            grace: Duration::ZERO,
        }
    }
}

impl RefreshTerms {
    /// Whether the terms are coherent: some idle and absolute lifetime, the idle one no
    /// longer than the absolute, a grace within [`MAX_GRACE`].
    pub fn check(&self) -> Result<(), String> {
        if self.idle.is_zero() || self.absolute.is_zero() {
            return Err("refresh token lifetimes must be at least a second".into());
        }
        if self.idle > self.absolute {
            return Err("the idle lifetime cannot exceed the absolute one".into());
        }
        if self.grace > MAX_GRACE {
            return Err(format!(
                "the grace window is at most {} s",
                MAX_GRACE.as_secs()
            ));
        }
        Ok(())
    }
}

/// What a presented refresh token is to its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented {
    /// The family's live token: it is rotated.
    Current,
    /// The token the last rotation retired, within the grace window: a client's retry,
    /// answered with the next token (the one the lost answer carried is retired unused).
    Retried,
}

/// Why a presented refresh token gives nothing. Only [`Refusal::Reused`] writes (the
/// family's revocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No family under its id, or the family is another client's.
    Unknown,
    Revoked,
    /// Past the family's absolute lifetime, or unused longer than its idle one.
    Expired,
    /// A retired token presented after the grace window, or a secret the family never
    /// had: the family is to be revoked.
    Reused,
}

impl Refusal {
    /// The `error_description` of the `invalid_grant` it answers.
    pub fn description(self) -> &'static str {
        match self {
            Refusal::Unknown => "the refresh token is unknown or not this client's",
            Refusal::Revoked => "the refresh token was revoked",
            Refusal::Expired => "the refresh token expired; sign in again",
            Refusal::Reused => {
                "the refresh token was already used; its family is revoked, sign in again"
            }
        }
    }
}

/// Judges `presented` against its family as read, for `client_id`, at `now_secs`.
pub fn judge(
    presented: &RefreshToken,
    family: Option<&RefreshFamily>,
    client_id: &str,
    now_secs: u64,
) -> Result<Presented, Refusal> {
    let family = family
        .filter(|f| f.client_id == client_id)
        .ok_or(Refusal::Unknown)?;
    if family.revoked_at.is_some() {
        return Err(Refusal::Revoked);
    }
    if family.expires_at <= now_secs || family.idle_until <= now_secs {
        return Err(Refusal::Expired);
    }
    if presented.matches(&family.current_hash) {
        return Ok(Presented::Current);
    }
    let retired = family.previous_hash.as_ref();
    if retired.is_some_and(|h| presented.matches(h)) && now_secs < family.grace_until {
        return Ok(Presented::Retried);
    }
    Err(Refusal::Reused)
}

/// Whether `presented` is `family`'s live token or the one its last rotation retired (at
/// any time since, grace or not): what revocation (RFC 7009) takes as its holder's asking.
/// Any other secret under the family's id is not, and revokes nothing there.
pub fn held(presented: &RefreshToken, family: &RefreshFamily) -> bool {
    let retired = family.previous_hash.as_ref();
    presented.matches(&family.current_hash) || retired.is_some_and(|h| presented.matches(h))
}

/// What a family is started for: the grant's person, client, scopes and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyGrant {
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub user_generation: u64,
    pub client_epoch: u64,
    pub jkt: Option<String>,
}

/// The access token a write of the family issues beside it: its id and expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued<'a> {
    pub token_id: &'a str,
    pub expires_at: Option<u64>,
}

/// A new family, `first` its live token, as its start writes it.
pub fn started(
    first: &RefreshToken,
    grant: FamilyGrant,
    terms: &RefreshTerms,
    issued: Issued<'_>,
    now_secs: u64,
) -> RefreshFamily {
    let expires_at = now_secs + terms.absolute.as_secs();
    RefreshFamily {
        family_id: first.family_id.clone(),
        username: grant.username,
        client_id: grant.client_id,
        scopes: grant.scopes,
        user_generation: grant.user_generation,
        client_epoch: grant.client_epoch,
        jkt: grant.jkt,
        current_hash: first.secret_hash(),
        previous_hash: None,
        created_at: now_secs,
        idle_until: (now_secs + terms.idle.as_secs()).min(expires_at),
        grace_until: 0,
        expires_at,
        revoked_at: None,
        access_tokens: live_after(&Default::default(), issued, now_secs),
    }
}

/// The family after the refresh that presented a token judged `presented`: `next` its
/// live token, the idle lifetime moved on. A rotation of the live token retires it, with
/// the grace window from now; a retry leaves the retired token and its window as they
/// were (so retries never stretch it).
pub fn rotated(
    family: &RefreshFamily,
    presented: Presented,
    next: &RefreshToken,
    terms: &RefreshTerms,
    user_generation: u64,
    issued: Issued<'_>,
    now_secs: u64,
) -> RefreshFamily {
    let (previous_hash, grace_until) = match presented {
        Presented::Current => (Some(family.current_hash), now_secs + terms.grace.as_secs()),
        Presented::Retried => (family.previous_hash, family.grace_until),
    };
    RefreshFamily {
        user_generation,
        current_hash: next.secret_hash(),
        previous_hash,
        grace_until,
        idle_until: (now_secs + terms.idle.as_secs()).min(family.expires_at),
        access_tokens: live_after(&family.access_tokens, issued, now_secs),
        ..family.clone()
    }
}

/// The access tokens that may still be live, with the one just issued.
fn live_after(
    tokens: &BTreeMap<String, u64>,
    issued: Issued<'_>,
    now_secs: u64,
) -> BTreeMap<String, u64> {
    let mut live: BTreeMap<String, u64> = tokens
        .iter()
        .filter(|(_, expires_at)| **expires_at > now_secs)
        .map(|(id, at)| (id.clone(), *at))
        .collect();
    live.insert(
        issued.token_id.to_string(),
        issued.expires_at.unwrap_or(u64::MAX),
    );
    live
}

#[cfg(test)]
mod tests;
