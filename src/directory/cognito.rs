//! A Cognito user pool: `AdminInitiateAuth` with `ADMIN_USER_PASSWORD_AUTH` checks the
//! password; the ID token it returns names the user's groups (`cognito:groups`). The
//! token came straight from Cognito over the SDK's TLS connection, so its payload is read
//! without checking its signature, and it is never kept or passed on.
//!
//! The pool's app client must allow `ALLOW_ADMIN_USER_PASSWORD_AUTH` and have no client
//! secret (a secret would need a `SECRET_HASH` per call, and buys nothing to a caller that
//! holds IAM credentials).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tracing::info;

use super::{Directory, DirectoryError, Identity, Standing, Verdict, within};

/// The pool and the app client (`DIRECT_OAUTH_COGNITO_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CognitoSettings {
    pub user_pool_id: String,
    pub client_id: String,
}

pub struct CognitoDirectory {
    client: Client,
    settings: CognitoSettings,
}

/// Errors that refuse the user: a wrong password, an unknown user (also when the pool
/// hides which), a disabled, unconfirmed or reset-pending account. Throttling, Cognito's
/// own faults and the network are its trouble (503); anything else is the operator's
/// (503 too, nothing counted): a missing pool or client (`ResourceNotFoundException`),
/// and the `InvalidParameterException` Cognito answers when the app client does not
/// allow `ADMIN_USER_PASSWORD_AUTH` ([`names_a_bad_username`] tells it from one about
/// the name, which most names Cognito could not take never get: [`takes_name`]).
const REFUSED: [&str; 4] = [
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
];
const PASSING: [&str; 4] = [
    "TooManyRequestsException",
    "ThrottlingException",
    "InternalErrorException",
    "LimitExceededException",
];

impl CognitoDirectory {
    pub fn new(client: Client, settings: CognitoSettings) -> Self {
        CognitoDirectory { client, settings }
    }
}

/// `InvalidParameterException` is the operator's when it is about the auth flow ("Auth
/// flow not enabled for this client"); about the name (a character [`takes_name`] let
/// through and Cognito's pattern does not) it refuses that login as any unknown name is.
fn names_a_bad_username(code: &str, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    code == "InvalidParameterException" && !message.contains("flow")
}

/// Whether Cognito's `USERNAME` constraint takes the name (1-128 characters of letters,
/// marks, symbols, numbers and punctuation: `[\p{L}\p{M}\p{S}\p{N}\p{P}]+`), so that
/// a name it would answer `InvalidParameterException` for is refused here instead.
fn takes_name(username: &str) -> bool {
    let count = username.chars().count();
    (1..=128).contains(&count)
        && username
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '\u{feff}')
}

impl Directory for CognitoDirectory {
    fn kind(&self) -> &'static str {
        "cognito"
    }

    async fn standing(&self, id: &str, budget: Duration) -> Result<Standing, DirectoryError> {
        within(budget, self.find_by_sub(id)).await
    }

    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        budget: Duration,
    ) -> Result<Verdict, DirectoryError> {
        // Surrounding spaces are no part of a Cognito name: the pool would refuse them.
        let username = username.trim();
        if password.is_empty() || !takes_name(username) {
            return Ok(Verdict::Refused);
        }
        let call = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.settings.user_pool_id)
            .client_id(&self.settings.client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send();
        let answer = within(budget, async { Ok(call.await) }).await?;
        match answer {
            Ok(out) => match out.authentication_result() {
                Some(result) => {
                    let claims = claims(result.id_token())?;
                    Ok(Verdict::Accepted {
                        identity: identity(&claims)?,
                        groups: groups(&claims),
                    })
                }
                None => {
                    // A new password or a second factor is due: nothing a direct approval
                    // can answer, so the login is refused until the user has signed in.
                    let challenge = out.challenge_name().map(|c| c.as_str().to_string());
                    info!(challenge, "the user pool asks a challenge; refused");
                    Ok(Verdict::Refused)
                }
            },
            Err(e) => {
                let code = e.code().unwrap_or_default();
                if REFUSED.contains(&code) || names_a_bad_username(code, e.message()) {
                    Ok(Verdict::Refused)
                } else if e.as_service_error().is_none() || PASSING.contains(&code) {
                    Err(DirectoryError::Unreachable(
                        DisplayErrorContext(&e).to_string(),
                    ))
                } else {
                    Err(DirectoryError::Misconfigured(
                        DisplayErrorContext(&e).to_string(),
                    ))
                }
            }
        }
    }
}

impl CognitoDirectory {
    /// `ListUsers` by `sub`: no user is gone; a disabled one is locked.
    async fn find_by_sub(&self, sub: &str) -> Result<Standing, DirectoryError> {
        // A sub is a UUID; anything else could not be one of ours.
        if !sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Ok(Standing::Gone);
        }
        let answer = self
            .client
            .list_users()
            .user_pool_id(&self.settings.user_pool_id)
            .filter(format!("sub = \"{sub}\""))
            .limit(1)
            .send()
            .await
            .map_err(|e| DirectoryError::Unreachable(DisplayErrorContext(&e).to_string()))?;
        Ok(match answer.users().first() {
            None => Standing::Gone,
            Some(user) if !user.enabled() => Standing::Locked,
            Some(_) => Standing::Active,
        })
    }
}

/// The ID token's claims. Cognito always returns one with a password login; without it
/// the answer is not one the adapter can read.
fn claims(id_token: Option<&str>) -> Result<serde_json::Value, DirectoryError> {
    let unreadable =
        || DirectoryError::Misconfigured("the user pool's ID token is unreadable".into());
    let token = id_token.ok_or_else(unreadable)?;
    let payload = token.split('.').nth(1).ok_or_else(unreadable)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| unreadable())?;
    serde_json::from_slice(&bytes).map_err(|_| unreadable())
}

/// Who the pool says the user is: `cognito:username` (the pool's own name for the user,
/// whether the login named it, an alias or an email) and `sub`, which never changes.
fn identity(claims: &serde_json::Value) -> Result<Identity, DirectoryError> {
    let claim = |name: &str| {
        claims[name].as_str().map(str::to_string).ok_or_else(|| {
            DirectoryError::Misconfigured(format!("the user pool's ID token has no {name}"))
        })
    };
    Ok(Identity {
        username: claim("cognito:username")?,
        id: claim("sub")?,
    })
}

/// The `cognito:groups` claim; none without it.
fn groups(claims: &serde_json::Value) -> BTreeSet<String> {
    let names = claims["cognito:groups"].as_array();
    names
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(claims: serde_json::Value) -> String {
        let part = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.sig",
            part(&serde_json::json!({"alg": "RS256"})),
            part(&claims)
        )
    }

    #[test]
    fn the_identity_and_groups_are_the_id_token_s_claims() {
        let t = token(serde_json::json!({
            "cognito:groups": ["ci", "quay-admins"],
            "cognito:username": "Felix",
            "sub": "0b6c-42",
        }));
        let c = claims(Some(&t)).unwrap();
        let want: BTreeSet<String> = ["ci".to_string(), "quay-admins".to_string()].into();
        assert_eq!(groups(&c), want);
        assert_eq!(
            identity(&c).unwrap(),
            Identity {
                username: "Felix".into(),
                id: "0b6c-42".into()
            }
        );
        let bare = claims(Some(&token(serde_json::json!({})))).unwrap();
        assert!(groups(&bare).is_empty());
        assert!(identity(&bare).is_err(), "no name, no login");
        assert!(claims(None).is_err());
        assert!(claims(Some("not a token")).is_err());
    }

    #[test]
    fn an_invalid_parameter_is_the_operator_s_only_about_the_flow() {
        let flow = Some("Auth flow not enabled for this client");
        assert!(!names_a_bad_username("InvalidParameterException", flow));
        let name = Some("1 validation error detected: Value at 'username' failed");
        assert!(names_a_bad_username("InvalidParameterException", name));
        assert!(!names_a_bad_username("NotAuthorizedException", name));
    }

    #[test]
    fn names_cognito_would_refuse_never_reach_it() {
        assert!(takes_name("felix"));
        assert!(takes_name("felix@example.org"));
        assert!(takes_name("zo\u{eb}"));
        for bad in ["", "fe lix", "tab\t", &"x".repeat(129)] {
            assert!(!takes_name(bad), "{bad:?}");
        }
    }
}
