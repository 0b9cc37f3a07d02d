//! Scope strings (contract "Scopes") and the grant decision of check 11.

use std::collections::BTreeSet;

use crate::error::RedirectError;

/// The scope that only superusers may be granted.
pub const SUPERUSER_SCOPE: &str = "super:user";

/// What each of Quay's scopes allows, in the words of its consent page, and whether it is
/// dangerous (administration of more than the user's own things: the consent page asks
/// for an explicit confirmation). Scopes outside this list are shown by their name.
const DESCRIPTIONS: [(&str, &str, bool); 8] = [
    ("repo:read", "View all visible repositories", false),
    (
        "repo:write",
        "Read and write to any accessible repository",
        false,
    ),
    ("repo:admin", "Administer repositories", true),
    ("repo:create", "Create repositories", false),
    ("user:read", "Read your user information", false),
    ("user:admin", "Administer your user account", false),
    ("org:admin", "Administer organizations", true),
    (
        SUPERUSER_SCOPE,
        "Super user access: everything, on behalf of anyone",
        true,
    ),
];

/// A scope as a person reads it: what it allows, and whether it is dangerous.
pub fn describe(scope: &str) -> (&str, bool) {
    DESCRIPTIONS
        .iter()
        .find(|(name, _, _)| *name == scope)
        .map_or((scope, false), |(_, what, dangerous)| (*what, *dangerous))
}

/// Splits a scope string on spaces and commas, skipping empty pieces (Quay accepts both
/// separators; RFC 6749 uses spaces).
pub fn split(raw: &str) -> impl Iterator<Item = &str> {
    raw.split([' ', ',']).filter(|s| !s.is_empty())
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// What a grant decision needs to know about the application and the user.
pub struct ScopePolicy<'a> {
    pub catalogue: &'a BTreeSet<String>,
    pub ceiling: Option<&'a BTreeSet<String>>,
    pub superuser: bool,
}

/// The scopes to grant: exactly the requested ones, deduplicated in request order, or why
/// not. The granted scope never differs from the requested one (contract "Success").
pub fn grant(
    requested: Option<&str>,
    policy: &ScopePolicy<'_>,
) -> Result<Vec<String>, RedirectError> {
    let mut scopes: Vec<String> = Vec::new();
    for piece in split(requested.unwrap_or_default()) {
        if !scopes.iter().any(|s| s == piece) {
            scopes.push(piece.to_string());
        }
    }
    if scopes.is_empty() {
        // RFC 6749 §3.3: without a default scope, a missing scope is invalid_scope.
        return Err(RedirectError::InvalidScope("scope is required".into()));
    }
    if !scopes.iter().all(|s| is_scope_token(s)) {
        return Err(RedirectError::InvalidScope(
            "scope contains characters not allowed in a scope name".into(),
        ));
    }
    if let Some(unknown) = scopes.iter().find(|s| !policy.catalogue.contains(*s)) {
        return Err(RedirectError::InvalidScope(format!(
            "unknown scope {unknown}"
        )));
    }
    if let Some(ceiling) = policy.ceiling
        && let Some(beyond) = scopes.iter().find(|s| !ceiling.contains(*s))
    {
        return Err(RedirectError::InvalidScope(format!(
            "scope {beyond} is not allowed for this application"
        )));
    }
    if !policy.superuser && scopes.iter().any(|s| s == SUPERUSER_SCOPE) {
        return Err(RedirectError::AccessDenied(format!(
            "{SUPERUSER_SCOPE} is only granted to superusers"
        )));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QUAY_SCOPES;

    fn catalogue() -> BTreeSet<String> {
        split(QUAY_SCOPES).map(str::to_string).collect()
    }

    fn grant_for(
        requested: Option<&str>,
        ceiling: Option<&[&str]>,
        superuser: bool,
    ) -> Result<Vec<String>, RedirectError> {
        let cat = catalogue();
        let ceiling: Option<BTreeSet<String>> =
            ceiling.map(|c| c.iter().map(|s| s.to_string()).collect());
        grant(
            requested,
            &ScopePolicy {
                catalogue: &cat,
                ceiling: ceiling.as_ref(),
                superuser,
            },
        )
    }

    #[test]
    fn splits_on_spaces_and_commas_and_collapses_duplicates() {
        let got = grant_for(Some(" repo:write,org:admin  repo:write,,"), None, false).unwrap();
        assert_eq!(got, ["repo:write", "org:admin"]);
    }

    #[test]
    fn missing_or_empty_scope_is_invalid_scope() {
        for s in [None, Some(""), Some(" , ")] {
            assert_eq!(
                grant_for(s, None, false).unwrap_err().code(),
                "invalid_scope"
            );
        }
    }

    #[test]
    fn unknown_scope_is_invalid_scope() {
        // Quay's own example asks for `repo:push`, which is not among its scope names.
        let err = grant_for(Some("repo:push,org:admin"), None, false).unwrap_err();
        assert_eq!(
            err,
            RedirectError::InvalidScope("unknown scope repo:push".into())
        );
    }

    #[test]
    fn characters_outside_the_grammar_are_invalid_scope() {
        for s in ["repo:read\"", "repo\\read", "é", "a\u{7f}"] {
            assert_eq!(
                grant_for(Some(s), None, false).unwrap_err().code(),
                "invalid_scope",
                "{s}"
            );
        }
    }

    #[test]
    fn ceiling_limits_the_application() {
        let ceiling: &[&str] = &["repo:read", "repo:write"];
        assert!(grant_for(Some("repo:read"), Some(ceiling), false).is_ok());
        let err = grant_for(Some("repo:read org:admin"), Some(ceiling), false).unwrap_err();
        assert_eq!(err.code(), "invalid_scope");
    }

    #[test]
    fn super_user_needs_a_superuser() {
        assert_eq!(
            grant_for(Some("super:user"), None, false)
                .unwrap_err()
                .code(),
            "access_denied"
        );
        assert_eq!(
            grant_for(Some("super:user"), None, true).unwrap(),
            ["super:user"]
        );
    }

    #[test]
    fn scope_token_grammar() {
        assert!(is_scope_token("repo:read"));
        assert!(is_scope_token("!#[]~"));
        assert!(!is_scope_token(""));
        assert!(!is_scope_token("a b"));
        assert!(!is_scope_token("\""));
        assert!(!is_scope_token("\\"));
    }
}
