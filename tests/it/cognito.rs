//! The Cognito directory against moto's `cognito-idp` (it implements `AdminInitiateAuth`
//! with `ADMIN_USER_PASSWORD_AUTH`): the contract, and the accounts a pool refuses.

use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::ExplicitAuthFlowsType;
use direct_oauth::directory::cognito::{CognitoDirectory, CognitoSettings};
use direct_oauth::directory::{Directory, DirectoryError, Standing, Verdict};

use crate::directory_contract::{self, BUDGET, People};
use crate::moto;

/// A fresh pool with an app client that allows the flow, and the client.
async fn pool() -> Option<(Client, CognitoSettings)> {
    let sdk = moto::moto().await?;
    let client = direct_oauth::aws::cognito(&sdk, &Default::default());
    let pool = client
        .create_user_pool()
        .pool_name(moto::unique_name("pool-"))
        .send()
        .await
        .unwrap();
    let user_pool_id = pool.user_pool().unwrap().id().unwrap().to_string();
    let app = client
        .create_user_pool_client()
        .user_pool_id(&user_pool_id)
        .client_name("direct-oauth")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .send()
        .await
        .unwrap();
    let client_id = app
        .user_pool_client()
        .unwrap()
        .client_id()
        .unwrap()
        .to_string();
    let settings = CognitoSettings {
        user_pool_id,
        client_id,
    };
    Some((client, settings))
}

/// A confirmed user with a permanent password, in `groups`.
async fn user(c: &Client, s: &CognitoSettings, name: &str, password: &str, groups: &[&str]) {
    let pool = &s.user_pool_id;
    c.admin_create_user()
        .user_pool_id(pool)
        .username(name)
        .send()
        .await
        .unwrap();
    c.admin_set_user_password()
        .user_pool_id(pool)
        .username(name)
        .password(password)
        .permanent(true)
        .send()
        .await
        .unwrap();
    for group in groups {
        // The group may exist already (another user's).
        let _ = c
            .create_group()
            .user_pool_id(pool)
            .group_name(*group)
            .send()
            .await;
        c.admin_add_user_to_group()
            .user_pool_id(pool)
            .username(name)
            .group_name(*group)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_cognito_directory_holds_the_contract() {
    let Some((c, s)) = pool().await else { return };
    user(&c, &s, "dana", "Dana-password-1", &["ci", "quay-admins"]).await;
    user(&c, &s, "erin", "Erin-password-1", &[]).await;
    let people = People {
        ignores_case: false,
        member: ("dana".into(), "Dana-password-1".into()),
        member_groups: directory_contract::groups(&["ci", "quay-admins"]),
        removable: ("erin".into(), "Erin-password-1".into()),
    };
    let d = CognitoDirectory::new(c.clone(), s.clone());
    directory_contract::holds(&d, &people, async |name| {
        let pool = &s.user_pool_id;
        c.admin_delete_user()
            .user_pool_id(pool)
            .username(name)
            .send()
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_disabled_user_and_one_owing_a_new_password_are_refused() {
    let Some((c, s)) = pool().await else { return };
    let pool_id = s.user_pool_id.clone();
    user(&c, &s, "frank", "Frank-password-1", &[]).await;
    c.admin_disable_user()
        .user_pool_id(&pool_id)
        .username("frank")
        .send()
        .await
        .unwrap();
    // Created with a temporary password only: Cognito asks for a new one first.
    c.admin_create_user()
        .user_pool_id(&pool_id)
        .username("gina")
        .temporary_password("Gina-temporary-1")
        .send()
        .await
        .unwrap();
    let d = CognitoDirectory::new(c, s);
    for (name, password) in [("frank", "Frank-password-1"), ("gina", "Gina-temporary-1")] {
        let verdict = d.authenticate(name, password, BUDGET).await;
        assert_eq!(verdict, Ok(Verdict::Refused), "{name}");
    }
}

#[tokio::test]
async fn a_missing_pool_is_the_operators_and_no_answer_is_an_outage() {
    let Some((c, s)) = pool().await else { return };
    let missing = CognitoSettings {
        client_id: "no-such-client".into(),
        ..s
    };
    let err = CognitoDirectory::new(c, missing)
        .authenticate("dana", "Dana-password-1", BUDGET)
        .await;
    assert!(
        matches!(err, Err(DirectoryError::Misconfigured(_))),
        "{err:?}"
    );
    let sdk = moto::moto().await.unwrap();
    let closed = aws_sdk_cognitoidentityprovider::config::Builder::from(&sdk)
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let settings = CognitoSettings {
        user_pool_id: "us-east-1_none".into(),
        client_id: "none".into(),
    };
    let down = CognitoDirectory::new(Client::from_conf(closed), settings);
    let err = down.authenticate("dana", "Dana-password-1", BUDGET).await;
    assert!(
        matches!(err, Err(DirectoryError::Unreachable(_))),
        "{err:?}"
    );
}

/// Answers every request as Cognito answers `AdminInitiateAuth` when the app client does
/// not allow `ADMIN_USER_PASSWORD_AUTH` (moto does not check a client's flows): a 400
/// `InvalidParameterException`. Returns the proxy's URL.
fn flow_not_enabled_proxy() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = r#"{"__type":"InvalidParameterException","message":"Auth flow not enabled for this client"}"#;
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 400 Bad Request\r\nx-amzn-errortype: InvalidParameterException\r\n\
                 content-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

#[tokio::test]
async fn an_app_client_without_the_flow_is_the_operator_s_trouble_not_a_wrong_password() {
    let Some(sdk) = moto::moto().await else {
        return;
    };
    let conf = aws_sdk_cognitoidentityprovider::config::Builder::from(&sdk)
        .endpoint_url(flow_not_enabled_proxy())
        .build();
    let settings = CognitoSettings {
        user_pool_id: "us-east-1_pool".into(),
        client_id: "no-admin-flow".into(),
    };
    let d = CognitoDirectory::new(Client::from_conf(conf), settings);
    let verdict = d.authenticate("dana", "Dana-password-1", BUDGET).await;
    assert!(
        matches!(verdict, Err(DirectoryError::Misconfigured(_))),
        "503 and nothing counted, never a refusal: {verdict:?}"
    );
}

#[tokio::test]
async fn a_person_is_found_by_sub_and_known_disabled_or_gone() {
    let Some((c, s)) = pool().await else { return };
    user(&c, &s, "hugo", "Hugo-password-1", &[]).await;
    let d = CognitoDirectory::new(c.clone(), s.clone());
    let Ok(Verdict::Accepted { identity, .. }) =
        d.authenticate("hugo", "Hugo-password-1", BUDGET).await
    else {
        panic!("hugo signs in");
    };
    assert_eq!(identity.username, "hugo");
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Active));
    let pool_id = &s.user_pool_id;
    c.admin_disable_user()
        .user_pool_id(pool_id)
        .username("hugo")
        .send()
        .await
        .unwrap();
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Locked));
    c.admin_delete_user()
        .user_pool_id(pool_id)
        .username("hugo")
        .send()
        .await
        .unwrap();
    assert_eq!(d.standing(&identity.id, BUDGET).await, Ok(Standing::Gone));
    assert_eq!(d.standing("not\"a sub", BUDGET).await, Ok(Standing::Gone));
}
