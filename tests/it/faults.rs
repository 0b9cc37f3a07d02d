//! Outages and lost answers, around any store: a test double that wraps the memory store
//! or the DynamoDB adapter alike, so the flow's tests and the store contract suite meet
//! the same faults. Clones share the faults (and the wrapped store, when its clones do), so
//! a test keeps a handle on the store it gave a flow.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use direct_oauth::api_token::Cap;
use direct_oauth::device::Decision;
use direct_oauth::session::Session;
use direct_oauth::store::{
    Admission, Application, ClientAndToken, CodeClaim, CodeRecord, CodeStore, DirectoryLink,
    FailedLogins, Failure, FailureCounter, Lease, Lookup, LookupReader, OneTimeValues,
    OwnerAndClient, Redemption, StoreError, TokenCanceller, TokenReader, TokenRecord, TokenRevoker,
    TokenWriter, User, UserLinker, Verified,
};
use direct_oauth::store::{ApiTokenStore, ConsentStore, Holdings, SessionStore, TokenUse};
use direct_oauth::store::{DeviceAuthorization, DeviceStore, Poll, RefreshFamily, RefreshStore};
use std::collections::BTreeSet;

/// The store's operations, for failing one of them on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Lookup,
    LinkUser,
    Admit,
    Release,
    PutToken,
    GetToken,
    OwnerAndClient,
    /// A token read with the user and application it names (one round trip).
    TokenAndParties,
    RevokeToken,
    RecordFailure,
    PutCode,
    RedeemCode,
    /// A DPoP proof's replay guard, and the nonces' secret.
    FirstUse,
    Nonce,
    /// The pages' sessions: written at sign-in, read by every page, ended at sign-out.
    Session,
    /// A person's grants and API tokens: consent, the Tokens and applications pages.
    Authorized,
    /// The authorizer's note of an API token's use.
    RecordUse,
    /// Refresh token families: read, written with their access token, revoked.
    Refresh,
    /// Device authorizations: written, found, decided, polled, redeemed.
    Device,
}

#[derive(Debug, Default)]
struct Faults {
    /// Every call fails, as DynamoDB's do during an outage.
    unavailable: bool,
    /// Operations that fail while the others work: a write that fails after a good read.
    failing: HashSet<Operation>,
    /// Token writes to refuse with a conflict (an id taken) before passing one on.
    conflicts: u32,
    /// Token writes to make and then answer as the SDK's retry of them would see them.
    lost_answers: u32,
    /// Code redemptions to make and then retry, as the SDK does when an answer is lost.
    lost_redemptions: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Faulty<S> {
    pub inner: S,
    faults: Arc<Mutex<Faults>>,
    /// Reads made through [`LookupReader::lookup`]; shared so that a test double elsewhere
    /// (a whitelist source, say) can see them as they happen.
    lookups: Arc<AtomicU32>,
}

impl<S> Faulty<S> {
    pub fn new(inner: S) -> Self {
        Faulty {
            inner,
            faults: Arc::default(),
            lookups: Arc::default(),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Faults) -> T) -> T {
        f(&mut self.faults.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// A live view of how many lookups the store has answered.
    pub fn lookup_counter(&self) -> Arc<AtomicU32> {
        self.lookups.clone()
    }

    pub fn set_unavailable(&self, unavailable: bool) {
        self.with(|f| f.unavailable = unavailable);
    }

    /// Makes `operation` fail as during an outage (or work again), whatever the others do.
    pub fn set_failing(&self, operation: Operation, failing: bool) {
        self.with(|f| {
            if failing {
                f.failing.insert(operation);
            } else {
                f.failing.remove(&operation);
            }
        });
    }

    pub fn inject_conflicts(&self, n: u32) {
        self.with(|f| f.conflicts = n);
    }

    pub fn inject_lost_answers(&self, n: u32) {
        self.with(|f| f.lost_answers = n);
    }

    pub fn inject_lost_redemptions(&self, n: u32) {
        self.with(|f| f.lost_redemptions = n);
    }

    fn check(&self, operation: Operation) -> Result<(), StoreError> {
        if self.with(|f| f.unavailable || f.failing.contains(&operation)) {
            Err(StoreError::Unavailable(
                "set unavailable by the test".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// Whether one more of the faults `pick` names is due, counting it down.
    fn take(&self, pick: impl FnOnce(&mut Faults) -> &mut u32) -> bool {
        self.with(|f| {
            let left = pick(f);
            let due = *left > 0;
            *left = left.saturating_sub(1);
            due
        })
    }
}

impl<S: LookupReader> LookupReader for Faulty<S> {
    async fn lookup(&self, client_id: &str, username: Option<&str>) -> Result<Lookup, StoreError> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        self.check(Operation::Lookup)?;
        self.inner.lookup(client_id, username).await
    }
}

impl<S: UserLinker> UserLinker for Faulty<S> {
    async fn link_user(
        &self,
        username: &str,
        link: &DirectoryLink,
        since: u64,
    ) -> Result<User, StoreError> {
        self.check(Operation::LinkUser)?;
        self.inner.link_user(username, link, since).await
    }
}

impl<S: TokenWriter> TokenWriter for Faulty<S> {
    async fn put_token(&self, token: &TokenRecord, user: &Verified) -> Result<(), StoreError> {
        self.check(Operation::PutToken)?;
        if self.take(|f| &mut f.conflicts) {
            return Err(StoreError::Conflict);
        }
        self.inner.put_token(token, user).await?;
        if self.take(|f| &mut f.lost_answers) {
            // What the SDK's retry meets: its own token, and the hash it replaced.
            return Err(if user.new_password_hash.is_some() {
                StoreError::UserChanged
            } else {
                StoreError::Conflict
            });
        }
        Ok(())
    }
}

impl<S: TokenReader> TokenReader for Faulty<S> {
    async fn get_token(&self, token_id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.check(Operation::GetToken)?;
        self.inner.get_token(token_id).await
    }

    async fn owner_and_client(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<OwnerAndClient, StoreError> {
        self.check(Operation::OwnerAndClient)?;
        self.inner.owner_and_client(username, client_id).await
    }

    async fn token_and_parties(
        &self,
        token_id: &str,
        username: &str,
        client_id: &str,
    ) -> Result<(Option<TokenRecord>, OwnerAndClient), StoreError> {
        self.check(Operation::TokenAndParties)?;
        self.inner
            .token_and_parties(token_id, username, client_id)
            .await
    }
}

impl<S: TokenRevoker> TokenRevoker for Faulty<S> {
    async fn revoke_token(
        &self,
        token_id: &str,
        secret_hash: &[u8; 32],
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.check(Operation::RevokeToken)?;
        self.inner
            .revoke_token(token_id, secret_hash, now_secs)
            .await
    }
}

impl<S: TokenCanceller> TokenCanceller for Faulty<S> {
    async fn revoke_by_id(
        &self,
        token_id: &str,
        now_secs: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.check(Operation::RevokeToken)?;
        self.inner
            .revoke_by_id(token_id, now_secs, expires_at)
            .await
    }
}

impl<S: CodeStore> CodeStore for Faulty<S> {
    async fn put_code(&self, code: &CodeRecord) -> Result<(), StoreError> {
        self.check(Operation::PutCode)?;
        self.inner.put_code(code).await
    }

    async fn redeem_code(
        &self,
        claim: &CodeClaim<'_>,
        token_id: &str,
        now_secs: u64,
    ) -> Result<Redemption, StoreError> {
        self.check(Operation::RedeemCode)?;
        let redeem = || self.inner.redeem_code(claim, token_id, now_secs);
        let first = redeem().await?;
        if matches!(first, Redemption::Redeemed(_)) && self.take(|f| &mut f.lost_redemptions) {
            // The answer is lost; the retry meets the code this very exchange used.
            return redeem().await;
        }
        Ok(first)
    }
}

impl<S: ClientAndToken> ClientAndToken for Faulty<S> {
    async fn client_and_token(
        &self,
        client_id: &str,
        token_id: &str,
    ) -> Result<(Option<Application>, Option<TokenRecord>), StoreError> {
        self.check(Operation::GetToken)?;
        self.inner.client_and_token(client_id, token_id).await
    }
}

impl<S: OneTimeValues> OneTimeValues for Faulty<S> {
    async fn first_use(
        &self,
        replay_key: &[u8; 32],
        keep_until: u64,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.check(Operation::FirstUse)?;
        self.inner.first_use(replay_key, keep_until, now_secs).await
    }

    async fn nonce_secret(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        self.check(Operation::Nonce)?;
        self.inner.nonce_secret(fresh).await
    }
}

impl<S: ConsentStore> ConsentStore for Faulty<S> {
    async fn consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<BTreeSet<String>, StoreError> {
        self.check(Operation::Authorized)?;
        self.inner.consent(username, client_id).await
    }

    async fn remember_consent(
        &self,
        username: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        self.check(Operation::Authorized)?;
        self.inner
            .remember_consent(username, client_id, scopes)
            .await
    }
}

impl<S: ApiTokenStore> ApiTokenStore for Faulty<S> {
    async fn create_api_token(
        &self,
        token: &TokenRecord,
        user: &Verified,
        cap: &Cap,
    ) -> Result<(), StoreError> {
        self.check(Operation::Authorized)?;
        self.inner.create_api_token(token, user, cap).await
    }

    async fn revoke_api_token(
        &self,
        username: &str,
        token_id: &str,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.check(Operation::Authorized)?;
        self.inner
            .revoke_api_token(username, token_id, now_secs)
            .await
    }

    async fn applications(&self) -> Result<Vec<Application>, StoreError> {
        self.check(Operation::Authorized)?;
        self.inner.applications().await
    }

    async fn holdings(&self, username: &str) -> Result<Holdings, StoreError> {
        self.check(Operation::Authorized)?;
        self.inner.holdings(username).await
    }

    async fn revoke_access(
        &self,
        username: &str,
        client_id: &str,
        now_secs: u64,
    ) -> Result<u32, StoreError> {
        self.check(Operation::Authorized)?;
        self.inner
            .revoke_access(username, client_id, now_secs)
            .await
    }
}

impl<S: RefreshStore> RefreshStore for Faulty<S> {
    async fn family(&self, family_id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        self.check(Operation::Refresh)?;
        self.inner.family(family_id).await
    }

    async fn write_family(
        &self,
        family: &RefreshFamily,
        seen: Option<&[u8; 32]>,
        token: &TokenRecord,
        user: &Verified,
    ) -> Result<(), StoreError> {
        self.check(Operation::Refresh)?;
        self.inner.write_family(family, seen, token, user).await
    }

    async fn revoke_family(&self, family_id: &str, now_secs: u64) -> Result<(), StoreError> {
        self.check(Operation::Refresh)?;
        self.inner.revoke_family(family_id, now_secs).await
    }
}

impl<S: DeviceStore> DeviceStore for Faulty<S> {
    async fn put_device(&self, device: &DeviceAuthorization) -> Result<(), StoreError> {
        self.check(Operation::Device)?;
        self.inner.put_device(device).await
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
        now_secs: u64,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        self.check(Operation::Device)?;
        self.inner.device_by_user_code(user_code, now_secs).await
    }

    async fn decide_device(
        &self,
        device_hash: &[u8; 32],
        decision: &Decision,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        self.check(Operation::Device)?;
        self.inner
            .decide_device(device_hash, decision, now_secs)
            .await
    }

    async fn poll_device(
        &self,
        device_hash: &[u8; 32],
        client_id: &str,
        now_ms: u64,
    ) -> Result<Poll, StoreError> {
        self.check(Operation::Device)?;
        self.inner.poll_device(device_hash, client_id, now_ms).await
    }

    async fn redeem_device(
        &self,
        device_hash: &[u8; 32],
        token_id: &str,
    ) -> Result<bool, StoreError> {
        self.check(Operation::Device)?;
        self.inner.redeem_device(device_hash, token_id).await
    }

    async fn note_wrong_user_code(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        self.check(Operation::Device)?;
        self.inner.note_wrong_user_code(username, now_secs).await
    }

    async fn wrong_user_codes(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        self.check(Operation::Device)?;
        self.inner.wrong_user_codes(username, now_secs).await
    }
}

impl<S: TokenUse> TokenUse for Faulty<S> {
    async fn record_use(
        &self,
        token_id: &str,
        now_secs: u64,
        since: u64,
    ) -> Result<(), StoreError> {
        self.check(Operation::RecordUse)?;
        self.inner.record_use(token_id, now_secs, since).await
    }
}

impl<S: SessionStore> SessionStore for Faulty<S> {
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        self.check(Operation::Session)?;
        self.inner.put_session(session).await
    }

    async fn session(&self, key: &str) -> Result<Option<Session>, StoreError> {
        self.check(Operation::Session)?;
        self.inner.session(key).await
    }

    async fn touch_session(&self, key: &str, now_secs: u64) -> Result<(), StoreError> {
        self.check(Operation::Session)?;
        self.inner.touch_session(key, now_secs).await
    }

    async fn end_session(&self, key: &str) -> Result<(), StoreError> {
        self.check(Operation::Session)?;
        self.inner.end_session(key).await
    }
}

impl<S: FailureCounter> FailureCounter for Faulty<S> {
    async fn admit(
        &self,
        username: &str,
        lease: &Lease,
        now_ms: u64,
        expires_at: u64,
    ) -> Result<Admission, StoreError> {
        self.check(Operation::Admit)?;
        self.inner.admit(username, lease, now_ms, expires_at).await
    }

    async fn record_failure(
        &self,
        username: &str,
        lease: &Lease,
        failure: &Failure,
    ) -> Result<FailedLogins, StoreError> {
        self.check(Operation::RecordFailure)?;
        self.inner.record_failure(username, lease, failure).await
    }

    async fn release(&self, username: &str, lease: &Lease) -> Result<(), StoreError> {
        self.check(Operation::Release)?;
        self.inner.release(username, lease).await
    }
}

/// The wrapped store's own methods (seeding, inspection) stay at hand; the ports' methods
/// are the double's.
impl<S> std::ops::Deref for Faulty<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.inner
    }
}
