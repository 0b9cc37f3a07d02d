//! Directory users' local records in memory: linked at the first login, walked and
//! disabled by `user sync`.

use super::MemoryStore;
use crate::store::{DirectoryLink, LinkedUsers, StoreError, User, UserLinker};

impl UserLinker for MemoryStore {
    async fn link_user(
        &self,
        username: &str,
        link: &DirectoryLink,
        since: u64,
    ) -> Result<User, StoreError> {
        self.with(|i| {
            let user = i
                .users
                .entry(username.to_string())
                .or_insert_with(|| User::linked(username, link, since));
            if user.is_unclaimed() {
                user.link = Some(link.clone());
                user.generation += 1;
                user.tokens_from = user.generation;
            }
            Ok(user.clone())
        })
    }
}

impl LinkedUsers for MemoryStore {
    async fn linked_page(
        &self,
        directory: &str,
        after: Option<&str>,
    ) -> Result<(Vec<User>, Option<String>), StoreError> {
        let linked = |u: &User| u.link.as_ref().is_some_and(|l| l.directory == directory);
        Ok(self.page(after, linked))
    }

    async fn unlinked_page(
        &self,
        after: Option<&str>,
    ) -> Result<(Vec<User>, Option<String>), StoreError> {
        Ok(self.page(after, User::is_unclaimed))
    }

    async fn disable_unlinked(&self, username: &str) -> Result<bool, StoreError> {
        self.with(|i| {
            Ok(match i.users.get_mut(username) {
                Some(u) if u.enabled && u.is_unclaimed() => {
                    u.enabled = false;
                    u.generation += 1;
                    true
                }
                _ => false,
            })
        })
    }

    async fn disable_linked(
        &self,
        username: &str,
        link: &DirectoryLink,
    ) -> Result<bool, StoreError> {
        self.with(|i| {
            Ok(match i.users.get_mut(username) {
                Some(u) if u.enabled && u.link.as_ref() == Some(link) => {
                    u.enabled = false;
                    u.generation += 1;
                    true
                }
                _ => false,
            })
        })
    }
}

impl MemoryStore {
    /// A page of the enabled users `keep` takes, in name order, after `after`.
    fn page(
        &self,
        after: Option<&str>,
        keep: impl Fn(&User) -> bool,
    ) -> (Vec<User>, Option<String>) {
        // Pages of two, so the tests walk more than one.
        const PAGE: usize = 2;
        self.with(|i| {
            let mut names: Vec<&String> = i.users.keys().collect();
            names.sort();
            let rest: Vec<&String> = names
                .into_iter()
                .filter(|n| after.is_none_or(|a| n.as_str() > a))
                .collect();
            let page: Vec<&String> = rest.iter().take(PAGE).copied().collect();
            let next = (rest.len() > PAGE).then(|| page[PAGE - 1].clone());
            let users = page
                .into_iter()
                .map(|n| i.users[n].clone())
                .filter(|u| u.enabled && keep(u))
                .collect();
            (users, next)
        })
    }
}
