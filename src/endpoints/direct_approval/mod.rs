//! `POST /oauth/authorizeapp`: checks 1-12 of the contract, in order; the first failure
//! answers. Parsing is `crate::request`'s (checks 1-3, 7), the pure checks `checks`', the
//! password `login`'s; this driver runs the reads and writes between them, overlapped
//! where the contract allows (one round trip for the whitelist, the records and the
//! attempt's admission; the lease's release beside the token's write).

use std::time::Duration;

use http::Request;

use super::issuance::{CodeTerms, Issuance};
use super::proof::DpopCheck;
use super::unavailable;
use super::{AUTHORIZE_PATH, Answer, Event, RequestLog, Settings, fetch_budget, issuer, refused};
use crate::clock::Clock;
use crate::directory::Directory;
use crate::dpop::Proof;
use crate::error::ApiError;
use crate::identifier;
use crate::password::Passwords;
use crate::random::Random;
use crate::response::{self, RedirectParams, TokenResponse};
use crate::store::{
    Admission, CodeStore, FailureCounter, Lookup, LookupReader, OneTimeValues, StoreError,
    TokenReader, TokenWriter, UserLinker, Verified,
};
use crate::token::AccessToken;
use crate::whitelist::{CachedWhitelist, WhitelistSource};
use request::AuthorizeRequest;

mod checks;
mod request;

use super::login::{Login, LoginLease, MIN_DIRECTORY_BUDGET_MS, PasswordCheck};
use checks::{Admitted, Approval, Person, Refusal};

/// Direct approval's ports.
pub(super) struct DirectApproval<'a, S, W, C, R, P, D> {
    pub store: &'a S,
    pub whitelist: &'a CachedWhitelist<W>,
    pub clock: &'a C,
    pub random: &'a R,
    /// Check 9: the users table's hashes or the directory.
    pub login: PasswordCheck<'a, S, C, P, D>,
    pub settings: &'a Settings,
    pub dpop: DpopCheck<'a, S, C, R>,
    pub issuance: Issuance<'a, S, R>,
}

/// Where checks 4-12 lead when they do not fail outright.
enum Decision {
    Token {
        redirect_uri: String,
        token: AccessToken,
        /// Bound to the proof's key (`token_type=DPoP`).
        bound: bool,
        /// Its lifetime in seconds: the application's, or the function's.
        expires_in: u64,
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
    /// Checks 10-11 refused: the error goes to the trusted redirect URI; the log line
    /// names the user.
    Redirect {
        redirect_uri: String,
        refusal: Refusal,
        username: String,
    },
}

/// What the reads brought: the application and user, the attempt's admission (none
/// without credentials), and the DPoP proof's spending.
struct Reads {
    lookup: Result<Lookup, StoreError>,
    admission: Option<Result<Admission, StoreError>>,
    spent: Result<(), ApiError>,
}

impl<S, W, C, R, P, D> DirectApproval<'_, S, W, C, R, P, D>
where
    S: LookupReader + FailureCounter + UserLinker + TokenWriter + TokenReader + CodeStore,
    S: OneTimeValues,
    W: WhitelistSource,
    C: Clock,
    R: Random,
    P: Passwords,
    D: Directory,
{
    pub(super) async fn answer<B: AsRef<[u8]>>(&self, req: &Request<B>) -> Answer {
        let realm = &self.settings.realm;
        let parsed = match request::parse(req) {
            Ok(p) => p,
            Err(e) => return refused(&e, String::new(), realm),
        };
        let client_id = parsed.client_id.clone();
        // Check 3a: a DPoP proof, if the request carries one, is this request's, by the
        // key `dpop_jkt` names, if it names one, and carries the server's nonce, if asked.
        let issuer = issuer(self.settings.issuer.as_deref(), req);
        let jkt = parsed.dpop_jkt.as_deref();
        let proof = self.dpop.read(req, issuer.as_deref(), AUTHORIZE_PATH, jkt);
        let proof = match proof.await {
            Ok(p) => p,
            Err(e) => return refused(&e, client_id, realm),
        };
        let budget = fetch_budget(req, self.clock.now_ms());
        let decision = self.decide(&parsed, proof.as_ref(), budget).await;
        let params = RedirectParams {
            state: parsed.state.as_deref(),
            iss: issuer.as_deref(),
        };
        match decision {
            Ok(decision) => self.answer_of(decision, client_id, params),
            Err(e) => refused(&e, client_id, realm),
        }
    }

    /// The redirect of a decision, and its log line (the audit record: who got which
    /// token for what; never the token itself).
    fn answer_of(&self, decision: Decision, client_id: String, params: RedirectParams) -> Answer {
        match decision {
            Decision::Token {
                redirect_uri,
                token,
                bound,
                expires_in,
                username,
                scopes,
            } => {
                let exposed = token.expose();
                let issued = TokenResponse {
                    token: &exposed,
                    bound,
                    expires_in,
                };
                let log = RequestLog {
                    event: Event::TokenIssued,
                    client_id,
                    username,
                    scopes: scopes.join(" "),
                    token_id: token.id().to_string(),
                    ..RequestLog::default()
                };
                let response = response::issued(&redirect_uri, issued, params);
                Answer { response, log }
            }
            Decision::Code {
                redirect_uri,
                code,
                username,
                scopes,
            } => {
                let log = RequestLog {
                    event: Event::CodeIssued,
                    client_id,
                    username,
                    scopes: scopes.join(" "),
                    ..RequestLog::default()
                };
                let response = response::code_issued(&redirect_uri, &code, params);
                Answer { response, log }
            }
            Decision::Redirect {
                redirect_uri,
                refusal: Refusal { error, in_query },
                username,
            } => {
                let log = RequestLog {
                    event: Event::RedirectError,
                    client_id,
                    error: error.code(),
                    description: error.to_string(),
                    username,
                    ..RequestLog::default()
                };
                let response = response::redirect_error(&redirect_uri, &error, params, in_query);
                Answer { response, log }
            }
        }
    }

    /// Checks 4-12; `Err` is answered without redirecting. However they end, the
    /// attempt's lease ends with them.
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
        let cap = self.settings.backoff_cap;
        let lease = match &req.credentials {
            Some(credentials) => {
                // A password check is likely: the hasher gets ready while the reads wait.
                self.login.passwords.prepare();
                Some(LoginLease::new(self.store, self.random, credentials, cap)?)
            }
            None => None,
        };
        let deadline_ms = now_ms + budget.as_millis() as u64;
        let reads = self.read(req, lease.as_ref(), proof, now_ms, deadline_ms);
        let outcome = match reads.await {
            Ok(reads) => {
                self.after_reads(req, lease.as_ref(), reads, proof, deadline_ms)
                    .await
            }
            Err(e) => Err(e),
        };
        // Refused before the password (checks 5-8, an outage): the name is free again. A
        // failure counted, or a write that gave it up, ended it already.
        if let Some(lease) = &lease {
            lease.release().await;
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
        lease: Option<&LoginLease<'_, S>>,
        proof: Option<&Proof>,
        now_ms: u64,
        deadline_ms: u64,
    ) -> Result<Reads, ApiError> {
        let lookup = self
            .store
            .lookup(&req.client_id, lease.map(LoginLease::key));
        // A turn is waited for within the request's budget, as SSM is.
        let admit = async {
            match lease {
                Some(l) => Some(l.admit(self.clock, self.random, deadline_ms).await),
                None => None,
            }
        };
        let spend = self.dpop.spend(proof);
        let (lookup, admission, spent) = match self.whitelist.answer_now(&req.client_id, now_ms) {
            Some(false) => return Err(ApiError::UnauthorizedClient),
            Some(true) => tokio::join!(lookup, admit, spend),
            None => {
                let budget = Duration::from_millis(deadline_ms - now_ms);
                let whitelisted = async {
                    let allows = self.whitelist.allows_within(&req.client_id, now_ms, budget);
                    match allows.await {
                        Ok(true) => Ok(()),
                        Ok(false) => Err(ApiError::UnauthorizedClient),
                        Err(e) => Err(unavailable(e)),
                    }
                };
                let read = async { Ok(lookup.await) };
                let ((), lookup) = tokio::try_join!(whitelisted, read)?;
                let (admission, spent) = tokio::join!(admit, spend);
                (lookup, admission, spent)
            }
        };
        Ok(Reads {
            lookup,
            admission,
            spent,
        })
    }

    /// Checks 5-12, in contract order, once the reads are in.
    async fn after_reads(
        &self,
        req: &AuthorizeRequest,
        lease: Option<&LoginLease<'_, S>>,
        reads: Reads,
        proof: Option<&Proof>,
        deadline_ms: u64,
    ) -> Result<Decision, ApiError> {
        let lookup = reads.lookup.map_err(unavailable)?;
        let attempt = lease.zip(reads.admission.map(|a| a.map_err(unavailable)));
        // The admission may have waited its turn: the clock has moved since the request.
        let admitted_ms = self.clock.now_ms();
        let spent = (proof, reads.spent);
        let cap = self.settings.backoff_cap;
        let admitted = checks::before_password(req, &lookup, spent, attempt, admitted_ms, cap)?;
        // 9: password.
        let Admitted {
            credentials,
            lease,
            counts,
            ..
        } = &admitted;
        let password_check = self.login;
        let verifying_since = self.clock.now_ms();
        let within = deadline_ms.saturating_sub(verifying_since);
        let within = Duration::from_millis(within.max(MIN_DIRECTORY_BUDGET_MS));
        let checked = password_check.check(credentials, &lookup, within).await?;
        let Some(login) = checked else {
            // Counted before the timing floor's wait, under this attempt's own lease: a
            // long floor can no longer end the lease or the function with the failure
            // uncounted. The wait counts from the verification's start, so the write's
            // time is inside it and every failure is still answered at the same moment.
            let recorded = lease
                .count_failure(counts.as_ref(), self.clock.now_ms())
                .await;
            password_check
                .wait_out_timing_floor(&lookup, verifying_since)
                .await;
            recorded.map_err(unavailable)?;
            return Err(ApiError::LoginFailed);
        };
        let username = login.user.username.clone();
        let person = Person {
            username: &login.user.username,
            groups: &login.groups,
            superuser: login.superuser,
        };
        // 10-11.
        let catalogue = &self.settings.scopes;
        match checks::after_password(req, admitted.app, person, catalogue) {
            Ok(approval) => self.issue(req, &admitted, login, approval).await,
            Err(refusal) => Ok(Decision::Redirect {
                redirect_uri: admitted.redirect_uri,
                refusal,
                username,
            }),
        }
    }

    /// 12: the token, tied to the user as verified, or the code (hashed) for the exchange,
    /// written while the name is released (a separate write: a failure counted meanwhile
    /// cannot cancel the token). A hash to upgrade waits for a token login.
    async fn issue(
        &self,
        req: &AuthorizeRequest,
        admitted: &Admitted<'_, &LoginLease<'_, S>>,
        login: Login,
        approval: Approval,
    ) -> Result<Decision, ApiError> {
        let now_ms = self.clock.now_ms();
        let Admitted {
            app,
            credentials,
            redirect_uri,
            jkt,
            lease,
            ..
        } = admitted;
        let user = login.user;
        let redirect_uri = redirect_uri.clone();
        let username = user.username.clone();
        match approval {
            Approval::Code { scopes, challenge } => {
                let terms = CodeTerms {
                    client_id: &req.client_id,
                    redirect_uri: &redirect_uri,
                    redirect_uri_given: req.redirect_uri.is_some(),
                    scopes: &scopes,
                    challenge,
                    client_epoch: app.token_epoch,
                    jkt: *jkt,
                };
                let code = self.issuance.issue_code(&user, terms, now_ms);
                let (code, ()) = tokio::join!(code, lease.release());
                Ok(Decision::Code {
                    redirect_uri,
                    code: code?,
                    username,
                    scopes,
                })
            }
            Approval::Token { scopes } => {
                let password = &credentials.password;
                let new_password_hash = login
                    .verification
                    .and_then(|v| self.login.rehash(&user, v, password));
                let verified = Verified {
                    username: user.username.clone(),
                    password_hash: login.verification.map(|_| user.password_hash.clone()),
                    generation: user.generation,
                    new_password_hash,
                };
                let token = self
                    .issuance
                    .issue_token(&verified, app, &scopes, *jkt, now_ms);
                let (token, ()) = tokio::join!(token, lease.release());
                Ok(Decision::Token {
                    redirect_uri,
                    token: token?,
                    bound: jkt.is_some(),
                    expires_in: self.settings.lifetime_of(app).as_secs(),
                    username,
                    scopes,
                })
            }
        }
    }
}
