# Two commands for a new user: `make demo` (the main job) and `make test`.
# Everything lands in .venv; only a Python >= 3.11 is needed beforehand.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := False
export AIRFLOW__USAGE_DATA_COLLECTION__ENABLED := False

.PHONY: install lock test lint format demo schemas bench clean

install: $(STAMP)

# Every version comes from the lock (constraints.txt), and the install fails if anything resolved
# differently; `make lock` rewrites the lock after a change to pyproject.toml's dependencies.
PIP_VERSION := 26.3
EXTRAS := local,pipeline,dev

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[$(EXTRAS)]'
	$(BIN)/python scripts/check_lock.py
	touch $(STAMP)

lock:
	$(PYTHON) -m pip install --quiet --target $(VENV)/.uv uv==0.9.5
	PYTHONPATH=$(VENV)/.uv $(PYTHON) -m uv pip compile pyproject.toml --all-extras \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --quiet -o constraints.txt.new
	{ sed -n '1,4p' constraints.txt; cat constraints.txt.new; } > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt && rm -f constraints.txt.new

# lint-imports checks the architecture's import contracts (pyproject.toml). `dbt parse` validates
# the dbt project, its exposures and semantic layer (semantic models, metrics, time spine)
# included; it never connects, so the profile's variables are dummies, and it writes its
# artifacts to dbt_project/target/lint-parse, not over the builds'. The SQL lint compiles the dbt
# project, which needs a warehouse: the script starts a throwaway embedded PostgreSQL for it
# (about 30 s on two cores).
DBT_PARSE_TARGET := $(CURDIR)/dbt_project/target/lint-parse
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	PULSE_PG_HOST=parse.invalid PULSE_PG_USER=parse PULSE_PG_DATABASE=parse DBT_TARGET_PATH=$(DBT_PARSE_TARGET) DBT_LOG_PATH=$(DBT_PARSE_TARGET)/logs $(BIN)/dbt --quiet --no-use-colors --no-version-check parse --no-partial-parse --project-dir dbt_project --profiles-dir dbt_project
	$(BIN)/python scripts/lint_dbt.py

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The tests start the embedded PostgreSQL and Kafka broker themselves (tests/conftest.py).
test: install lint
	$(BIN)/pytest -q

schemas: install
	$(BIN)/pulse schemas --write

# The main job on the embedded services (see pulse/local/demo.py). Re-running it is safe: the seeded
# generator sends the same events again and ingest stores each event once.
DEMO_EVENTS ?= 200000
DEMO_DAYS ?= 60
demo: install
	$(BIN)/pulse demo --events $(DEMO_EVENTS) --days $(DEMO_DAYS)

bench: install
	$(BIN)/python bench/bench_ingest.py

clean:
	-$(BIN)/pulse down --purge
	rm -rf $(VENV) .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
