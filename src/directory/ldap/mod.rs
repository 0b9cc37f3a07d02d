//! The LDAP directory, as Quay's LDAP backend does it: a search for the user with a
//! service account, then a bind as the DN found. An empty password is refused before any
//! bind (an unauthenticated bind "succeeds"); an unknown user costs a bind too, so it
//! answers as a wrong password does.
//!
//! Two connections are kept between warm invocations, each re-made when it breaks: one
//! bound as the service account, for searches, and one for the users' binds, whose
//! identity changes with every bind and is never used for anything else.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, Scope, SearchEntry, ldap_escape};
use tokio::sync::Mutex;
use tracing::warn;

use super::{Directory, DirectoryError, Standing, Verdict, within};
use entry::{
    ACCOUNT_CONTROL, ACCOUNT_LOCK, ADMIN_LOCK, DN_ID, Entry, LOCKED_TIME, NO_SUCH_OBJECT,
    binary_value, group_filter, is_binary_id, take,
};

mod entry;
pub mod password;
mod tls;

pub use password::BindPassword;

/// The directory's settings (`DIRECT_OAUTH_LDAP_*`, validated by [`crate::config`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapSettings {
    /// `ldap://host:port` or `ldaps://host:port`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent.
    pub starttls: bool,
    /// PEM certificates to trust instead of the system's (a private CA).
    pub ca_pem: Option<String>,
    /// The service account that searches.
    pub bind_dn: String,
    /// Where users are searched (subtree).
    pub user_base: String,
    /// ANDed with the name's own filter: Quay's `LDAP_USER_FILTER`.
    pub user_filter: String,
    /// The attribute holding the login name: Quay's `LDAP_UID_ATTR`.
    pub uid_attr: String,
    /// The attribute that stays the person's when names change (`entryUUID`; Active
    /// Directory's `objectGUID`, read as hex); an entry without it is known by its DN.
    pub id_attr: String,
    /// Where groups are searched (subtree).
    pub group_base: String,
    /// The groups of a user: `{dn}` and `{uid}` are replaced by the user's DN and name (as
    /// the directory holds it), escaped for a filter, in one pass.
    pub group_filter: String,
    /// The attribute naming a group.
    pub group_name_attr: String,
    /// The longest a connect, or any one operation, may take.
    pub timeout: Duration,
}

/// A bind with this DN answers as a wrong password does, whatever its password: what an
/// unknown user costs, so that no answer's timing tells the two apart.
const NO_SUCH_USER: &str = "cn=direct-oauth no such user";

/// Bind results that refuse the user (RFC 4511 appendix A): the password, the entry, or
/// the account's state. Anything else is the directory's trouble, answered 503.
const REFUSED: [u32; 5] = [
    32, // noSuchObject
    34, // invalidDNSyntax
    48, // inappropriateAuthentication
    49, // invalidCredentials (also a locked account, with most password policies)
    53, // unwillingToPerform (a disabled account, on some servers)
];

pub struct LdapDirectory<P> {
    settings: LdapSettings,
    tls: Arc<rustls::ClientConfig>,
    password: P,
    searcher: Mutex<Option<Ldap>>,
    binder: Mutex<Option<Ldap>>,
}

impl<P: BindPassword> LdapDirectory<P> {
    /// Nothing is connected yet: the first login connects (a cold start pays no round
    /// trip to a directory it may never need).
    pub fn new(settings: LdapSettings, password: P) -> Result<Self, DirectoryError> {
        let tls = tls::client_config(settings.ca_pem.as_deref())?;
        if settings.url.starts_with("ldap://") && !settings.starttls {
            // Allowed only by DIRECT_OAUTH_LDAP_ALLOW_PLAINTEXT (config refuses it else).
            warn!(
                url = %settings.url,
                "the directory is reached without TLS: passwords and group answers cross the \
                 network in clear"
            );
        }
        Ok(LdapDirectory {
            settings,
            tls,
            password,
            searcher: Mutex::new(None),
            binder: Mutex::new(None),
        })
    }

    async fn connect(&self) -> Result<Ldap, DirectoryError> {
        let s = &self.settings;
        let settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.starttls)
            .set_config(self.tls.clone());
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &s.url)
            .await
            .map_err(down)?;
        ldap3::drive!(conn);
        Ok(ldap)
    }

    /// A connection bound as the service account. A refused bind asks the password's
    /// source again once: the secret may have been rotated since the cold start.
    async fn service_connection(&self) -> Result<Ldap, DirectoryError> {
        let mut ldap = self.connect().await?;
        for fresh in [false, true] {
            let secret = self.password.get(fresh).await?;
            let result = ldap
                .with_timeout(self.settings.timeout)
                .simple_bind(&self.settings.bind_dn, &secret)
                .await
                .map_err(down)?;
            if result.rc == 0 {
                return Ok(ldap);
            }
            warn!(
                rc = result.rc,
                "the directory refused the service account's bind"
            );
        }
        Err(DirectoryError::Misconfigured(
            "the service account's bind was refused".into(),
        ))
    }

    /// The user's entry: `None` for no entry, or more than one (a name must mean one
    /// person).
    async fn find_user(&self, typed: &str) -> Result<Option<Entry>, DirectoryError> {
        let s = &self.settings;
        let filter = format!(
            "(&{}({}={}))",
            s.user_filter,
            s.uid_attr,
            ldap_escape(typed)
        );
        let attrs = vec![s.uid_attr.as_str(), s.id_attr.as_str()];
        let entries = self
            .search(&s.user_base, Scope::Subtree, &filter, attrs)
            .await?;
        match <[SearchEntry; 1]>::try_from(entries) {
            Ok([entry]) => Entry::read(entry, s).map(Some),
            Err(entries) if entries.is_empty() => Ok(None),
            Err(entries) => {
                warn!(
                    entries = entries.len(),
                    "the user filter matches more than one entry for a name; refused"
                );
                Ok(None)
            }
        }
    }

    /// The names of the user's groups.
    async fn groups_of(&self, entry: &Entry) -> Result<BTreeSet<String>, DirectoryError> {
        let s = &self.settings;
        let filter = group_filter(&s.group_filter, &entry.dn, &entry.identity.username);
        let attr = s.group_name_attr.as_str();
        let entries = self
            .search(&s.group_base, Scope::Subtree, &filter, vec![attr])
            .await?;
        Ok(entries
            .into_iter()
            .flat_map(|mut e| take(&mut e, attr))
            .collect())
    }

    /// Where the entry whose id (or, for an entry known by its DN, whose DN) is `id`
    /// stands: gone when no entry matches the user filter any more, locked when an
    /// administrator locked it (ppolicy's `pwdAccountLockedTime` of `000001010000Z`) or
    /// disabled it (Active Directory's `userAccountControl` flag 2, `nsAccountLock`). A
    /// lockout by failed binds is not offboarding: anyone can cause one, and it ends.
    async fn find_by_id(&self, id: &str) -> Result<Standing, DirectoryError> {
        let s = &self.settings;
        let attrs = vec![LOCKED_TIME, ACCOUNT_CONTROL, ACCOUNT_LOCK];
        let entries = match id.strip_prefix(DN_ID) {
            Some(dn) => self.search(dn, Scope::Base, &s.user_filter, attrs).await?,
            None => {
                let value = if is_binary_id(&s.id_attr) {
                    binary_value(id)
                } else {
                    ldap_escape(id).into_owned()
                };
                let filter = format!("(&{}({}={value}))", s.user_filter, s.id_attr);
                self.search(&s.user_base, Scope::Subtree, &filter, attrs)
                    .await?
            }
        };
        let Ok([mut entry]) = <[SearchEntry; 1]>::try_from(entries) else {
            return Ok(Standing::Gone);
        };
        let control = take(&mut entry, ACCOUNT_CONTROL);
        let disabled = control
            .first()
            .and_then(|v| v.parse::<u32>().ok())
            .is_some_and(|flags| flags & 2 != 0);
        let locked = take(&mut entry, LOCKED_TIME)
            .iter()
            .any(|t| t == ADMIN_LOCK)
            || take(&mut entry, ACCOUNT_LOCK)
                .first()
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(if disabled || locked {
            Standing::Locked
        } else {
            Standing::Active
        })
    }

    /// A search on the service connection, made again once if it was broken.
    async fn search(
        &self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: Vec<&str>,
    ) -> Result<Vec<SearchEntry>, DirectoryError> {
        let mut held = self.searcher.lock().await;
        for last in [false, true] {
            let mut ldap = match still_open(held.take()) {
                Some(ldap) => ldap,
                None => self.service_connection().await?,
            };
            let answer = ldap
                .with_timeout(self.settings.timeout)
                .search(base, scope, filter, attrs.clone())
                .await;
            match answer {
                Ok(result) => {
                    *held = Some(ldap);
                    // An entry looked up by its DN that is gone: nothing found. A base
                    // the configuration names that is missing stays the operator's.
                    if scope == Scope::Base && result.1.rc == NO_SUCH_OBJECT {
                        return Ok(Vec::new());
                    }
                    let (entries, result) = result.non_error().map_err(misconfigured)?;
                    if result.rc != 0 {
                        return Err(DirectoryError::Misconfigured(format!(
                            "search answered {}",
                            result.rc
                        )));
                    }
                    return Ok(entries.into_iter().map(SearchEntry::construct).collect());
                }
                Err(e) if last => return Err(down(e)),
                Err(e) => warn!(error = %e, "the directory's connection broke; connecting again"),
            }
        }
        unreachable!("the second attempt always returns")
    }

    /// Whether `password` is `dn`'s, on the binds' connection, made again once if broken.
    async fn bind_as(&self, dn: &str, password: &str) -> Result<bool, DirectoryError> {
        let mut held = self.binder.lock().await;
        for last in [false, true] {
            let mut ldap = match still_open(held.take()) {
                Some(ldap) => ldap,
                None => self.connect().await?,
            };
            match ldap
                .with_timeout(self.settings.timeout)
                .simple_bind(dn, password)
                .await
            {
                Ok(result) => {
                    *held = Some(ldap);
                    return match result.rc {
                        0 => Ok(true),
                        rc if REFUSED.contains(&rc) => Ok(false),
                        rc => Err(DirectoryError::Misconfigured(format!("bind answered {rc}"))),
                    };
                }
                Err(e) if last => return Err(down(e)),
                Err(e) => warn!(error = %e, "the directory's connection broke; connecting again"),
            }
        }
        unreachable!("the second attempt always returns")
    }
}

impl<P: BindPassword> Directory for LdapDirectory<P> {
    fn kind(&self) -> &'static str {
        "ldap"
    }

    async fn standing(&self, id: &str, budget: Duration) -> Result<Standing, DirectoryError> {
        within(budget, self.find_by_id(id)).await
    }

    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        budget: Duration,
    ) -> Result<Verdict, DirectoryError> {
        within(budget, async {
            if password.is_empty() {
                return Ok(Verdict::Refused);
            }
            let Some(entry) = self.find_user(username).await? else {
                let dummy = format!("{NO_SUCH_USER},{}", self.settings.user_base);
                self.bind_as(&dummy, password).await?;
                return Ok(Verdict::Refused);
            };
            // The groups are searched beside the bind, on the other connection: a right
            // password costs no round trip more than a wrong one, so the flow can refuse a
            // disabled user as fast as any other failure.
            let (bound, groups) =
                tokio::join!(self.bind_as(&entry.dn, password), self.groups_of(&entry));
            if !bound? {
                return Ok(Verdict::Refused);
            }
            Ok(Verdict::Accepted {
                groups: groups?,
                identity: entry.identity,
            })
        })
        .await
    }
}

/// A kept connection whose driver still runs (the server may have closed it meanwhile).
fn still_open(kept: Option<Ldap>) -> Option<Ldap> {
    kept.and_then(|mut ldap| (!ldap.is_closed()).then_some(ldap))
}

fn down(e: LdapError) -> DirectoryError {
    match e {
        LdapError::Timeout { .. } => DirectoryError::Unreachable("timed out".into()),
        e => DirectoryError::Unreachable(e.to_string()),
    }
}

fn misconfigured(e: LdapError) -> DirectoryError {
    DirectoryError::Misconfigured(e.to_string())
}
