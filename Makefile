# The README's two commands: `make run` and `make test`. `make bench` runs bench/.
# Every plugin_*/ folder that has a pyproject.toml is installed (editable) and tested.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PLUGIN_DIRS := $(patsubst %/pyproject.toml,%,$(wildcard plugin_*/pyproject.toml))
PLUGIN_TESTS := $(wildcard $(addsuffix /tests,$(PLUGIN_DIRS)))
PYTEST_ARGS ?=
# the suite runs in this many processes (pytest-xdist), one per core of the 2-core CI machine
TEST_WORKERS ?= 2

.PHONY: run test bench venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(wildcard plugin_*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --config-settings editable_mode=compat -e '.[test]' $(foreach p,$(PLUGIN_DIRS),-e './$(p)[test]')
	touch $@

run: venv
	$(BIN)/abonent db upgrade
	$(BIN)/abonent demo load
	$(BIN)/abonent serve --demo

test: venv
	scripts/ensure-chromium.sh
	scripts/ensure-radclient.sh
	scripts/with-postgres.sh $(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS) tests $(PLUGIN_TESTS)

bench: venv
	scripts/with-postgres.sh $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var test-output
