# The two commands: `make demo` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := chromium fonts-wqy-microhei mosquitto victoria-metrics mbpoll espeak-ng ffmpeg

.PHONY: demo test bench lint setup system clean

setup: $(VENV)/.installed web_viewer/node_modules/.installed

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

demo: setup
	tools/ensure-system-packages mosquitto
	$(BIN)/halltwin demo

test: setup system
	$(BIN)/python -m pytest -q

bench: setup system
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy twin bim_models iot_gateway monitoring store api bench tests tools

clean:
	rm -rf $(VENV) web_viewer/node_modules var bim_models/generated
