//! Check 9, the password: verified against the users table's own hash, or by the
//! directory the deployment names, whose users get a local record at their first login.

use std::collections::BTreeSet;
use std::time::Duration;

use tracing::warn;

use crate::basic_auth::Credentials;
use crate::clock::Clock;
use crate::directory::{Directory, Verdict};
use crate::endpoints::unavailable;
use crate::error::ApiError;
use crate::identifier;
use crate::password::{self, Passwords, Verification};
use crate::store::{DirectoryLink, Lookup, User, UserLinker};
use crate::throttle;

/// A password that checked out.
pub(in crate::endpoints) struct Login {
    /// The user's record: the users table's, or a directory user's local one.
    pub(in crate::endpoints) user: User,
    /// How the users table's hash verified; `None` for a directory's user (nothing local
    /// to rehash; the generation alone holds the token to the user).
    pub(in crate::endpoints) verification: Option<Verification>,
    /// The directory's groups (none for the users table's users).
    pub(in crate::endpoints) groups: BTreeSet<String>,
    /// May be granted `super:user`: the users table's flag for its own users, membership
    /// of the superuser group for a directory's (a flag left on a local record grants
    /// nothing).
    pub(in crate::endpoints) superuser: bool,
}

/// Check 9's ports: where passwords are checked (the users table's hashes, or the
/// directory), and the local records a directory's users get.
pub(in crate::endpoints) struct PasswordCheck<'a, S, C, P, D> {
    pub store: &'a S,
    pub clock: &'a C,
    pub passwords: &'a P,
    /// `None`: the users table's own hashes.
    pub directory: Option<&'a D>,
    /// A directory's group whose members are superusers.
    pub superuser_group: Option<&'a str>,
}

impl<S, C, P, D> Clone for PasswordCheck<'_, S, C, P, D> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, C, P, D> Copy for PasswordCheck<'_, S, C, P, D> {}

impl<S: UserLinker, C: Clock, P: Passwords, D: Directory> PasswordCheck<'_, S, C, P, D> {
    /// Check 9: the password, by the users table's hash or by the directory. Unknown,
    /// disabled and wrong-password logins are all `None`; a directory that cannot answer
    /// is an outage (503), never a failure of the user's.
    pub(in crate::endpoints) async fn check(
        &self,
        credentials: &Credentials,
        lookup: &Lookup,
        within: Duration,
    ) -> Result<Option<Login>, ApiError> {
        let Some(directory) = self.directory else {
            return Ok(self.verify(credentials, lookup).map(|(user, v)| Login {
                user: user.clone(),
                verification: Some(v),
                groups: BTreeSet::new(),
                superuser: user.superuser,
            }));
        };
        let (name, password) = (&credentials.username, &credentials.password);
        let verdict = directory
            .authenticate(name, password, within)
            .await
            .map_err(unavailable)?;
        let Verdict::Accepted { identity, groups } = verdict else {
            return Ok(None);
        };
        // From here on the user is who the directory says, keyed by that name's normal
        // form whatever was typed: one record, one set of tokens per person.
        let key = identifier::login_key(&identity.username);
        let link = DirectoryLink {
            directory: directory.kind().into(),
            id: identity.id,
        };
        // The local record ties the user's tokens to it: made at the first login. The
        // record the request read is the one when the typed name was a spelling of the
        // directory's (no round trip more); an alias's is read (or made) now.
        let user = match &lookup.user {
            Some(user) if user.username == key && user.link.as_ref() == Some(&link) => user.clone(),
            _ => self
                .store
                .link_user(&key, &link, self.clock.now_ms())
                .await
                .map_err(unavailable)?,
        };
        if user.link.as_ref() != Some(&link) {
            // Another directory's, another person's who held the name before, or the users
            // table's own: answered as a wrong password, and said to the operator.
            warn!(
                username = %key,
                "a directory login's name belongs to a local record that is not this \
                 person's; refused (remove or rename the record to let it be made anew)"
            );
            return Ok(None);
        }
        // One an operator disabled refuses, decided from the record: the directory was
        // asked exactly as for anyone else, so the answer takes as long.
        let superuser = self.in_superuser_group(&groups);
        Ok(user.enabled.then_some(Login {
            user,
            verification: None,
            groups,
            superuser,
        }))
    }

    fn in_superuser_group(&self, groups: &BTreeSet<String>) -> bool {
        let group = self.superuser_group;
        group.is_some_and(|g| groups.contains(g))
    }

    /// Check 9's verification against the users table: unknown, disabled and
    /// wrong-password logins cost one verification each and are all `None`.
    fn verify<'a>(
        &self,
        credentials: &Credentials,
        lookup: &'a Lookup,
    ) -> Option<(&'a User, Verification)> {
        let verification = match &lookup.user {
            Some(user) => {
                let v = self
                    .passwords
                    .verify(&user.password_hash, &credentials.password);
                if user.enabled {
                    v
                } else {
                    Verification::Invalid
                }
            }
            None => self.passwords.verify_dummy(&credentials.password),
        };
        match (&lookup.user, verification.is_valid()) {
            (Some(user), true) => Some((user, verification)),
            _ => None,
        }
    }

    /// The new hash to store with the token, when the verified one is outdated.
    pub(in crate::endpoints) fn rehash(
        &self,
        user: &User,
        verification: Verification,
        password: &str,
    ) -> Option<String> {
        if verification != Verification::ValidNeedsRehash {
            return None;
        }
        // bcrypt verifies only a password's first 72 bytes: argon2id of the whole longer
        // string would lock the user out of every other string bcrypt accepted.
        if password::is_bcrypt(&user.password_hash) && password.len() > password::BCRYPT_MAX_BYTES {
            return None;
        }
        // A failed rehash only delays the upgrade to the next login.
        self.passwords
            .hash(password)
            .inspect_err(|e| warn!(error = %e, "rehash failed"))
            .ok()
    }

    /// While imported bcrypt hashes remain, a failed verification takes no less than the
    /// slowest of them (a wait, not CPU): an unknown or argon2 name must not answer faster
    /// than an imported one. `started_ms`: when the verification began.
    pub(in crate::endpoints) async fn wait_out_timing_floor(
        &self,
        lookup: &Lookup,
        started_ms: u64,
    ) {
        let Some(cost) = lookup.bcrypt_cost else {
            return;
        };
        // Capped well under the lease and the function's timeout (see FLOOR_CAP).
        let floor = self.passwords.failure_floor(cost).min(throttle::FLOOR_CAP);
        let floor = floor.as_millis() as u64;
        let elapsed = self.clock.now_ms().saturating_sub(started_ms);
        if floor > elapsed {
            let wait = Duration::from_millis(floor - elapsed);
            self.clock.sleep(wait).await;
        }
    }
}
