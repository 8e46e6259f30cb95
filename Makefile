# One command to open the course, one to test it. Both build .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.labkit-installed
PORT ?= 8888
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)  # classroom VMs and containers often run as root

.PHONY: lab test test-fast student notebooks bench clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

## make venv: just build .venv (lab and test do it on first use)
venv: $(STAMP)

## make lab: open the course in JupyterLab (simulator unless LABKIT_BACKEND says otherwise)
lab: $(STAMP)
	$(BIN)/jupyter lab --port=$(PORT) $(ROOT_FLAG) notebooks/00-start-here.ipynb

## make test: unit, property, scenario (every backend reachable here), notebooks (nbval), browser.
## LABKIT_CLOCK=still: a notebook's kernel keeps the cluster's clock still between cells, as the stored
## outputs were made (a person's kernel follows the wall clock: labkit/timekeeping.py)
test: $(STAMP)
	LABKIT_CLOCK=still $(BIN)/python -m pytest tests notebooks solutions --nbval --nbval-sanitize-with tests/nbval-sanitize.cfg \
	    --ignore-glob='tests/notebooks/*' -n 2 --dist loadgroup \
	    --durations=15 -p no:cacheprovider

## make test-fast: the simulator only, no engines, no browser
test-fast: $(STAMP)
	LABKIT_CLOCK=still LABKIT_TEST_BACKENDS=sim $(BIN)/python -m pytest tests -m "not docker and not swarm and not browser" -q

## make student: write the students' edition (notebooks/) from the solved one (solutions/), solutions out
student: $(STAMP)
	$(BIN)/labkit student solutions notebooks

## make notebooks: the students' edition, then every lesson of both editions re-run on the simulator,
## its clock still between cells, outputs stored (what nbval compares). No widget state is stored, so exported HTML and nbviewer
## show the views' static pictures.
notebooks: student
	LABKIT_BACKEND=sim LABKIT_CLOCK=still $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.store_widget_state=False notebooks/*.ipynb solutions/*.ipynb

## make bench: the benchmarks; they print figures, they assert nothing
bench: $(STAMP)
	$(BIN)/python bench/sim_scale.py
	$(BIN)/python bench/kube_api.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
