//! Device authorizations, in the codes table beside the authorization codes (each kind
//! under its own key prefix, so no key of one is a key of another; the TTL removes them):
//!
//! - `device:<hex SHA-256 of the device code>`: the authorization;
//! - `user_code:<user code>`: which authorization a user code names, written with it in
//!   one transaction, so a user code names one live authorization at a time;
//! - `user_code_misses:<username>`: the wrong user codes a person entered in the window.
//!
//! A poll in time is a conditional `UpdateItem` on the next poll's moment as read: of
//! polls at once on many instances, one is in time and the others are told to slow down.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};

use super::item::{Item, ItemExt, attr, n};
use super::token_write::Refused;
use super::{DynamoStore, conditional, unavailable};
use crate::device::{Decision, MISS_WINDOW, SLOW_DOWN_STEP};
use crate::secret::hex;
use crate::store::{DeviceAuthorization, DeviceStore, Poll, StoreError};

fn device_key(hash: &[u8; 32]) -> String {
    format!("device:{}", hex(hash))
}

fn user_code_key(code: &str) -> String {
    format!("user_code:{code}")
}

fn misses_key(username: &str) -> String {
    format!("user_code_misses:{username}")
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn device_item(d: &DeviceAuthorization) -> Item {
    let mut item = HashMap::from([
        (attr::CODE_SHA256.into(), s(&device_key(&d.device_hash))),
        (attr::USER_CODE.into(), s(&d.user_code)),
        (attr::CLIENT_ID.into(), s(&d.client_id)),
        (
            attr::SCOPES.into(),
            AttributeValue::L(d.scopes.iter().map(|v| s(v)).collect()),
        ),
        (attr::REQUESTED_FROM.into(), s(&d.requested_from)),
        (attr::USER_AGENT.into(), s(&d.user_agent)),
        (attr::CREATED_AT.into(), n(d.created_at)),
        (attr::EXPIRES_AT.into(), n(d.expires_at)),
        (attr::INTERVAL_SECS.into(), n(d.interval_secs)),
        (attr::NEXT_POLL_MS.into(), n(d.next_poll_ms)),
    ]);
    item.extend(decision_values(d.decision.as_ref()));
    if let Some(id) = &d.token_id {
        item.insert(attr::TOKEN_ID.into(), s(id));
    }
    item
}

/// The attributes a decision is stored as.
fn decision_values(decision: Option<&Decision>) -> Item {
    match decision {
        None => Item::new(),
        Some(Decision::Denied) => HashMap::from([(attr::DECISION.into(), s("denied"))]),
        Some(Decision::Approved {
            username,
            user_generation,
            client_epoch,
        }) => HashMap::from([
            (attr::DECISION.into(), s("approved")),
            (attr::USERNAME.into(), s(username)),
            (attr::USER_GENERATION.into(), n(*user_generation)),
            (attr::CLIENT_EPOCH.into(), n(*client_epoch)),
        ]),
    }
}

fn device_from(i: &Item, device_hash: [u8; 32]) -> Result<DeviceAuthorization, StoreError> {
    let decision = match i.s(attr::DECISION).ok().as_deref() {
        None => None,
        Some("denied") => Some(Decision::Denied),
        Some(_) => Some(Decision::Approved {
            username: i.s(attr::USERNAME)?,
            user_generation: i.num(attr::USER_GENERATION)?,
            client_epoch: i.num(attr::CLIENT_EPOCH)?,
        }),
    };
    Ok(DeviceAuthorization {
        device_hash,
        user_code: i.s(attr::USER_CODE)?,
        client_id: i.s(attr::CLIENT_ID)?,
        scopes: i.strings(attr::SCOPES)?.unwrap_or_default(),
        requested_from: i.s(attr::REQUESTED_FROM).unwrap_or_default(),
        user_agent: i.s(attr::USER_AGENT).unwrap_or_default(),
        created_at: i.num(attr::CREATED_AT)?,
        expires_at: i.num(attr::EXPIRES_AT)?,
        interval_secs: i.num(attr::INTERVAL_SECS)?,
        next_poll_ms: i.num(attr::NEXT_POLL_MS)?,
        decision,
        token_id: i.s(attr::TOKEN_ID).ok(),
    })
}

impl DynamoStore {
    async fn device(&self, hash: &[u8; 32]) -> Result<Option<DeviceAuthorization>, StoreError> {
        let key = device_key(hash);
        let item = self.get_item(&self.tables.codes, attr::CODE_SHA256, &key);
        item.await?.map(|i| device_from(&i, *hash)).transpose()
    }
}

impl DeviceStore for DynamoStore {
    async fn put_device(&self, d: &DeviceAuthorization) -> Result<(), StoreError> {
        let table = &self.tables.codes;
        let device = Put::builder()
            .table_name(table)
            .set_item(Some(device_item(d)))
            .condition_expression("attribute_not_exists(code_sha256)");
        // A user code's item whose authorization expired may linger until the TTL runs.
        let user_code = Put::builder()
            .table_name(table)
            .set_item(Some(HashMap::from([
                (attr::CODE_SHA256.into(), s(&user_code_key(&d.user_code))),
                (
                    attr::DEVICE_SHA256.into(),
                    AttributeValue::B(Blob::new(d.device_hash.to_vec())),
                ),
                (attr::EXPIRES_AT.into(), n(d.expires_at)),
            ])))
            .condition_expression("attribute_not_exists(code_sha256) OR expires_at <= :now")
            .expression_attribute_values(":now", n(d.created_at));
        let items = vec![
            TransactWriteItem::builder()
                .put(device.build().map_err(unavailable)?)
                .build(),
            TransactWriteItem::builder()
                .put(user_code.build().map_err(unavailable)?)
                .build(),
        ];
        match self.transact(items, &hex(&d.device_hash)).await {
            Ok(()) => Ok(()),
            Err(Refused::Part(_)) => Err(StoreError::Conflict),
            Err(Refused::Other(e)) => Err(e),
        }
    }

    async fn device_by_user_code(
        &self,
        user_code: &str,
        now_secs: u64,
    ) -> Result<Option<DeviceAuthorization>, StoreError> {
        let key = user_code_key(user_code);
        let Some(item) = self
            .get_item(&self.tables.codes, attr::CODE_SHA256, &key)
            .await?
        else {
            return Ok(None);
        };
        let hash = item.sha256(attr::DEVICE_SHA256)?;
        let Some(hash) = hash.filter(|_| item.num(attr::EXPIRES_AT).is_ok_and(|e| e > now_secs))
        else {
            return Ok(None);
        };
        let device = self.device(&hash).await?;
        Ok(device.filter(|d| d.user_code == user_code && d.expires_at > now_secs))
    }

    async fn decide_device(
        &self,
        device_hash: &[u8; 32],
        decision: &Decision,
        now_secs: u64,
    ) -> Result<bool, StoreError> {
        let values = decision_values(Some(decision));
        let names: Vec<&String> = values.keys().collect();
        let set = names
            .iter()
            .map(|k| format!("{k} = :{k}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut pairs: Vec<(String, AttributeValue)> = values
            .iter()
            .map(|(k, v)| (format!(":{k}"), v.clone()))
            .collect();
        pairs.push((":now".into(), n(now_secs)));
        let key = device_key(device_hash);
        self.update_if(
            &self.tables.codes,
            (attr::CODE_SHA256, &key),
            &format!("SET {set}"),
            "attribute_exists(code_sha256) AND attribute_not_exists(decision) AND expires_at > :now",
            pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(),
        )
        .await
    }

    async fn poll_device(
        &self,
        device_hash: &[u8; 32],
        client_id: &str,
        now_ms: u64,
    ) -> Result<Poll, StoreError> {
        let Some(d) = self
            .device(device_hash)
            .await?
            .filter(|d| d.client_id == client_id)
        else {
            return Ok(Poll::Unknown);
        };
        let key = device_key(device_hash);
        if d.next_poll_ms <= now_ms {
            let next = now_ms + d.interval_secs * 1000;
            let in_time = self.update_if(
                &self.tables.codes,
                (attr::CODE_SHA256, &key),
                "SET next_poll_ms = :next",
                "next_poll_ms = :seen",
                vec![(":next", n(next)), (":seen", n(d.next_poll_ms))],
            );
            if in_time.await? {
                return Ok(Poll::InTime(DeviceAuthorization {
                    next_poll_ms: next,
                    ..d
                }));
            }
        }
        // Too soon, or another poll was in time first: the interval grows. Only on the
        // item read (the TTL may have removed it since), never on a new one.
        let interval = d.interval_secs + SLOW_DOWN_STEP.as_secs();
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .set_key(Some(Self::key(attr::CODE_SHA256, &key)))
            .update_expression("SET interval_secs = interval_secs + :step, next_poll_ms = :next")
            .condition_expression("attribute_exists(code_sha256)")
            .expression_attribute_values(":step", n(SLOW_DOWN_STEP.as_secs()))
            .expression_attribute_values(":next", n(now_ms + interval * 1000))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match out {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                Ok(Poll::TooSoon(device_from(&item, *device_hash)?))
            }
            Err(e) if super::condition_failed(&e) => Ok(Poll::Unknown),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn redeem_device(
        &self,
        device_hash: &[u8; 32],
        token_id: &str,
    ) -> Result<bool, StoreError> {
        let key = device_key(device_hash);
        self.update_if(
            &self.tables.codes,
            (attr::CODE_SHA256, &key),
            "SET token_id = :token",
            "decision = :approved AND attribute_not_exists(token_id)",
            vec![(":token", s(token_id)), (":approved", s("approved"))],
        )
        .await
    }

    async fn note_wrong_user_code(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        let key = misses_key(username);
        for _ in 0..2 {
            let counted = self
                .client
                .update_item()
                .table_name(&self.tables.codes)
                .set_key(Some(Self::key(attr::CODE_SHA256, &key)))
                .update_expression("ADD misses :one")
                .condition_expression("expires_at > :now")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_secs))
                .return_values(ReturnValue::UpdatedNew)
                .send()
                .await;
            match counted {
                Ok(out) => return Ok(out.attributes.unwrap_or_default().num("misses")? as u32),
                Err(e) if !super::condition_failed(&e) => return Err(unavailable(e)),
                Err(_) => {}
            }
            // No window open: this miss opens one (unless another did meanwhile).
            let window = HashMap::from([
                (attr::CODE_SHA256.into(), s(&key)),
                ("misses".into(), n(1)),
                (attr::EXPIRES_AT.into(), n(now_secs + MISS_WINDOW.as_secs())),
            ]);
            let opened = self
                .client
                .put_item()
                .table_name(&self.tables.codes)
                .set_item(Some(window))
                .condition_expression("attribute_not_exists(code_sha256) OR expires_at <= :now")
                .expression_attribute_values(":now", n(now_secs))
                .send()
                .await;
            if conditional(opened.map(|_| ()))? {
                return Ok(1);
            }
        }
        Err(StoreError::Unavailable(
            "the wrong-code count kept changing".into(),
        ))
    }

    async fn wrong_user_codes(&self, username: &str, now_secs: u64) -> Result<u32, StoreError> {
        let key = misses_key(username);
        let item = self.get_item(&self.tables.codes, attr::CODE_SHA256, &key);
        let item = item
            .await?
            .filter(|i| i.num(attr::EXPIRES_AT).is_ok_and(|e| e > now_secs));
        Ok(item.map_or(Ok(0), |i| i.num("misses"))? as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_item_reads_back_as_written() {
        let mut d = DeviceAuthorization {
            device_hash: [7; 32],
            user_code: "BCDFGHJK".into(),
            client_id: "c".into(),
            scopes: vec!["repo:read".into()],
            requested_from: "198.51.100.7".into(),
            user_agent: "tool/1".into(),
            created_at: 10,
            expires_at: 610,
            interval_secs: 5,
            next_poll_ms: 15_000,
            decision: None,
            token_id: None,
        };
        assert_eq!(device_from(&device_item(&d), [7; 32]).unwrap(), d);
        d.decision = Some(Decision::Approved {
            username: "u".into(),
            user_generation: 2,
            client_epoch: 3,
        });
        d.token_id = Some("t".into());
        assert_eq!(device_from(&device_item(&d), [7; 32]).unwrap(), d);
    }
}
