//! A success costs two sequential rounds of DynamoDB calls, not four: the read goes with
//! the attempt's admission, and the token write with the release of the name. A store
//! double makes each call of a pair wait for the other: if the flow made them one after
//! the other, the first would wait in vain and the request would fail.

use std::time::Duration;

use direct_oauth::api_token::Cap;
use direct_oauth::device::Decision;
use direct_oauth::session::Session;
use direct_oauth::store::{
    Admission, Application, ClientAndToken, CodeClaim, CodeRecord, CodeStore, DirectoryLink,
    FailedLogins, Failure, FailureCounter, Lease, Lookup, LookupReader, OneTimeValues,
    OwnerAndClient, Redemption, StoreError, TokenCanceller, TokenReader, TokenRecord, TokenRevoker,
    TokenWriter, User, UserLinker, Verified,
};
use direct_oauth::store::{ApiTokenStore, ConsentStore, Holdings, SessionStore};
use direct_oauth::store::{DeviceAuthorization, DeviceStore, Poll, RefreshFamily, RefreshStore};
use std::collections::BTreeSet;
use tokio::sync::Notify;

use super::*;

#[derive(Clone)]
struct Overlapping {
    inner: MemoryStore,
    admitted: Arc<Notify>,
    released: Arc<Notify>,
}

/// Waits for `partner`; an error (answered 503) if it never comes.
async fn after(partner: &Notify, what: &str) -> Result<(), StoreError> {
    tokio::time::timeout(Duration::from_secs(2), partner.notified())
        .await
        .map_err(|_| StoreError::Unavailable(format!("{what} was not sent alongside")))
}

impl LookupReader for Overlapping {
    async fn lookup(&self, client_id: &str, username: Option<&str>) -> Result<Lookup, StoreError> {
        if username.is_some() {
            after(&self.admitted, "the admission").await?;
        }
        self.inner.lookup(client_id, username).await
    }
}

impl UserLinker for Overlapping {
    async fn link_user(
        &self,
        username: &str,
        link: &DirectoryLink,
        since: u64,
    ) -> Result<User, StoreError> {
        self.inner.link_user(username, link, since).await
    }
}

impl FailureCounter for Overlapping {
    async fn admit(&self, u: &str, l: &Lease, now: u64, exp: u64) -> Result<Admission, StoreError> {
        let admission = self.inner.admit(u, l, now, exp).await;
        self.admitted.notify_one();
        admission
    }
    async fn record_failure(
        &self,
        u: &str,
        l: &Lease,
        failure: &Failure,
    ) -> Result<FailedLogins, StoreError> {
        self.inner.record_failure(u, l, failure).await
    }
    async fn release(&self, u: &str, l: &Lease) -> Result<(), StoreError> {
        let released = self.inner.release(u, l).await;
        self.released.notify_one();
        released
    }
}

impl TokenWriter for Overlapping {
    async fn put_token(&self, t: &TokenRecord, user: &Verified) -> Result<(), StoreError> {
        after(&self.released, "the release").await?;
        self.inner.put_token(t, user).await
    }
}

impl TokenReader for Overlapping {
    async fn get_token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.inner.get_token(id).await
    }

    async fn owner_and_client(
        &self,
        name: &str,
        client: &str,
    ) -> Result<OwnerAndClient, StoreError> {
        self.inner.owner_and_client(name, client).await
    }

    async fn token_and_parties(
        &self,
        id: &str,
        name: &str,
        client: &str,
    ) -> Result<(Option<TokenRecord>, OwnerAndClient), StoreError> {
        self.inner.token_and_parties(id, name, client).await
    }
}

impl TokenRevoker for Overlapping {
    async fn revoke_token(&self, id: &str, h: &[u8; 32], now: u64) -> Result<bool, StoreError> {
        self.inner.revoke_token(id, h, now).await
    }
}

impl TokenCanceller for Overlapping {
    async fn revoke_by_id(&self, id: &str, now: u64, until: u64) -> Result<(), StoreError> {
        self.inner.revoke_by_id(id, now, until).await
    }
}

impl CodeStore for Overlapping {
    async fn put_code(&self, code: &CodeRecord) -> Result<(), StoreError> {
        self.inner.put_code(code).await
    }
    async fn redeem_code(
        &self,
        claim: &CodeClaim<'_>,
        token: &str,
        now: u64,
    ) -> Result<Redemption, StoreError> {
        self.inner.redeem_code(claim, token, now).await
    }
}

impl ClientAndToken for Overlapping {
    async fn client_and_token(
        &self,
        client: &str,
        token: &str,
    ) -> Result<(Option<Application>, Option<TokenRecord>), StoreError> {
        self.inner.client_and_token(client, token).await
    }
}

impl OneTimeValues for Overlapping {
    async fn first_use(&self, key: &[u8; 32], until: u64, now: u64) -> Result<bool, StoreError> {
        self.inner.first_use(key, until, now).await
    }

    async fn nonce_secret(&self, fresh: [u8; 32]) -> Result<[u8; 32], StoreError> {
        self.inner.nonce_secret(fresh).await
    }
}

impl ConsentStore for Overlapping {
    async fn consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> Result<BTreeSet<String>, StoreError> {
        self.inner.consent(username, client_id).await
    }

    async fn remember_consent(
        &self,
        username: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<(), StoreError> {
        self.inner
            .remember_consent(username, client_id, scopes)
            .await
    }
}

impl ApiTokenStore for Overlapping {
    async fn create_api_token(
        &self,
        token: &TokenRecord,
        user: &Verified,
        cap: &Cap,
    ) -> Result<(), StoreError> {
        self.inner.create_api_token(token, user, cap).await
    }

    async fn revoke_api_token(
        &self,
        username: &str,
        token_id: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        self.inner.revoke_api_token(username, token_id, now).await
    }

    async fn applications(&self) -> Result<Vec<Application>, StoreError> {
        self.inner.applications().await
    }

    async fn holdings(&self, username: &str) -> Result<Holdings, StoreError> {
        self.inner.holdings(username).await
    }

    async fn revoke_access(
        &self,
        username: &str,
        client_id: &str,
        now: u64,
    ) -> Result<u32, StoreError> {
        self.inner.revoke_access(username, client_id, now).await
    }
}

impl RefreshStore for Overlapping {
    async fn family(&self, id: &str) -> Result<Option<RefreshFamily>, StoreError> {
        self.inner.family(id).await
    }

    async fn write_family(
        &self,
        family: &RefreshFamily,
        seen: Option<&[u8; 32]>,
        token: &TokenRecord,
        user: &Verified,
    ) -> Result<(), StoreError> {
        self.inner.write_family(family, seen, token, user).await
    }

    async fn revoke_family(&self, id: &str, now: u64) -> Result<(), StoreError> {
        self.inner.revoke_family(id, now).await
    }
}

impl DeviceStore for Overlapping {
    async fn put_device(&self, device: &DeviceAuthorization) -> Result<(), StoreError> {
        self.inner.put_device(device).await
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
        now_secs: u64,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        self.inner.device_by_user_code(user_code, now_secs).await
    }

    async fn decide_device(
        &self,
        device_hash: &[u8; 32],
        decision: &Decision,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
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
        self.inner.poll_device(device_hash, client_id, now_ms).await
    }

    async fn redeem_device(
        &self,
        device_hash: &[u8; 32],
        token_id: &str,
    ) -> Result<bool, StoreError> {
        self.inner.redeem_device(device_hash, token_id).await
    }

    async fn note_wrong_user_code(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        self.inner.note_wrong_user_code(username, now_secs).await
    }

    async fn wrong_user_codes(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        self.inner.wrong_user_codes(username, now_secs).await
    }
}

impl SessionStore for Overlapping {
    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        self.inner.put_session(session).await
    }

    async fn session(&self, key: &str) -> Result<Option<Session>, StoreError> {
        self.inner.session(key).await
    }

    async fn touch_session(&self, key: &str, now_secs: u64) -> Result<(), StoreError> {
        self.inner.touch_session(key, now_secs).await
    }

    async fn end_session(&self, key: &str) -> Result<(), StoreError> {
        self.inner.end_session(key).await
    }
}

#[tokio::test]
async fn a_success_makes_two_rounds_of_calls_each_of_two_at_once() {
    let f = service_over(
        |inner| Overlapping {
            inner,
            admitted: Arc::new(Notify::new()),
            released: Arc::new(Notify::new()),
        },
        |_| {},
        |_| MemorySource::new(Some(CLIENT)),
    );
    // A cached list: the read and the admission can go together from the start.
    assert!(f.whitelist().allows(CLIENT, NOW_MS).await.unwrap());
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302, "{:?}", r.body());
    assert_eq!(f.store().inner.tokens().len(), 1);
}
