//! `user sync`: access follows the directory. Every enabled local record linked to the
//! deployment's directory is looked up there by the person's immutable id; one whose
//! person is gone or locked is disabled here, in one conditional write, so the
//! authorizer refuses the person's tokens at their next check. A line per change.
//!
//! Paged, so a directory of any size is walked in bounded reads; idempotent (a disabled
//! record is not listed again) and safe to run twice at once (the write is conditional on
//! the record still being enabled and the person's, so one run reports each change). A
//! directory that cannot answer stops the run: nobody is disabled for an outage.

use std::time::Duration;

use thiserror::Error;

use crate::directory::{Directory, DirectoryError, Standing};
use crate::store::{LinkedUsers, StoreError};

/// How long the directory is given for one person.
pub const PER_PERSON: Duration = Duration::from_secs(5);

/// A record disabled now, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub username: String,
    /// The person's id in the directory.
    pub id: String,
    /// `Locked` or `Gone`.
    pub standing: Standing,
}

/// What a run did: how many records it checked, and what it changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub checked: u32,
    pub changes: Vec<Change>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SyncError {
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    #[error("the directory: {0}")]
    Directory(#[from] DirectoryError),
}

/// One run over every enabled record of `directory`'s users.
pub async fn sync<S: LinkedUsers, D: Directory>(
    store: &S,
    directory: &D,
) -> Result<Report, SyncError> {
    let mut report = Report::default();
    let mut after: Option<String> = None;
    loop {
        let (users, next) = store
            .linked_page(directory.kind(), after.as_deref())
            .await?;
        for user in users {
            let Some(link) = &user.link else { continue };
            report.checked += 1;
            let standing = directory.standing(&link.id, PER_PERSON).await?;
            if standing == Standing::Active {
                continue;
            }
            if store.disable_linked(&user.username, link).await? {
                report.changes.push(Change {
                    username: user.username.clone(),
                    id: link.id.clone(),
                    standing,
                });
            }
        }
        match next {
            Some(name) => after = Some(name),
            None => return Ok(report),
        }
    }
}
