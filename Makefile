# The two commands a newcomer needs (README): `make run` and `make test`.
.PHONY: setup run test train status clean

setup:
	@scripts/setup.sh

run: setup
	@.venv/bin/supportbot up

test:
	@scripts/setup.sh --test
	@.venv/bin/python -m pytest -ra $(PYTEST_ARGS)

train: setup
	@.venv/bin/supportbot train

status: setup
	@.venv/bin/supportbot status

clean:
	rm -rf var models .rasa
