# Two commands do all set-up:  `make demo`  and  `make test`  (see README.md).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.hip_mmpose-installed

# make demo DATA=<folder in the template layout> runs on real films instead (and
# make model DATA=<folder> trains the model on them); without DATA both use the
# synthetic set in data/demo.
DATA        ?=
DEMO_CONFIG ?= configs/hip_effv2_cbam_cpu.py
DEMO_EPOCHS ?= 12
# the synthetic set's 32 films: batches of 8 hips in the refining stage (the warm-up
# and the cosine follow --epochs: tools/train.py)
DEMO_OPTS   ?= train_dataloader.batch_size=8
ifeq ($(strip $(DATA)),)
  DATA_ROOT := data/demo
  ANN_ROOT  := data/demo/coco
  WORK_DIR  := work_dirs/demo
  MODEL_WORK_DIR := work_dirs/model-demo
else
  DATA_ROOT := $(DATA)
  DEMO_OPTS :=
  ANN_ROOT  := data/$(notdir $(patsubst %/,%,$(DATA)))/coco
  WORK_DIR  := work_dirs/demo-$(notdir $(patsubst %/,%,$(DATA)))
  MODEL_WORK_DIR := work_dirs/model-$(notdir $(patsubst %/,%,$(DATA)))
endif

# make model: the README's config trained with the card's commands, published to a
# fixed path and exported to ONNX beside it (models/ is not in git: weights trained
# on real films are never committed). EPOCHS=N for a short run (default: the
# config's own, 20 per stage).
MODEL_CONFIG ?= configs/hip_effv2_cbam_cpu.py
MODEL_NAME   := $(basename $(notdir $(MODEL_CONFIG)))
MODEL_DIR    ?= models
MODEL_PTH    := $(MODEL_DIR)/$(MODEL_NAME).pth
MODEL_ONNX   := $(MODEL_DIR)/$(MODEL_NAME).onnx
EPOCHS       ?=

.PHONY: install test lint format demo clean-demo data model browser

install: $(STAMP)

# Rebuilt only when a pin changes; a second `make` reuses the environment.
$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -c "import hip_mmpose, mmpose.models, mmpretrain.models; print('stack ready')"
	touch $@

# two pytest-xdist workers, one per core of the CI machine (each worker's torch on one
# thread: tests/conftest.py); TEST_WORKERS=0 runs the suite in one process
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) tests

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

# the synthetic set (without DATA) and the COCO files of the films
data: install
ifeq ($(strip $(DATA)),)
	$(PY) tools/make_synthetic_data.py --out-dir $(DATA_ROOT)
endif
	$(PY) tools/convert_csv_to_coco.py $(DATA_ROOT) --out-dir $(ANN_ROOT)

demo: data
	$(PY) tools/train.py $(DEMO_CONFIG) --data-root $(DATA_ROOT) --ann-root $(ANN_ROOT) \
		--work-dir $(WORK_DIR) --epochs $(DEMO_EPOCHS) \
		$(if $(strip $(DEMO_OPTS)),--cfg-options $(DEMO_OPTS))
	$(PY) tools/test.py $(DEMO_CONFIG) $(WORK_DIR)/best_cascade.pth \
		--data-root $(DATA_ROOT) --ann-root $(ANN_ROOT) --work-dir $(WORK_DIR) \
		--report $(WORK_DIR)/report
	@echo "model:      $(WORK_DIR)/best_cascade.pth (both stages)"
	@echo "logs:       $(WORK_DIR)/film/ and $(WORK_DIR)/hip/"
	@echo "report:     $(WORK_DIR)/report/summary.html"

# publish_model.py names the file by its hash (<name>-<sha8>.pth); the fixed path
# is a link to it, so that every later command reads models/<config name>.pth
model: data
	$(PY) tools/train.py $(MODEL_CONFIG) --data-root $(DATA_ROOT) --ann-root $(ANN_ROOT) \
		--work-dir $(MODEL_WORK_DIR) $(if $(strip $(EPOCHS)),--epochs $(EPOCHS))
	@mkdir -p $(MODEL_DIR)
	@published=$$($(PY) tools/publish_model.py $(MODEL_WORK_DIR)/best_cascade.pth \
		$(MODEL_PTH) | sed -n 's/^published //p'); \
	test -f "$$published" || { echo "error: publishing $(MODEL_WORK_DIR)/best_cascade.pth failed" >&2; exit 1; }; \
	ln -sfn "$$(basename "$$published")" $(MODEL_PTH); \
	echo "published $$published"
	$(PY) tools/export_onnx.py $(MODEL_PTH) $(MODEL_ONNX)
	@echo "model: $(MODEL_PTH) (both stages; tools/infer.py --checkpoint $(MODEL_PTH))"
	@echo "onnx:  $(MODEL_ONNX) (tools/infer.py --onnx $(MODEL_ONNX))"

clean-demo:
	rm -rf data/demo work_dirs/demo work_dirs/model-demo
