# make fit  : create .venv if needed, install the package, run `bayes-btc fit` into results/
# make test : same set-up, headless Chromium if missing and installable (browser test of the
#             report), then the whole test suite (slow sampling tests included)
# set-up    : exact versions and hashes from requirements.lock (made by scripts/lock), then the
#             package itself without dependencies; re-run when the lock or pyproject.toml changes
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: fit test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	@if [ ! -x $(BIN)/python ]; then \
		py=$$(sh scripts/find-python) || exit 1; \
		echo "creating $(VENV) with $$py"; \
		"$$py" -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

# the package's bytecode, for environments that do not write it (PYTHONDONTWRITEBYTECODE):
# a few tenths of a second of every run's imports; up-to-date files are left as they are
fit: $(STAMP)
	@$(BIN)/python -m compileall -q bayes_btc
	$(BIN)/bayes-btc fit

test: $(STAMP)
	sh scripts/install-browser; $(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_fit.py

clean:
	rm -rf $(VENV) build *.egg-info
