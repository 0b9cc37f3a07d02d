//! Authorization codes: one item per code, keyed by the hex SHA-256 of the code (the code
//! itself is never stored), removed by the table's TTL. Redemption is one conditional
//! `UpdateItem`: of two exchanges of one code, one wins.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::item::{Item, ItemExt, attr, n};
use super::{DynamoStore, TokenCanceller, conditional};
use crate::secret::hex;
use crate::store::{Application, TokenRecord};
use crate::store::{ClientAndToken, CodeClaim, CodeRecord, CodeStore, Redemption, StoreError};

fn code_item(c: &CodeRecord) -> Item {
    let mut item = HashMap::from([
        (
            attr::CODE_SHA256.to_string(),
            AttributeValue::S(hex(&c.code_hash)),
        ),
        (
            attr::CLIENT_ID.to_string(),
            AttributeValue::S(c.client_id.clone()),
        ),
        (
            attr::REDIRECT_URI.to_string(),
            AttributeValue::S(c.redirect_uri.clone()),
        ),
        (
            attr::REDIRECT_URI_GIVEN.to_string(),
            AttributeValue::Bool(c.redirect_uri_given),
        ),
        (
            attr::SCOPES.to_string(),
            AttributeValue::L(c.scopes.iter().cloned().map(AttributeValue::S).collect()),
        ),
        (
            attr::USERNAME.to_string(),
            AttributeValue::S(c.username.clone()),
        ),
        (attr::USER_GENERATION.to_string(), n(c.user_generation)),
        (attr::CLIENT_EPOCH.to_string(), n(c.client_epoch)),
        (
            attr::CODE_CHALLENGE.to_string(),
            AttributeValue::S(c.code_challenge.clone()),
        ),
        (attr::EXPIRES_AT.to_string(), n(c.expires_at)),
    ]);
    if let Some(at) = c.used_at {
        item.insert(attr::USED_AT.to_string(), n(at));
    }
    if let Some(id) = &c.token_id {
        item.insert(attr::TOKEN_ID.to_string(), AttributeValue::S(id.clone()));
    }
    if let Some(jkt) = &c.jkt {
        item.insert(attr::DPOP_JKT.to_string(), AttributeValue::S(jkt.clone()));
    }
    item
}

fn code_from(i: &Item, code_hash: &[u8; 32]) -> Result<CodeRecord, StoreError> {
    Ok(CodeRecord {
        code_hash: *code_hash,
        client_id: i.s(attr::CLIENT_ID)?,
        redirect_uri: i.s(attr::REDIRECT_URI)?,
        redirect_uri_given: i.flag(attr::REDIRECT_URI_GIVEN)?,
        scopes: i.strings(attr::SCOPES)?.unwrap_or_default(),
        username: i.s(attr::USERNAME)?,
        user_generation: i.num(attr::USER_GENERATION)?,
        client_epoch: i.num(attr::CLIENT_EPOCH).unwrap_or(0),
        code_challenge: i.s(attr::CODE_CHALLENGE)?,
        jkt: i.s(attr::DPOP_JKT).ok(),
        expires_at: i.num(attr::EXPIRES_AT)?,
        used_at: i
            .get(attr::USED_AT)
            .map(|_| i.num(attr::USED_AT))
            .transpose()?,
        token_id: i.s(attr::TOKEN_ID).ok(),
    })
}

impl CodeStore for DynamoStore {
    async fn put_code(&self, code: &CodeRecord) -> Result<(), StoreError> {
        self.put_item(
            &self.tables.codes,
            code_item(code),
            Some("attribute_not_exists(code_sha256)"),
        )
        .await
    }

    async fn redeem_code(
        &self,
        claim: &CodeClaim<'_>,
        token_id: &str,
        now_secs: u64,
    ) -> Result<Redemption, StoreError> {
        let key = hex(claim.code_hash);
        // A bound code is redeemed only by its key; an unbound one by any exchange.
        let key_condition = match claim.jkt {
            Some(_) => "(attribute_not_exists(dpop_jkt) OR dpop_jkt = :jkt)",
            None => "attribute_not_exists(dpop_jkt)",
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.tables.codes)
            .set_key(Some(Self::key(attr::CODE_SHA256, &key)))
            .update_expression("SET used_at = :now, token_id = :token")
            .condition_expression(format!(
                "attribute_exists(code_sha256) AND attribute_not_exists(used_at) \
                 AND expires_at > :now AND client_id = :client AND code_challenge = :challenge \
                 AND {key_condition}"
            ))
            .expression_attribute_values(":now", n(now_secs))
            .expression_attribute_values(":token", AttributeValue::S(token_id.into()))
            .expression_attribute_values(":client", AttributeValue::S(claim.client_id.into()))
            .expression_attribute_values(
                ":challenge",
                AttributeValue::S(claim.code_challenge.into()),
            );
        if let Some(jkt) = claim.jkt {
            update = update.expression_attribute_values(":jkt", AttributeValue::S(jkt.into()));
        }
        let result = update
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(out) => out.attributes,
            Err(e) => {
                if conditional(Err(e))? {
                    unreachable!("an error is never a success");
                }
                // Refused by the condition. Only the code's own client and verifier learn
                // more: used by this exchange (an answer lost, the SDK's retry refused) or
                // used before (a replay).
                let found = self
                    .get_item(&self.tables.codes, attr::CODE_SHA256, &key)
                    .await?
                    .map(|i| code_from(&i, claim.code_hash))
                    .transpose()?;
                return Ok(match found {
                    Some(c) if claim.owns(&c) && c.used_at.is_some() => {
                        crate::store::used_code(c, token_id)
                    }
                    _ => Redemption::Refused,
                });
            }
        };
        let old = old.ok_or_else(|| StoreError::Corrupt("redeemed code had no item".into()))?;
        Ok(Redemption::Redeemed(code_from(&old, claim.code_hash)?))
    }
}

impl TokenCanceller for DynamoStore {
    async fn revoke_by_id(
        &self,
        token_id: &str,
        now_secs: u64,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        // No condition: a token not yet written gets a revoked placeholder under its id,
        // which the first exchange's `attribute_not_exists(token_id)` then meets.
        self.client
            .update_item()
            .table_name(&self.tables.tokens)
            .set_key(Some(Self::key(attr::TOKEN_ID, token_id)))
            .update_expression(
                "SET revoked_at = if_not_exists(revoked_at, :now), \
                 expires_at = if_not_exists(expires_at, :exp)",
            )
            .expression_attribute_values(":now", n(now_secs))
            .expression_attribute_values(":exp", n(expires_at))
            .send()
            .await
            .map_err(super::unavailable)?;
        Ok(())
    }
}

impl ClientAndToken for DynamoStore {
    async fn client_and_token(
        &self,
        client_id: &str,
        token_id: &str,
    ) -> Result<(Option<Application>, Option<TokenRecord>), StoreError> {
        let t = &self.tables;
        let wanted = HashMap::from([
            (
                t.applications.clone(),
                Self::keys(attr::CLIENT_ID, client_id),
            ),
            (t.tokens.clone(), Self::keys(attr::TOKEN_ID, token_id)),
        ]);
        let mut found = self.batch_get(wanted).await?;
        let mut one = |table: &str| found.remove(table).and_then(|mut v| v.pop());
        let application = one(&t.applications)
            .map(|i| super::item::application_from(&i))
            .transpose()?;
        let token = one(&t.tokens)
            .map(|i| super::item::token_from(&i))
            .transpose()?;
        Ok((application, token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_item_reads_back_as_written() {
        let code = CodeRecord {
            code_hash: [7; 32],
            client_id: "c".into(),
            redirect_uri: "https://x/cb".into(),
            redirect_uri_given: true,
            scopes: vec!["repo:read".into()],
            username: "u".into(),
            user_generation: 3,
            client_epoch: 0,
            code_challenge: "ngF5GsXcbwljx6u133FFr3Xht9xooA_DuaX_3QwODtc".into(),
            jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
            expires_at: 100,
            used_at: Some(50),
            token_id: Some("t".into()),
        };
        assert_eq!(code_from(&code_item(&code), &[7; 32]).unwrap(), code);
        assert_eq!(hex(&[0xab; 32]).len(), 64);
    }
}
