"""IAM's evaluation of one identity's policies for one request, as IAM does it for an
identity-based policy set: an explicit Deny wins; otherwise some Allow must match the
action (wildcards, case-insensitive), the resource (wildcards, case-sensitive) and its
Condition. Condition keys the caller cannot supply make the verdict unknown (None), never
allowed. Used by tests/support/iam_eval.py."""

import re
from dataclasses import dataclass, field


def _listed(value):
    return [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]


def wildcard(pattern, value, ignore_case=False):
    """IAM's wildcards: `*` any run of characters, `?` one character."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


@dataclass
class Statement:
    label: str
    effect: str
    actions: list = field(default_factory=list)
    not_actions: list = None
    resources: list = field(default_factory=list)
    not_resources: list = None
    condition: dict = field(default_factory=dict)

    @classmethod
    def of(cls, label, raw):
        return cls(
            label,
            raw.get("Effect", "Allow"),
            [str(a) for a in _listed(raw.get("Action"))],
            [str(a) for a in _listed(raw["NotAction"])] if "NotAction" in raw else None,
            [str(r) for r in _listed(raw.get("Resource"))],
            [str(r) for r in _listed(raw["NotResource"])] if "NotResource" in raw else None,
            raw.get("Condition") or {},
        )

    def action_matches(self, action):
        if self.not_actions is not None:
            return not any(wildcard(p, action, True) for p in self.not_actions)
        return any(wildcard(p, action, True) for p in self.actions)

    def resource_matches(self, arn):
        if self.not_resources is not None:
            return not any(wildcard(p, arn) for p in self.not_resources)
        return any(wildcard(p, arn) for p in self.resources)


def statements(label, document):
    """The statements of one policy document, labelled `label[i]` (or `label[Sid]`)."""
    raw = _listed(document.get("Statement"))
    return [Statement.of(f"{label}[{s.get('Sid') or i}]", s) for i, s in enumerate(raw)]


class Unevaluable(Exception):
    pass


# Condition keys a recorded call has a value for (absent ones are absent in the request).
KNOWN_KEYS = {
    "aws:requestedregion",
    "kms:viaservice",
    "dynamodb:select",
    "dynamodb:returnvalues",
    "dynamodb:returnconsumedcapacity",
    "dynamodb:attributes",
}
# Keys every request they apply to has on AWS, which the recording holds for some requests
# only: absent, the value is unknown, not absent. dynamodb:Attributes names at least the
# item's key; the record has it for a request on one table, not for a transaction's or a
# batch's items.
RECORDED_ONLY_SOMETIMES = {"dynamodb:attributes"}


def keys_read(statements):
    """The condition keys (lower case) some of `statements` read."""
    return {key.lower() for s in statements for by_key in s.condition.values() for key in by_key}


_STRING = {
    "StringEquals": (False, False, False),
    "StringNotEquals": (True, False, False),
    "StringEqualsIgnoreCase": (False, False, True),
    "StringNotEqualsIgnoreCase": (True, False, True),
    "StringLike": (False, True, False),
    "StringNotLike": (True, True, False),
    "ArnEquals": (False, True, False),
    "ArnLike": (False, True, False),
    "ArnNotEquals": (True, True, False),
    "ArnNotLike": (True, True, False),
}


def _one(operator, key, wanted, context):
    """Whether one operator and key of a Condition holds for the request's `context`."""
    base, qualifier = operator, None
    for q in ("ForAllValues:", "ForAnyValue:"):
        if base.startswith(q):
            qualifier, base = q[:-1], base[len(q) :]
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base[: -len("IfExists")] if if_exists else base
    if key.lower() not in KNOWN_KEYS:
        raise Unevaluable(f"condition key {key} ({operator}) is not in the recording")
    present = {k.lower(): v for k, v in context}
    wanted = [str(w) for w in _listed(wanted)]
    if key.lower() not in present and key.lower() in RECORDED_ONLY_SOMETIMES:
        raise Unevaluable(f"condition key {key} is not recorded for this request")
    if base == "Null":
        return (key.lower() not in present) == (wanted[0].lower() == "true")
    if key.lower() not in present:
        negated = _STRING.get(base, (False,))[0]
        return if_exists or negated or qualifier == "ForAllValues"
    values = [str(v) for v in _listed(present[key.lower()])]
    if base == "Bool":
        return any(v.lower() == w.lower() for v in values for w in wanted)
    if base not in _STRING:
        raise Unevaluable(f"condition operator {operator} is not evaluated here")
    negated, like, fold = _STRING[base]

    def equal(v, w):
        return wildcard(w, v, fold) if like else (v.lower() == w.lower() if fold else v == w)

    hits = [any(equal(v, w) for w in wanted) for v in values]
    if qualifier == "ForAllValues":
        return all(not h for h in hits) if negated else all(hits)
    return not any(hits) if negated else any(hits)


def condition_holds(condition, context):
    """All operators and keys of a Condition hold (raises Unevaluable when one cannot be
    told)."""
    return all(
        _one(op, key, wanted, context)
        for op, by_key in (condition or {}).items()
        for key, wanted in by_key.items()
    )


@dataclass
class Decision:
    allowed: bool  # None: unknown
    by: list = field(default_factory=list)
    denied_by: list = field(default_factory=list)
    unknown: list = field(default_factory=list)


def decide(policy, action, arn, context=()):
    """IAM's verdict for one identity's statements on one request."""
    d = Decision(False)
    for s in policy:
        if not (s.action_matches(action) and s.resource_matches(arn)):
            continue
        try:
            holds = condition_holds(s.condition, context)
        except Unevaluable as e:
            d.unknown.append(f"{s.label}: {e}")
            continue
        if holds:
            (d.denied_by if s.effect == "Deny" else d.by).append(s.label)
    d.allowed = False if d.denied_by else True if d.by else None if d.unknown else False
    return d
