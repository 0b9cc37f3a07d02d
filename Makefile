# direct-oauth: `make run` starts the local stack, `make test` runs every test.
# Tools (cargo-lambda, moto, SAM, cfn-lint, pytest, ruff, vulture) go into .venv, pinned in tools/requirements.txt.

SHELL := /bin/bash
VENV := .venv
STAMP := $(VENV)/.installed-$(shell sha1sum tools/requirements.txt | cut -c1-12)
# The samconfig.toml environment that deploy, delete and logs use.
ENV ?= default

.PHONY: help run test venv events package deploy delete logs bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: $(STAMP) ## Start moto + the function locally and print a curl that gets a token
	@scripts/run.sh

test: $(STAMP) ## Every test: fmt, clippy, ruff, vulture, unit, adapters against moto, end to end
	@scripts/test.sh

venv: $(STAMP) ## Install the pinned tools into .venv

$(STAMP): tools/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r tools/requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

events: $(STAMP) ## Regenerate events/ from `sam local generate-event` shapes
	$(VENV)/bin/python tools/gen_events.py

package: $(STAMP) ## Build the arm64 Lambda zip (target/lambda/authorize-app/bootstrap.zip)
	@scripts/package.sh

bench: $(STAMP) ## Cold start, round trips, CPU per request, password cost, size (a table)
	@scripts/bench.sh

# SAM finds cargo-lambda (and its zig) in the virtualenv.
AWS_TOOLS := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0

deploy: $(STAMP) ## Build and deploy to AWS (ENV=default|prod; GUIDED=1 to set parameters once)
	$(AWS_TOOLS) AWS_LC_SYS_NO_JITTER_ENTROPY=1 sam build --config-env $(ENV) < /dev/null
	$(AWS_TOOLS) sam deploy --config-env $(ENV) $(if $(GUIDED),--guided)

delete: $(STAMP) ## Delete the stack of ENV (tables and log groups are kept)
	$(AWS_TOOLS) sam delete --config-env $(ENV) --no-prompts

logs: $(STAMP) ## Tail a function's logs (ENV=..., FN=authorize-app|token-authorizer)
	$(AWS_TOOLS) sam logs --config-env $(ENV) --name $(if $(filter token-authorizer,$(FN)),TokenAuthorizerFunction,AuthorizeAppFunction)

clean: ## Remove build output, the virtualenv and local state
	rm -rf target $(VENV) .local .aws-sam
