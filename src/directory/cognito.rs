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

use super::{Directory, DirectoryError, Verdict, within};

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
/// hides which), a disabled, unconfirmed or reset-pending account, a name Cognito cannot
/// take. Throttling, Cognito's own faults and the network are its trouble (503);
/// anything else is the operator's (a missing pool or client, a flow not allowed).
const REFUSED: [&str; 5] = [
    "NotAuthorizedException",
    "UserNotFoundException",
    "UserNotConfirmedException",
    "PasswordResetRequiredException",
    "InvalidParameterException",
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

impl Directory for CognitoDirectory {
    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        budget: Duration,
    ) -> Result<Verdict, DirectoryError> {
        if password.is_empty() {
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
                Some(result) => Ok(Verdict::Accepted {
                    groups: groups(result.id_token())?,
                }),
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
                if REFUSED.contains(&code) {
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

/// The `cognito:groups` claim of an ID token; none without a token or the claim.
fn groups(id_token: Option<&str>) -> Result<BTreeSet<String>, DirectoryError> {
    let Some(token) = id_token else {
        return Ok(BTreeSet::new());
    };
    let unreadable =
        || DirectoryError::Misconfigured("the user pool's ID token is unreadable".into());
    let payload = token.split('.').nth(1).ok_or_else(unreadable)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| unreadable())?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| unreadable())?;
    let names = claims["cognito:groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    Ok(names
        .iter()
        .filter_map(|g| g.as_str().map(str::to_string))
        .collect())
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
    fn the_groups_are_the_id_token_s_claim() {
        let t = token(serde_json::json!({"cognito:groups": ["ci", "quay-admins"]}));
        let want: BTreeSet<String> = ["ci".to_string(), "quay-admins".to_string()].into();
        assert_eq!(groups(Some(&t)).unwrap(), want);
        assert!(
            groups(Some(&token(serde_json::json!({}))))
                .unwrap()
                .is_empty()
        );
        assert!(groups(None).unwrap().is_empty());
        assert!(groups(Some("not a token")).is_err());
    }
}
