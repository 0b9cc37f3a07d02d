//! `POST /oauth/authorizeapp`: checks 1-12 of the contract, in order; the first failure
//! answers.

use std::time::Duration;

use http::Request;
use tracing::warn;

use super::{Answer, Flow, RequestLog, unavailable};
use crate::basic_auth::Credentials;
use crate::clock::Clock;
use crate::error::{ApiError, RedirectError};
use crate::password::{Passwords, Verification};
use crate::random::Random;
use crate::request::{self, AuthorizeRequest};
use crate::response;
use crate::scope::{self, ScopePolicy};
use crate::store::{
    AfterLogin, Directory, FailureCounter, Lookup, StoreError, TokenRecord, TokenRevoker,
    TokenWriter, User,
};
use crate::token::AccessToken;
use crate::whitelist::WhitelistSource;
use crate::{identifier, throttle};

/// Failed-login records live at least this long, so a count is not forgotten between
/// attempts of a slow guesser.
const FAILED_LOGIN_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// Where checks 4-12 lead when they do not fail outright.
enum Decision {
    Issued {
        redirect_uri: String,
        token: AccessToken,
        username: String,
        scopes: Vec<String>,
    },
    /// Checks 10-11: the redirect URI is trusted, so the error goes there.
    Redirect {
        redirect_uri: String,
        error: RedirectError,
    },
}

impl<St, Src, C, R, P> Flow<St, Src, C, R, P>
where
    St: Directory + TokenWriter + FailureCounter + TokenRevoker,
    Src: WhitelistSource,
    C: Clock,
    R: Random,
    P: Passwords,
{
    pub(super) async fn authorize<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        let parsed = match request::parse(req) {
            Ok(p) => p,
            Err(e) => return self.refused(&e, String::new()),
        };
        let client_id = parsed.client_id.clone();
        let state = parsed.state.as_deref();
        match self.decide(&parsed).await {
            Ok(Decision::Issued {
                redirect_uri,
                token,
                username,
                scopes,
            }) => {
                let expires_in = self.settings.token_lifetime.as_secs();
                let response = response::issued(&redirect_uri, &token.expose(), expires_in, state);
                // The audit record: who got which token for what; never the token itself.
                let log = RequestLog {
                    event: "token_issued",
                    status: 302,
                    client_id,
                    username,
                    scopes: scopes.join(" "),
                    token_id: token.id().to_string(),
                    ..RequestLog::default()
                };
                Answer { response, log }
            }
            Ok(Decision::Redirect {
                redirect_uri,
                error,
            }) => {
                let response = response::redirect_error(&redirect_uri, &error, state);
                let log = RequestLog {
                    event: "redirect_error",
                    status: 302,
                    client_id,
                    error: error.code(),
                    description: error.to_string(),
                    ..RequestLog::default()
                };
                Answer { response, log }
            }
            Err(e) => self.refused(&e, client_id),
        }
    }

    /// Checks 4-12; `Err` is answered without redirecting.
    async fn decide(&self, req: &AuthorizeRequest) -> Result<Decision, ApiError> {
        let now_ms = self.clock.now_ms();
        // An id that breaks the identifier rules can never be on the whitelist: refused as
        // not whitelisted, without asking SSM or DynamoDB.
        if !identifier::is_client_id(&req.client_id) {
            return Err(ApiError::UnauthorizedClient);
        }
        // One read for the application, the user and the user's failed logins.
        let username = req.credentials.as_ref().map(|c| c.username.as_str());
        // A password check is likely: the hasher gets ready while the reads below wait.
        if username.is_some() {
            self.hasher.prepare();
        }
        // 4: whitelist. When the cached list is due (every cold start and cache expiry),
        // SSM and DynamoDB are asked at once, so the request waits for one round trip
        // instead of two. The answers are still judged in contract order: a DynamoDB error
        // never hides a refusal. A refusal from a fresh cached list costs no read.
        let lookup = match self.whitelist.fresh(&req.client_id, now_ms) {
            Some(false) => return Err(ApiError::UnauthorizedClient),
            Some(true) => self.store.lookup(&req.client_id, username).await,
            None => {
                // A refusal or an SSM failure answers at once, dropping the read.
                let whitelisted = async {
                    match self.whitelist.allows(&req.client_id, now_ms).await {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(ApiError::UnauthorizedClient),
                        Err(e) => Err(unavailable(e)),
                    }
                };
                let read = async { Ok(self.store.lookup(&req.client_id, username).await) };
                tokio::try_join!(whitelisted, read)?.1
            }
        }
        .map_err(unavailable)?;
        // 5: registered application; 6: redirect URI.
        let app = lookup
            .application
            .as_ref()
            .ok_or_else(|| ApiError::invalid_request("unknown client"))?;
        let redirect_uri =
            crate::redirect::select(&app.redirect_uris, req.redirect_uri.as_deref())?;
        // 7: credentials.
        let credentials = req
            .credentials
            .as_ref()
            .ok_or(ApiError::MissingCredentials)?;
        // 8: back-off.
        if let Some(secs) = throttle::retry_after(
            lookup.failed_logins.as_ref(),
            now_ms,
            self.settings.backoff_cap,
        ) {
            return Err(ApiError::BackOff {
                retry_after_secs: secs,
            });
        }
        // 9: password.
        let (user, verification) = self.login(credentials, &lookup, now_ms).await?;
        // 10: response type.
        let response_type = req.response_type.as_deref().unwrap_or("token");
        if response_type != "token" {
            let error = RedirectError::UnsupportedResponseType(
                "only response_type=token is supported for direct approval".into(),
            );
            return Ok(Decision::Redirect {
                redirect_uri,
                error,
            });
        }
        // 11: scopes.
        let policy = ScopePolicy {
            catalogue: &self.settings.scopes,
            ceiling: app.scope_ceiling.as_ref(),
            superuser: user.superuser,
        };
        let scopes = match scope::grant(req.scope.as_deref(), &policy) {
            Ok(s) => s,
            Err(error) => {
                return Ok(Decision::Redirect {
                    redirect_uri,
                    error,
                });
            }
        };
        // 12: store the token, then hand it out.
        let after = AfterLogin {
            reset_failures: lookup.failed_logins.is_some(),
            new_password_hash: self.rehash(verification, &credentials.password),
        };
        let token = self
            .issue(&user.username, &req.client_id, &scopes, &after, now_ms)
            .await?;
        Ok(Decision::Issued {
            redirect_uri,
            token,
            username: user.username.clone(),
            scopes,
        })
    }

    /// Check 9: unknown, disabled and wrong-password logins cost one verification each and
    /// give the same error, then count as a failure.
    async fn login<'a>(
        &self,
        credentials: &Credentials,
        lookup: &'a Lookup,
        now_ms: u64,
    ) -> Result<(&'a User, Verification), ApiError> {
        let verification = match &lookup.user {
            Some(user) => {
                let v = self
                    .hasher
                    .verify(&user.password_hash, &credentials.password);
                if user.enabled {
                    v
                } else {
                    Verification::Invalid
                }
            }
            None => self.hasher.verify_dummy(&credentials.password),
        };
        match (&lookup.user, verification.is_valid()) {
            (Some(user), true) => Ok((user, verification)),
            _ => {
                let expires_at =
                    (now_ms / 1000) + FAILED_LOGIN_MEMORY.max(self.settings.backoff_cap).as_secs();
                self.store
                    .record_failure(&credentials.username, now_ms, expires_at)
                    .await
                    .map_err(unavailable)?;
                Err(ApiError::LoginFailed)
            }
        }
    }

    fn rehash(&self, verification: Verification, password: &str) -> Option<String> {
        if verification != Verification::ValidNeedsRehash {
            return None;
        }
        // A failed rehash only delays the upgrade to the next login.
        self.hasher
            .hash(password)
            .inspect_err(|e| warn!(error = %e, "rehash failed"))
            .ok()
    }

    /// Writes the token record with a fresh id; one retry with a new id if the id exists.
    async fn issue(
        &self,
        username: &str,
        client_id: &str,
        scopes: &[String],
        after: &AfterLogin,
        now_ms: u64,
    ) -> Result<AccessToken, ApiError> {
        let issued_at = now_ms / 1000;
        for _ in 0..2 {
            let token = AccessToken::generate(&self.random).map_err(|e| {
                warn!(error = %e, "no randomness");
                ApiError::ServerError
            })?;
            let record = TokenRecord {
                token_id: token.id().to_string(),
                secret_hash: token.secret_hash(),
                username: username.to_string(),
                client_id: client_id.to_string(),
                scopes: scopes.to_vec(),
                issued_at,
                expires_at: issued_at + self.settings.token_lifetime.as_secs(),
                revoked_at: None,
                user_disabled: false,
            };
            match self.store.put_token(&record, after).await {
                Ok(()) => return Ok(token),
                Err(StoreError::Conflict) => {
                    warn!(token_id = %record.token_id, "token id collision; retrying with a new id")
                }
                Err(e) => return Err(unavailable(e)),
            }
        }
        Err(ApiError::ServerError)
    }
}
