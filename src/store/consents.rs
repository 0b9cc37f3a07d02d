//! The port of remembered consent: what each person granted each application, so the
//! consent page is shown again only when an application asks for more.

use std::collections::BTreeSet;
use std::future::Future;

use super::StoreError;

/// Consent by person and application.
pub trait ConsentStore: Send + Sync {
    /// The scopes `username` granted `client_id` so far (none: never asked).
    fn consent(
        &self,
        username: &str,
        client_id: &str,
    ) -> impl Future<Output = Result<BTreeSet<String>, StoreError>> + Send;

    /// Adds `scopes` to what `username` granted `client_id`, in one write that two
    /// approvals at once cannot undo each other's part of.
    fn remember_consent(
        &self,
        username: &str,
        client_id: &str,
        scopes: &[String],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}
