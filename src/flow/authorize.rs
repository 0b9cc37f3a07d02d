//! `POST /oauth/authorizeapp`: checks 1-12 of the contract, in order; the first failure
//! answers.

use std::time::Duration;

use http::Request;

use super::attempt::Attempt;
use super::dpop::Spent;
use super::issue::CodeGrant;
use super::reads::{Admitted, MIN_DIRECTORY_BUDGET_MS, Reads, Times};
use super::{AUTHORIZE_PATH, Answer, Deps, Event, Flow, RequestLog, fetch_budget, unavailable};
use crate::clock::Clock;
use crate::dpop::Proof;
use crate::error::{ApiError, RedirectError};
use crate::password::Passwords;
use crate::request::{self, AuthorizeRequest};
use crate::response::{self, Echo, Issued};
use crate::scope::{self, ScopePolicy};
use crate::store::{
    Admission, Failure, FailureCounter, Lookup, LookupReader, StoreError, Verified,
};
use crate::token::AccessToken;
use crate::{identifier, pkce, throttle};

/// Where checks 4-12 lead when they do not fail outright.
enum Decision {
    Issued {
        redirect_uri: String,
        token: AccessToken,
        /// Bound to the proof's key (`token_type=DPoP`).
        bound: bool,
        username: String,
        scopes: Vec<String>,
    },
    /// `response_type=code`: the code goes to the redirect URI's query.
    Code {
        redirect_uri: String,
        code: String,
        username: String,
        scopes: Vec<String>,
    },
    /// Checks 10-11: the redirect URI is trusted, so the error goes there (the query for a
    /// code request, the fragment for a token request); the log line names the user.
    Redirect {
        redirect_uri: String,
        error: RedirectError,
        username: String,
        in_query: bool,
    },
}

impl<D: Deps> Flow<D> {
    pub(super) async fn authorize<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        let parsed = match request::parse(req) {
            Ok(p) => p,
            Err(e) => return self.refused(&e, String::new()),
        };
        let client_id = parsed.client_id.clone();
        // Check 3a: a DPoP proof, if the request carries one, is this request's, by the
        // key `dpop_jkt` names, if it names one, and carries the server's nonce, if asked.
        let jkt = parsed.dpop_jkt.as_deref();
        let proof = match self.request_proof(req, AUTHORIZE_PATH, jkt).await {
            Ok(p) => p,
            Err(e) => return self.refused(&e, client_id),
        };
        let issuer = self.issuer(req);
        let echo = Echo {
            state: parsed.state.as_deref(),
            iss: issuer.as_deref(),
        };
        let budget = fetch_budget(req, self.clock.now_ms());
        match self.decide(&parsed, proof.as_ref(), budget).await {
            Ok(Decision::Issued {
                redirect_uri,
                token,
                bound,
                username,
                scopes,
            }) => {
                let exposed = token.expose();
                let issued = Issued {
                    token: &exposed,
                    bound,
                    expires_in: self.settings.token_lifetime.as_secs(),
                };
                let response = response::issued(&redirect_uri, issued, echo);
                // The audit record: who got which token for what; never the token itself.
                let log = RequestLog {
                    event: Event::TokenIssued,
                    client_id,
                    username,
                    scopes: scopes.join(" "),
                    token_id: token.id().to_string(),
                    ..RequestLog::default()
                };
                Answer { response, log }
            }
            Ok(Decision::Code {
                redirect_uri,
                code,
                username,
                scopes,
            }) => {
                let response = response::code_issued(&redirect_uri, &code, echo);
                let log = RequestLog {
                    event: Event::CodeIssued,
                    client_id,
                    username,
                    scopes: scopes.join(" "),
                    ..RequestLog::default()
                };
                Answer { response, log }
            }
            Ok(Decision::Redirect {
                redirect_uri,
                error,
                username,
                in_query,
            }) => {
                let response = response::redirect_error(&redirect_uri, &error, echo, in_query);
                let log = RequestLog {
                    event: Event::RedirectError,
                    client_id,
                    error: error.code(),
                    description: error.to_string(),
                    username,
                    ..RequestLog::default()
                };
                Answer { response, log }
            }
            Err(e) => self.refused(&e, client_id),
        }
    }

    /// Checks 4-12; `Err` is answered without redirecting.
    async fn decide(
        &self,
        req: &AuthorizeRequest,
        proof: Option<&Proof>,
        budget: Duration,
    ) -> Result<Decision, ApiError> {
        let now_ms = self.clock.now_ms();
        // An id that breaks the identifier rules can never be on the whitelist: refused as
        // not whitelisted, without asking SSM or DynamoDB.
        if !identifier::is_client_id(&req.client_id) {
            return Err(ApiError::UnauthorizedClient);
        }
        let attempt = match &req.credentials {
            Some(credentials) => {
                // A password check is likely: the hasher gets ready while the reads wait.
                self.hasher.prepare();
                Some(self.new_attempt(credentials)?)
            }
            None => None,
        };
        let times = Times {
            now_ms,
            deadline_ms: now_ms + budget.as_millis() as u64,
        };
        let (lookup, admission, spent) = self.read(req, attempt.as_ref(), proof, times).await?;
        let reads = (lookup, admission);
        let admitted = matches!(reads.1, Some(Ok(Admission::Admitted { .. })));
        let mut settled = false;
        let outcome = self
            .judge(
                req,
                attempt.as_ref(),
                reads,
                Spent { proof, spent },
                times,
                &mut settled,
            )
            .await;
        if let (true, false, Some(attempt)) = (admitted, settled, &attempt) {
            // Refused before the password (checks 5-7, an outage) or after it (10-11, a
            // token write that failed): the name is free again. Its failures stay even
            // after a confirmed password (they decay instead, see throttle).
            self.give_up(attempt).await;
        }
        outcome
    }

    /// Check 4, the reads, the attempt's admission and the DPoP proof's spending: with a
    /// whitelist held (fresh, or within its stale bound while it refreshes) the three go
    /// together (one round trip); when the request must wait for SSM, SSM and the read go
    /// together and the other two follow, so a client off the whitelist never holds a
    /// name nor writes a proof. A refusal or an SSM failure answers at once.
    async fn read(
        &self,
        req: &AuthorizeRequest,
        attempt: Option<&Attempt<'_>>,
        proof: Option<&Proof>,
        times: Times,
    ) -> Result<(Result<Lookup, StoreError>, Admitted, Result<(), ApiError>), ApiError> {
        let Times {
            now_ms,
            deadline_ms,
        } = times;
        let budget = Duration::from_millis(deadline_ms - now_ms);
        let username = attempt.map(|a| a.key.as_str());
        let lookup = self.store.lookup(&req.client_id, username);
        // A turn is waited for within the request's budget, as SSM is.
        let admit = async {
            match attempt {
                Some(a) => Some(self.admit(a, deadline_ms).await),
                None => None,
            }
        };
        let spend = self.spend(proof);
        match self.whitelist.answer_now(&req.client_id, now_ms) {
            Some(false) => Err(ApiError::UnauthorizedClient),
            Some(true) => Ok(tokio::join!(lookup, admit, spend)),
            None => {
                let whitelisted = async {
                    match self
                        .whitelist
                        .allows_within(&req.client_id, now_ms, budget)
                        .await
                    {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(ApiError::UnauthorizedClient),
                        Err(e) => Err(unavailable(e)),
                    }
                };
                let read = async { Ok(lookup.await) };
                let ((), lookup) = tokio::try_join!(whitelisted, read)?;
                let (admission, spent) = tokio::join!(admit, spend);
                Ok((lookup, admission, spent))
            }
        }
    }

    /// Checks 5-12, in contract order, once the reads are in. Sets `settled` when the
    /// attempt's lease was dealt with here (a failure counted, or released with the token).
    async fn judge(
        &self,
        req: &AuthorizeRequest,
        attempt: Option<&Attempt<'_>>,
        (lookup, admission): Reads,
        dpop: Spent<'_>,
        times: Times,
        settled: &mut bool,
    ) -> Result<Decision, ApiError> {
        let now_ms = times.now_ms;
        let lookup = lookup.map_err(unavailable)?;
        // 5: registered application; 6: redirect URI.
        let app = lookup
            .application
            .as_ref()
            .ok_or_else(|| ApiError::invalid_request("unknown client"))?;
        let redirect_uri =
            crate::redirect::select(&app.redirect_uris, req.redirect_uri.as_deref())?;
        // 6a: a token is bound to a key if the application requires it (a code request
        // needs no proof: its exchange does); a proof must be fresh, its nonce current.
        // What is issued is bound to the proof's key, or else to the key `dpop_jkt` names.
        let wants_token = req.response_type.as_deref().unwrap_or("token") == "token";
        let proof = dpop.settle(app.require_dpop && wants_token)?;
        let jkt = proof.map(|p| p.jkt.as_str()).or(req.dpop_jkt.as_deref());
        // 7: credentials.
        let (Some(attempt), Some(admission)) = (attempt, admission) else {
            return Err(ApiError::MissingCredentials);
        };
        // 8: back-off, and one verification at a time per name (the admission waited its
        // turn, so the clock has moved since the request came in).
        let admitted_ms = self.clock.now_ms();
        let counts = match admission.map_err(unavailable)? {
            Admission::Refused {
                window_until_ms, ..
            } => {
                let secs = throttle::refused_retry_after(window_until_ms, admitted_ms);
                return Err(ApiError::BackOff {
                    retry_after_secs: secs,
                });
            }
            Admission::Admitted { counts } => counts,
        };
        // A counter written before windows were stored, or one whose window a failure
        // that lost its lease did not set, is judged from its counts.
        let cap = self.settings.backoff_cap;
        if let Some(secs) = throttle::retry_after(counts.as_ref(), admitted_ms, cap) {
            return Err(ApiError::BackOff {
                retry_after_secs: secs,
            });
        }
        // 9: password.
        let credentials = attempt.credentials;
        let verifying_since = self.clock.now_ms();
        let within = times.deadline_ms.saturating_sub(verifying_since);
        let within = Duration::from_millis(within.max(MIN_DIRECTORY_BUDGET_MS));
        let checked = self.check_password(credentials, &lookup, within).await?;
        let Some(login) = checked else {
            *settled = true;
            // The window runs from the failure, not from when the request came in; the
            // count decayed since the last failure, alike for every name.
            let failed_ms = self.clock.now_ms();
            let failures = throttle::failures_after(counts.as_ref(), failed_ms, cap);
            let stored = counts.map_or(0, |c| c.failures);
            let failure = Failure {
                now_ms: failed_ms,
                forgiven: stored.saturating_sub(failures - 1),
                next_attempt_ms: throttle::next_attempt_ms(failures, failed_ms, cap),
                expires_at: self.expiry(failed_ms),
            };
            // Counted before the timing floor's wait, under this attempt's own lease: a
            // long floor can no longer end the lease or the function with the failure
            // uncounted. The wait counts from the verification's start, so the write's
            // time is inside it and every failure is still answered at the same moment.
            let recorded = self
                .store
                .record_failure(&attempt.key, &attempt.lease(), &failure)
                .await;
            self.hold_to_the_slowest(&lookup, verifying_since).await;
            recorded.map_err(unavailable)?;
            return Err(ApiError::LoginFailed);
        };
        let user = &login.user;
        // 10: response type; a code needs PKCE (S256).
        let refuse = |error, in_query| {
            Ok(Decision::Redirect {
                redirect_uri: redirect_uri.clone(),
                error,
                username: user.username.clone(),
                in_query,
            })
        };
        let challenge = match req.response_type.as_deref().unwrap_or("token") {
            "token" => None,
            "code" => {
                let method = req.code_challenge_method.as_deref();
                match pkce::challenge(req.code_challenge.as_deref(), method) {
                    Ok(challenge) => Some(challenge),
                    Err(why) => return refuse(RedirectError::InvalidRequest(why), true),
                }
            }
            _ => {
                let why = "response_type must be token or code".into();
                return refuse(RedirectError::UnsupportedResponseType(why), false);
            }
        };
        // 11: whom the application may be granted tokens for, then scopes.
        if !app.access.admits(&user.username, &login.groups) {
            let why = "the application may not be granted tokens for this user".into();
            return refuse(RedirectError::AccessDenied(why), challenge.is_some());
        }
        let policy = ScopePolicy {
            catalogue: &self.settings.scopes,
            ceiling: app.scope_ceiling.as_ref(),
            superuser: login.superuser,
        };
        let scopes = match scope::grant(req.scope.as_deref(), &policy) {
            Ok(s) => s,
            Err(error) => return refuse(error, challenge.is_some()),
        };
        if let Some(challenge) = challenge {
            // 12 for a code: store it (hashed) for the exchange; the name is released beside
            // it. A hash to upgrade waits for a token login.
            *settled = true;
            let grant = CodeGrant {
                client_id: &req.client_id,
                redirect_uri: &redirect_uri,
                redirect_uri_given: req.redirect_uri.is_some(),
                scopes: &scopes,
                challenge,
                client_epoch: app.token_epoch,
                jkt,
            };
            let (code, ()) =
                tokio::join!(self.issue_code(user, grant, now_ms), self.give_up(attempt));
            return Ok(Decision::Code {
                redirect_uri,
                code: code?,
                username: user.username.clone(),
                scopes,
            });
        }
        // 12: store the token, tied to the user as verified, while the name is released (a
        // separate write: a failure counted meanwhile cannot cancel the token).
        *settled = true;
        let verified = Verified {
            username: user.username.clone(),
            password_hash: login.verification.map(|_| user.password_hash.clone()),
            generation: user.generation,
            new_password_hash: login
                .verification
                .and_then(|v| self.rehash(user, v, &credentials.password)),
        };
        let (token, ()) = tokio::join!(
            self.issue(&verified, app, &scopes, jkt, now_ms),
            self.give_up(attempt)
        );
        Ok(Decision::Issued {
            redirect_uri,
            token: token?,
            bound: jkt.is_some(),
            username: user.username.clone(),
            scopes,
        })
    }
}
