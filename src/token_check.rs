//! The token check: whether a token of ours is good now, one rule for every place that
//! asks (the Lambda authorizer, introspection, `token verify` and `token list`).
//!
//! The decision is pure ([`decide`], [`standing`]); [`check`] and [`check_record`] are the
//! reads it needs. A token that names its user and application (every token issued now,
//! see [`crate::token::IssuedTo`]) is read with them in one round trip; a token issued
//! before is read first, then (only when its secret matches) its user and application as
//! they are now, a DPoP proof spent beside that second read.

use tracing::warn;

use crate::api_token;
use crate::dpop::Proof;
use crate::store::{
    Application, OneTimeValues, OwnerAndClient, StoreError, TokenReader, TokenRecord, TokenUse,
    User,
};
use crate::token::AccessToken;

/// Why a token was not accepted. Only the variant is logged, never the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Malformed,
    Unknown,
    WrongSecret,
    Expired,
    Revoked,
    UserDisabled,
    /// The token's application was removed.
    ClientRemoved,
    /// `Authorization: DPoP` without a proof that passes RFC 9449 §4.3's checks.
    DpopInvalid,
    /// The proof was used before (its `jti` at its `htu`).
    DpopReplayed,
    /// A DPoP-bound token presented as `Bearer` (RFC 9449 §7.2).
    DpopRequired,
    /// The proof's key is not the one the token is bound to.
    DpopWrongKey,
    /// `Authorization: DPoP` with a token that is not bound to a key.
    NotBound,
}

impl Denial {
    pub fn reason(self) -> &'static str {
        match self {
            Denial::Malformed => "malformed",
            Denial::Unknown => "unknown_token",
            Denial::WrongSecret => "wrong_secret",
            Denial::Expired => "expired",
            Denial::Revoked => "revoked",
            Denial::UserDisabled => "user_disabled",
            Denial::ClientRemoved => "client_removed",
            Denial::DpopInvalid => "dpop_invalid",
            Denial::DpopReplayed => "dpop_replayed",
            Denial::DpopRequired => "dpop_required",
            Denial::DpopWrongKey => "dpop_wrong_key",
            Denial::NotBound => "not_dpop_bound",
        }
    }
}

/// What an accepted token grants, as the backend learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub token_id: String,
}

/// A stored token's standing now, from its user and application as they are now (`Ok`:
/// good). The user and the application decide at check time, so disabling a user, voiding
/// a user's or an application's tokens, or removing the application is one write, never
/// one per token. Expiry is checked here because DynamoDB's TTL deletes expired items only
/// eventually.
pub fn standing(
    record: &TokenRecord,
    user: Option<&User>,
    app: Option<&Application>,
    now_secs: u64,
) -> Result<(), Denial> {
    let user = user.ok_or(Denial::UserDisabled)?;
    let app = app.ok_or(Denial::ClientRemoved)?;
    if record.revoked_at.is_some()
        || record.user_generation < user.tokens_from
        || record.client_epoch != app.token_epoch
    {
        return Err(Denial::Revoked);
    }
    if !user.enabled {
        return Err(Denial::UserDisabled);
    }
    if record.expires_at.is_some_and(|at| at <= now_secs) {
        return Err(Denial::Expired);
    }
    Ok(())
}

/// The decision, from the presented token, its stored record and its owner and client as they
/// are now: the secret, the key the token is bound to, then its [`standing`].
///
/// `key`: the thumbprint of the key whose proof came with a `DPoP` presentation (checked
/// and spent), `None` for `Bearer`. A bound token needs its own key's; an unbound one none.
pub fn decide(
    token: &AccessToken,
    key: Option<&str>,
    record: Option<&TokenRecord>,
    parties: &OwnerAndClient,
    now_secs: u64,
) -> Result<Grant, Denial> {
    // A token whose names were changed is no token of ours: the user and application
    // read for it may not be its record's.
    let record = record
        .filter(|r| names_hold(token, r))
        .ok_or(Denial::Unknown)?;
    if !token.secret_matches(&record.secret_hash) {
        return Err(Denial::WrongSecret);
    }
    match (record.jkt.as_deref(), key) {
        (Some(bound), Some(key)) if bound != key => return Err(Denial::DpopWrongKey),
        (Some(_), None) => return Err(Denial::DpopRequired),
        (None, Some(_)) => return Err(Denial::NotBound),
        _ => {}
    }
    let (user, app) = (parties.user.as_ref(), parties.application.as_ref());
    standing(record, user, app, now_secs)?;
    Ok(Grant {
        username: record.username.clone(),
        client_id: record.client_id.clone(),
        scopes: record.scopes.clone(),
        token_id: record.token_id.clone(),
    })
}

/// Whether the user and application a token names, if it names them, are its record's.
fn names_hold(token: &AccessToken, record: &TokenRecord) -> bool {
    token
        .named()
        .is_none_or(|n| n.username == record.username && n.client_id == record.client_id)
}

/// The check of a presented token: its record read, then [`check_record`]. `proof`: the
/// DPoP proof that came with it (checked by everything that needs no store), spent here.
/// `Err` only when the store cannot answer.
pub async fn check<S: TokenReader + OneTimeValues>(
    store: &S,
    token: &AccessToken,
    proof: Option<&Proof>,
    now_secs: u64,
) -> Result<Result<Grant, Denial>, StoreError> {
    Ok(read_and_check(store, token, proof, now_secs).await?.1)
}

/// The authorizer's check: [`check`], then an accepted API token's use written down when
/// the one recorded is older than [`api_token::LAST_USED_EVERY`], so most checks stay
/// reads. A failed write never refuses a good token: it is logged, and the next use tries.
pub async fn check_and_note_use<S: TokenReader + OneTimeValues + TokenUse>(
    store: &S,
    token: &AccessToken,
    proof: Option<&Proof>,
    now_secs: u64,
) -> Result<Result<Grant, Denial>, StoreError> {
    let (record, decision) = read_and_check(store, token, proof, now_secs).await?;
    let due = record.is_some_and(|r| api_token::use_is_due(&r, now_secs));
    if decision.is_ok() && due {
        let since = now_secs.saturating_sub(api_token::LAST_USED_EVERY.as_secs());
        if let Err(e) = store.record_use(token.id(), now_secs, since).await {
            warn!(token_id = %token.id(), error = %e, "an API token's last use was not written");
        }
    }
    Ok(decision)
}

/// The record read and the decision. A token that names whom it was issued to is read
/// with its user and application in one round trip; one issued before, in two.
async fn read_and_check<S: TokenReader + OneTimeValues>(
    store: &S,
    token: &AccessToken,
    proof: Option<&Proof>,
    now_secs: u64,
) -> Result<(Option<TokenRecord>, Result<Grant, Denial>), StoreError> {
    let key = proof.map(|p| p.jkt.as_str());
    let spend = async {
        match proof {
            Some(p) => store.first_use(&p.replay_key, p.keep_until, now_secs).await,
            None => Ok(true),
        }
    };
    let Some(named) = token.named() else {
        let record = store.get_token(token.id()).await?;
        let decision = check_record(store, token, key, record.as_ref(), spend, now_secs).await?;
        return Ok((record, decision));
    };
    let (username, client_id) = (&named.username, &named.client_id);
    let (record, parties) = store
        .token_and_parties(token.id(), username, client_id)
        .await?;
    // A proof is spent only for a token of ours whose secret matched: nothing is written
    // for a forged one. Here that is a round trip of its own, after the read.
    let known = record
        .as_ref()
        .filter(|r| names_hold(token, r) && token.secret_matches(&r.secret_hash));
    if known.is_some() && !spend.await? {
        return Ok((record, Err(Denial::DpopReplayed)));
    }
    let decision = decide(token, key, record.as_ref(), &parties, now_secs);
    Ok((record, decision))
}

/// The check once the record is read (introspection reads it with the caller's
/// application). Only a token whose secret matches goes on: its owner and client are read, with
/// `spend` (a proof's one write, answering whether it was the first use) beside them in
/// the same round trip; an unknown or forged token reads and writes nothing more.
pub async fn check_record<S: TokenReader>(
    store: &S,
    token: &AccessToken,
    key: Option<&str>,
    record: Option<&TokenRecord>,
    spend: impl Future<Output = Result<bool, StoreError>>,
    now_secs: u64,
) -> Result<Result<Grant, Denial>, StoreError> {
    let known = record.filter(|r| names_hold(token, r) && token.secret_matches(&r.secret_hash));
    let parties = match known {
        Some(r) => {
            let parties = store.owner_and_client(&r.username, &r.client_id);
            let (parties, first) = tokio::join!(parties, spend);
            let parties = parties?;
            if !first? {
                return Ok(Err(Denial::DpopReplayed));
            }
            parties
        }
        None => OwnerAndClient::default(),
    };
    Ok(decide(token, key, record, &parties, now_secs))
}

/// Whether a token whose record was read is active (introspection, `token verify`): a
/// bound token is judged as if its key's proof came with it, since the question is the
/// token's standing, not whether its holder proved the key.
pub async fn check_active<S: TokenReader>(
    store: &S,
    token: &AccessToken,
    record: Option<&TokenRecord>,
    now_secs: u64,
) -> Result<Result<Grant, Denial>, StoreError> {
    let key = record.and_then(|r| r.jkt.as_deref());
    check_record(store, token, key, record, async { Ok(true) }, now_secs).await
}
