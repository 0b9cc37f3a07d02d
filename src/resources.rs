//! The one list of what a deployment names: its nine DynamoDB tables, the whitelist's SSM
//! parameter and that parameter's KMS key. Each entry says which variable names it (to the
//! function and the admin CLI), what it is called on the local stack, and which output of
//! template.yaml names it on a deployed one.
//!
//! Everything that needs these names reads them from here rather than typing them again:
//! `config` reads the variables; the admin CLI's `--stack` maps the outputs to them and its
//! `init` creates the tables in this order; `direct-oauth-admin env` prints the list for the
//! shell (`scripts/lib.sh`) and the Python tests; `tests/template` checks that template.yaml
//! has an output and a function variable for each entry, and no table output besides.
//!
//! Adding a table: an entry here (and in [`ALL`]), a field of `config::Tables`, its key in
//! `store::dynamodb::admin`, and in template.yaml the table, its variable and its output.

/// A table or parameter that the function or the admin CLI finds by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// A short name for it, in the words of the code: `users`, `whitelist_parameter`, ...
    pub role: &'static str,
    pub kind: Kind,
    /// The environment variable that holds its name.
    pub variable: &'static str,
    /// Its name on the local stack (`make run`, `make test`); empty: it has none there.
    pub local_name: &'static str,
    /// The template.yaml output that holds its name, which `--stack` reads.
    pub output: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A DynamoDB table.
    Table,
    /// The SSM parameter holding the whitelist.
    Parameter,
    /// The KMS key of a SecureString whitelist. Only a stack with one has the output, and
    /// only the admin CLI reads the variable (it names the key when it writes the list; the
    /// function only reads, and SSM decrypts with the key the value names).
    KmsKey,
}

impl Kind {
    /// The name `direct-oauth-admin env --output json` gives the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Table => "table",
            Kind::Parameter => "parameter",
            Kind::KmsKey => "kms_key",
        }
    }
}

impl Resource {
    /// Only some stacks have it: its output may be absent, and the function does not read it.
    pub fn is_optional(&self) -> bool {
        self.kind == Kind::KmsKey
    }
}

const fn table(
    role: &'static str,
    variable: &'static str,
    local_name: &'static str,
    output: &'static str,
) -> Resource {
    Resource {
        role,
        kind: Kind::Table,
        variable,
        local_name,
        output,
    }
}

pub const USERS: Resource = table(
    "users",
    "DIRECT_OAUTH_USERS_TABLE",
    "direct-oauth-users",
    "UsersTableName",
);
pub const APPLICATIONS: Resource = table(
    "applications",
    "DIRECT_OAUTH_APPLICATIONS_TABLE",
    "direct-oauth-applications",
    "ApplicationsTableName",
);
pub const TOKENS: Resource = table(
    "tokens",
    "DIRECT_OAUTH_TOKENS_TABLE",
    "direct-oauth-tokens",
    "TokensTableName",
);
pub const FAILED_LOGINS: Resource = table(
    "failed_logins",
    "DIRECT_OAUTH_FAILED_LOGINS_TABLE",
    "direct-oauth-failed-logins",
    "FailedLoginsTableName",
);
/// Every token of a user, listed in the same write as the token (see `store::dynamodb`).
pub const USER_TOKENS: Resource = table(
    "user_tokens",
    "DIRECT_OAUTH_USER_TOKENS_TABLE",
    "direct-oauth-user-tokens",
    "UserTokensTableName",
);
/// Authorization codes (hashed), until redeemed or expired.
pub const CODES: Resource = table(
    "codes",
    "DIRECT_OAUTH_CODES_TABLE",
    "direct-oauth-codes",
    "CodesTableName",
);
/// DPoP proofs' replay guard: one item per proof used, until its window is over. Apart
/// from the codes, so the token authorizer, which must record proofs, can write no code.
pub const DPOP_PROOFS: Resource = table(
    "dpop_proofs",
    "DIRECT_OAUTH_DPOP_PROOFS_TABLE",
    "direct-oauth-dpop-proofs",
    "DpopProofsTableName",
);
/// Browser sessions of the sign-in and consent pages (hashed ids), until they end.
pub const SESSIONS: Resource = table(
    "sessions",
    "DIRECT_OAUTH_SESSIONS_TABLE",
    "direct-oauth-sessions",
    "SessionsTableName",
);
/// Refresh token families (hashed), until their absolute lifetime ends.
pub const REFRESH_TOKENS: Resource = table(
    "refresh_tokens",
    "DIRECT_OAUTH_REFRESH_TOKENS_TABLE",
    "direct-oauth-refresh-tokens",
    "RefreshTokensTableName",
);
pub const WHITELIST_PARAMETER: Resource = Resource {
    role: "whitelist_parameter",
    kind: Kind::Parameter,
    variable: "DIRECT_OAUTH_WHITELIST_PARAMETER",
    local_name: "/direct-oauth/client-whitelist",
    output: "WhitelistParameterName",
};
pub const WHITELIST_KMS_KEY: Resource = Resource {
    role: "whitelist_kms_key",
    kind: Kind::KmsKey,
    variable: "DIRECT_OAUTH_WHITELIST_KMS_KEY",
    // The local stack's whitelist is a plain StringList.
    local_name: "",
    output: "WhitelistKmsKeyArn",
};

/// The whole list, tables first.
pub const ALL: [Resource; 11] = [
    USERS,
    APPLICATIONS,
    TOKENS,
    FAILED_LOGINS,
    USER_TOKENS,
    CODES,
    DPOP_PROOFS,
    SESSIONS,
    REFRESH_TOKENS,
    WHITELIST_PARAMETER,
    WHITELIST_KMS_KEY,
];

/// The tables of the list, in its order.
pub fn tables() -> impl Iterator<Item = &'static Resource> {
    ALL.iter().filter(|r| r.kind == Kind::Table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn roles_variables_and_outputs_are_each_named_once() {
        let distinct = |field: fn(&Resource) -> &'static str| {
            ALL.iter().map(field).collect::<HashSet<_>>().len()
        };
        assert_eq!(distinct(|r| r.role), ALL.len());
        assert_eq!(distinct(|r| r.variable), ALL.len());
        assert_eq!(distinct(|r| r.output), ALL.len());
    }

    #[test]
    fn every_entry_is_fully_named() {
        for r in ALL {
            assert!(r.variable.starts_with("DIRECT_OAUTH_"), "{r:?}");
            assert!(!r.output.is_empty(), "{r:?}");
            // Only what the local stack lacks may lack a local name.
            assert_eq!(r.local_name.is_empty(), r.is_optional(), "{r:?}");
        }
        assert_eq!(tables().count(), 9);
        assert!(tables().all(|t| t.output.ends_with("TableName")));
    }
}
