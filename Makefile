# The two commands a newcomer needs (README): `make run` and `make test`.
.PHONY: setup run test test-fast lint audit train status clean

setup:
	@scripts/setup.sh

run: setup
	@.venv/bin/supportbot up

test:
	@scripts/setup.sh --test
	@.venv/bin/python -m pytest -ra $(PYTEST_ARGS)

# Everything but the contract, browser and slow tests: the quick check while you work (README: how long).
test-fast:
	@scripts/setup.sh
	@.venv/bin/python -m pytest -ra -m "not contract and not browser and not slow" $(PYTEST_ARGS)

lint: setup
	@.venv/bin/ruff check .

# Known vulnerabilities in the pinned dependencies (docs/security.md). Needs PyPI's JSON API or OSV
# (AUDIT_SERVICE=osv), so it is not part of `make test`; --strict fails when a package could not be checked.
AUDIT_SERVICE ?= pypi
audit: setup
	@.venv/bin/pip-audit -r requirements/main.lock --no-deps --disable-pip --strict --vulnerability-service $(AUDIT_SERVICE)
	@.venv/bin/pip-audit -r requirements/rasa.lock --no-deps --disable-pip --strict --vulnerability-service $(AUDIT_SERVICE)

train: setup
	@.venv/bin/supportbot train

status: setup
	@.venv/bin/supportbot status

clean:
	rm -rf var models .rasa
