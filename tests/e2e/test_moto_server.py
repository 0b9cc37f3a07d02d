"""The local DynamoDB the other tests trust (tests/support/moto_server.py): a cancelled transaction
changes nothing, as on DynamoDB, now that it backs up items instead of whole tables."""

import pytest

from conftest import uid


def table(dynamodb, *keys):
    name = uid("moto-check-")
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": k, "KeyType": t}
            for k, t in zip(keys, ["HASH", "RANGE"], strict=False)
        ],
        AttributeDefinitions=[{"AttributeName": k, "AttributeType": "S"} for k in keys],
    )
    return name


def item(dynamodb, name, key):
    return dynamodb.get_item(TableName=name, Key=key, ConsistentRead=True).get("Item")


def test_a_cancelled_transaction_puts_back_every_item_it_named(dynamodb):
    hashed, ranged = table(dynamodb, "k"), table(dynamodb, "h", "s")
    a = {"k": {"S": "a"}, "n": {"N": "1"}, "l": {"L": [{"S": "q"}]}}
    dynamodb.put_item(TableName=hashed, Item=a)
    dynamodb.put_item(TableName=hashed, Item={"k": {"S": "b"}})
    dynamodb.put_item(TableName=hashed, Item={"k": {"S": "c"}, "n": {"N": "1"}})
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                # Applied before the failing check: each must be undone.
                {
                    "Update": {
                        "TableName": hashed,
                        "Key": {"k": {"S": "a"}},
                        "UpdateExpression": "SET n = :n, l = list_append(l, :m)",
                        "ExpressionAttributeValues": {":n": {"N": "2"}, ":m": {"L": [{"S": "z"}]}},
                    }
                },
                {"Put": {"TableName": ranged, "Item": {"h": {"S": "new"}, "s": {"S": "1"}}}},
                {
                    "Delete": {
                        "TableName": hashed,
                        "Key": {"k": {"S": "b"}},
                        "ConditionExpression": "attribute_exists(k)",
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": hashed,
                        "Key": {"k": {"S": "c"}},
                        "ConditionExpression": "n = :nine",
                        "ExpressionAttributeValues": {":nine": {"N": "9"}},
                    }
                },
            ]
        )
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert item(dynamodb, hashed, {"k": {"S": "a"}}) == a
    assert item(dynamodb, hashed, {"k": {"S": "b"}}) == {"k": {"S": "b"}}
    assert item(dynamodb, ranged, {"h": {"S": "new"}, "s": {"S": "1"}}) is None


def test_a_transaction_that_passes_writes_every_item(dynamodb):
    hashed, ranged = table(dynamodb, "k"), table(dynamodb, "h", "s")
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": hashed,
                    "Item": {"k": {"S": "a"}, "n": {"N": "3"}},
                    "ConditionExpression": "attribute_not_exists(k)",
                }
            },
            {"Put": {"TableName": ranged, "Item": {"h": {"S": "x"}, "s": {"S": "1"}}}},
        ]
    )
    assert item(dynamodb, hashed, {"k": {"S": "a"}})["n"] == {"N": "3"}
    assert item(dynamodb, ranged, {"h": {"S": "x"}, "s": {"S": "1"}}) is not None
