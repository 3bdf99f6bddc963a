# Two entry points do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench docs venv clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# PETS on Pendulum-v1 at a small budget: 2 seeds, 600 env steps (3 episodes of 200, the
# first random), CEM with 100 candidates. Re-running it resumes from the checkpoint.
demo: $(STAMP)
	$(BIN)/jwm pets --env gymnax:Pendulum-v1 --seeds 2 --steps 600 --population 100 \
		--epochs 50 --checkpoint-dir results/demo.ckpt --out results/demo_pets_Pendulum-v1.json
	@echo "Full size (5 seeds, 2,000 env steps, population 200; 25 minutes on 2 cores):"
	@echo "  $(BIN)/jwm suite experiments/suites/agents.toml --tier pets --only pets-Pendulum --out results/demo_suite"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q --durations=20 tests

# The results page regenerated from the result JSON, then the site (design, results and
# the API reference from the docstrings) built offline into site/; any warning fails it.
docs: $(STAMP)
	$(BIN)/python experiments/summarise.py
	$(BIN)/mkdocs build --strict

# Every benchmark; quick (about ten minutes on 2 cores) unless FULL=1.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(if $(FULL),--full,)

clean:
	rm -rf $(VENV) site
