# Two commands do all set-up:  `make demo`  and  `make test`  (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.hip_mmpose-installed

# make demo DATA=<folder in the template layout> runs on real films instead.
DATA        ?=
DEMO_CONFIG ?= configs/hip_effv2_cbam_cpu.py
DEMO_EPOCHS ?= 12
# the synthetic set gives 4 iterations an epoch: warm up over 10 iterations, not the
# configs' 100 (which would still be warming up when the cosine ends)
DEMO_OPTS   ?= param_scheduler.0.end=10 film_stage.param_scheduler.0.end=10 \
               train_dataloader.batch_size=8
ifeq ($(strip $(DATA)),)
  DATA_ROOT := data/demo
  ANN_ROOT  := data/demo/coco
  WORK_DIR  := work_dirs/demo
else
  DATA_ROOT := $(DATA)
  DEMO_OPTS :=
  ANN_ROOT  := data/$(notdir $(patsubst %/,%,$(DATA)))/coco
  WORK_DIR  := work_dirs/demo-$(notdir $(patsubst %/,%,$(DATA)))
endif

.PHONY: install test lint format demo clean-demo browser

install: $(STAMP)

# Rebuilt only when a pin changes; a second `make` reuses the environment.
$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -c "import hip_mmpose, mmpose.models, mmpretrain.models; print('stack ready')"
	touch $@

test: install
	$(PY) -m pytest -q tests

# the browser test (tests/test_review.py) drives Debian's Chromium through chromedriver:
# installed here when missing (apt-get, as root; CI runs as root); no other browser
# download works on these machines
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then echo "chromium ready"; \
	else apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		chromium chromium-driver; fi

# ruff's lint and format check (pyproject.toml); `make format` rewrites the tree
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

demo: install
ifeq ($(strip $(DATA)),)
	$(PY) tools/make_synthetic_data.py --out-dir $(DATA_ROOT)
endif
	$(PY) tools/convert_csv_to_coco.py $(DATA_ROOT) --out-dir $(ANN_ROOT)
	$(PY) tools/train.py $(DEMO_CONFIG) --data-root $(DATA_ROOT) --ann-root $(ANN_ROOT) \
		--work-dir $(WORK_DIR) --cfg-options train_cfg.max_epochs=$(DEMO_EPOCHS) \
		film_stage.train_cfg.max_epochs=$(DEMO_EPOCHS) $(DEMO_OPTS)
	$(PY) tools/test.py $(DEMO_CONFIG) $(WORK_DIR)/best_cascade.pth \
		--data-root $(DATA_ROOT) --ann-root $(ANN_ROOT) --work-dir $(WORK_DIR) \
		--report $(WORK_DIR)/report
	@echo "model:      $(WORK_DIR)/best_cascade.pth (both stages)"
	@echo "logs:       $(WORK_DIR)/film/ and $(WORK_DIR)/hip/"
	@echo "report:     $(WORK_DIR)/report/summary.html"

clean-demo:
	rm -rf data/demo work_dirs/demo
