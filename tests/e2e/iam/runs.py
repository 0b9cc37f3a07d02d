"""A principal's flows run with one set of credentials, and what each flow's run shows:
whether it failed, and which actions were refused during it and before it."""

import uuid

from conftest import Function

# After a flow's failure: the gateway refused an item of a TransactWriteItems.
GATEWAY_MARK = "¹"
# After a flow's failure: nothing was refused during it, the action was refused before
# it in the same process, which kept that answer (a failed whitelist read is not retried
# for a second, src/whitelist/cache/).
EARLIER_MARK = "²"


class FlowFailed(Exception):
    pass


def expect(condition, reason):
    if not condition:
        raise FlowFailed(reason)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Outcome:
    """A flow's result: why it failed (None: it passed), the actions refused meanwhile
    and before it in the same run, and whether the gateway refused some (an item of a
    TransactWriteItems)."""

    def __init__(self, why, refused, earlier, by_gateway):
        self.why, self.refused, self.earlier = why, refused, earlier
        self.by_gateway = by_gateway

    def caused_by(self, action):
        """Whether its failure is the refusal of `action`: refused during the flow, or
        before it in the same process, whose answer it kept (the whitelist's retry pause)."""
        return action in self.refused or (not self.refused and action in self.earlier)

    def __str__(self):
        marks = GATEWAY_MARK if self.by_gateway else ""
        if self.why and not self.refused and self.earlier:
            marks += EARLIER_MARK
        return f"{self.why}{marks}"


class Run:
    """One principal's flows with one set of credentials, its DynamoDB and SSM requests
    through the gateway. A flow is a function of the Run that raises FlowFailed (or
    anything else) when it fails."""

    def __init__(self, stack, binary, held, tag):
        key, secret = stack.admin.principal(tag, held)
        self.key = key
        self.admin = stack.admin
        self.gateway = stack.gateway
        self.gateway.held[key] = set(held)
        self.env = dict(
            stack.env,
            AWS_ACCESS_KEY_ID=key,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_ENDPOINT_URL_DYNAMODB=stack.gateway.url,
            AWS_ENDPOINT_URL_SSM=stack.gateway.url,
            AWS_ENDPOINT_URL_CLOUDFORMATION=stack.gateway.url,
        )
        # The function's start-up (the whitelist, its first connections) is done once
        # Function returns: what it was refused counts as refused before the first flow.
        self.started_from = len(self.gateway.seen)
        self.fn = Function(self.env, binary) if binary else None

    def flows(self, flows):
        """{flow name: Outcome}, the flows run one after the other in the order given."""
        at_start = self.gateway.since(self.started_from, self.key)
        results, earlier = {}, set().union(*(s.refused for s in at_start))
        for name, flow in flows:
            mark = len(self.gateway.seen)
            why = None
            try:
                flow(self)
            except FlowFailed as e:
                why = str(e)
            except Exception as e:  # any failure of a flow is its failure
                why = f"{type(e).__name__}: {e}"
            seen = self.gateway.since(mark, self.key)
            refused = set().union(*(s.refused for s in seen))
            results[name] = Outcome(
                why, refused, set(earlier), any(s.outcome == "denied" for s in seen)
            )
            earlier |= refused
        return results

    def close(self):
        if self.fn:
            self.fn.stop()
