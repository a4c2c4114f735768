# SAC: `make run` serves the app on the demo; `make test` runs every check.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
DB      ?= data/sac.duckdb
PORT    ?= 8501
TEST_WORKERS ?= 2
WORKERS ?= 2

.PHONY: run serve test venv demo lint bench clean

.venv/.installed: requirements.txt
	python3 -m venv .venv
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

venv: .venv/.installed

$(DB): | venv
	SAC_DB_PATH=$(DB) $(PY) -m sac demo

demo: venv
	SAC_DB_PATH=$(DB) $(PY) -m sac demo --force

run: venv $(DB)
	@SAC_DB_PATH=$(DB) $(PY) -m sac demo --show-accounts
	SAC_DB_PATH=$(DB) SAC_PUBLIC_VIEWS=$${SAC_PUBLIC_VIEWS:-1} $(PY) -m streamlit run sac/server.py --server.port $(PORT)

# several app processes on the one store behind a sticky balancer on $(PORT) (docs/ARCHITECTURE.md)
serve: venv $(DB)
	@SAC_DB_PATH=$(DB) $(PY) -m sac demo --show-accounts
	SAC_DB_PATH=$(DB) SAC_PUBLIC_VIEWS=$${SAC_PUBLIC_VIEWS:-1} $(PY) -m sac serve --port $(PORT) --workers $(WORKERS)

lint: venv
	$(PY) -m ruff check sac pages tests bench app.py

test: venv lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: venv
	$(PY) bench/run.py

clean:
	rm -rf .venv $(DB) $(DB).wal $(DB).lock $(DB).lock.queue $(DB).snapshots
