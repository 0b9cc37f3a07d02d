"""The parts of test_iam.py, one idea each: the gateway that authorizes a transaction's
items as AWS does (gateway), the moto that enforces IAM and the stack in it (stack, demo,
admin), the flows each principal runs (function_flows, cli_flows), the runs of those flows
(runs, principals) and the summary table (table). The template's actions are read as IAM
by evaluation reads them (tests/support/iam_policies.py, `granted`)."""
