"""template.yaml against the one list of tables and parameters (src/resources.rs): every
entry has its stack output (which `direct-oauth-admin --stack` reads) and, unless optional,
its variable in the function's environment, naming the same thing; and the template has no
table or table output the list lacks. The list is read as the shell scripts and the e2e
tests read it, from `direct-oauth-admin env --output json` (the binary make test built,
tests/support/built.py)."""

import functools
import json
import os
import subprocess

import pytest
from cfnlint.decode import decode_str

import built

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEMPLATE = os.path.join(ROOT, "template.yaml")


@functools.cache
def listed():
    """The list, with the local stack's names: no DIRECT_OAUTH_* variable is passed on, and
    the command asks AWS nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIRECT_OAUTH_")}
    env.update(AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    out = subprocess.run(
        [built.binary("direct-oauth-admin"), "env", "--output", "json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def parsed(source):
    template, errors = decode_str(source)
    assert not errors, errors
    return template


def template_text():
    with open(TEMPLATE) as f:
        return f.read()


def disagreements(template, entries):
    """Each way `template` and the list disagree, as a sentence; none when they agree."""
    return (
        unmet_entries(template, entries)
        + stray_function_variables(template, entries)
        + unlisted_tables(template, entries)
    )


def unmet_entries(template, entries):
    """Entries without their output, or (unless optional) without the function's variable
    naming what the output names."""
    resources, outputs = template["Resources"], template.get("Outputs", {})
    function = resources["AuthorizeAppFunction"]["Properties"]
    variables = function.get("Environment", {}).get("Variables", {})
    found = []
    for entry in entries:
        output = outputs.get(entry["output"])
        if output is None:
            found.append(f"no output {entry['output']} for {entry['role']}")
            continue
        if entry["optional"]:
            continue
        if "Condition" in output:
            found.append(f"output {entry['output']} is conditional, but every stack needs it")
        if entry["variable"] not in variables:
            found.append(f"AuthorizeAppFunction lacks {entry['variable']}")
        elif variables[entry["variable"]] != output["Value"]:
            found.append(
                f"AuthorizeAppFunction's {entry['variable']} is not what {entry['output']} names"
            )
        if entry["kind"] == "table" and not names_a_table(resources, output["Value"]):
            found.append(f"output {entry['output']} does not name a DynamoDB table")
    return found


def stray_function_variables(template, entries):
    """Any function's table variable that is not in the list, or names something other
    than its entry's output (the token authorizer has one of the list's variables)."""
    outputs = template.get("Outputs", {})
    by_variable = {e["variable"]: e for e in entries}
    found = []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        for variable, value in variables.items():
            entry = by_variable.get(variable)
            output = outputs.get(entry["output"]) if entry else None
            if entry is None and variable.endswith("_TABLE"):
                found.append(f"{name}'s {variable} is not in the list")
            elif output and value != output["Value"]:
                found.append(f"{name}'s {variable} is not what {entry['output']} names")
    return found


def unlisted_tables(template, entries):
    """Table outputs the list lacks, and tables that no output of the list names."""
    resources, outputs = template["Resources"], template.get("Outputs", {})
    listed_outputs = {e["output"] for e in entries if e["kind"] == "table"}
    found = []
    for key, output in outputs.items():
        names_table = key.endswith("TableName") or names_a_table(resources, output["Value"])
        if names_table and key not in listed_outputs:
            found.append(f"output {key} names a table the list lacks")
    named = {
        outputs[key]["Value"].get("Ref")
        for key in listed_outputs
        if key in outputs and isinstance(outputs[key]["Value"], dict)
    }
    for name, resource in resources.items():
        if resource["Type"] == "AWS::DynamoDB::Table" and name not in named:
            found.append(f"table {name} has no output in the list")
    return found


def names_a_table(resources, value):
    """`!Ref` of a DynamoDB table (whose Ref is the table's name)."""
    target = value.get("Ref") if isinstance(value, dict) else None
    return resources.get(target, {}).get("Type") == "AWS::DynamoDB::Table"


def test_the_list_has_the_nine_tables_and_the_whitelist_parameter():
    kinds = [e["kind"] for e in listed()]
    assert kinds.count("table") == 9 and "parameter" in kinds, listed()
    for entry in listed():
        assert entry["variable"].startswith("DIRECT_OAUTH_"), entry
        assert entry["value"] == (entry["local_name"] or None), "no variable: the local name"


def test_the_template_covers_the_list_and_names_no_other_table():
    assert disagreements(parsed(template_text()), listed()) == []


def without_output(source, key):
    """`source` without the output `key` (its two lines: the key and `Value:`)."""
    lines = source.splitlines(keepends=True)
    at = lines.index(f"  {key}:\n")
    assert lines[at + 1].lstrip().startswith("Value:"), "the output is two lines"
    return "".join(lines[:at] + lines[at + 2 :])


def with_before(source, anchor, text):
    """`source` with `text` inserted before the line `anchor`."""
    assert source.count(anchor) == 1, anchor
    return source.replace(anchor, text + anchor)


BROKEN = {
    "a table's output removed": (
        lambda s: without_output(s, "CodesTableName"),
        "no output CodesTableName",
    ),
    "a table output the list lacks": (
        lambda s: with_before(
            s, "  CodesTableName:\n", "  CodesTableNameOld:\n    Value: !Ref CodesTable\n"
        ),
        "output CodesTableNameOld names a table the list lacks",
    ),
    "the function's variable removed": (
        lambda s: s.replace("          DIRECT_OAUTH_CODES_TABLE: !Ref CodesTable\n", "", 1),
        "AuthorizeAppFunction lacks DIRECT_OAUTH_CODES_TABLE",
    ),
    "the variable naming another table": (
        lambda s: s.replace(
            "DIRECT_OAUTH_CODES_TABLE: !Ref CodesTable",
            "DIRECT_OAUTH_CODES_TABLE: !Ref TokensTable",
            1,
        ),
        "DIRECT_OAUTH_CODES_TABLE is not what CodesTableName names",
    ),
    "the authorizer's variable naming another table": (
        lambda s: s.replace(
            "          DIRECT_OAUTH_TOKENS_TABLE: !Ref TokensTable\n          # DPoP",
            "          DIRECT_OAUTH_TOKENS_TABLE: !Ref UsersTable\n          # DPoP",
            1,
        ),
        "TokenAuthorizerFunction's DIRECT_OAUTH_TOKENS_TABLE is not what TokensTableName",
    ),
    "the refresh-tokens table's variable removed": (
        lambda s: s.replace(
            "          DIRECT_OAUTH_REFRESH_TOKENS_TABLE: !Ref RefreshTokensTable\n", "", 1
        ),
        "AuthorizeAppFunction lacks DIRECT_OAUTH_REFRESH_TOKENS_TABLE",
    ),
    "a table without an output": (
        lambda s: with_before(
            s,
            "  FailedLoginsTable:\n",
            "  SpareTable:\n    Type: AWS::DynamoDB::Table\n    Properties: {}\n\n",
        ),
        "table SpareTable has no output",
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_copy_is_caught(name):
    """Each breakage is seen, so the check above passes for the right reason."""
    breaks, said = BROKEN[name]
    source = template_text()
    broken = breaks(source)
    assert broken != source, f"the breakage {name!r} no longer applies"
    found = disagreements(parsed(broken), listed())
    assert any(said in sentence for sentence in found), found
