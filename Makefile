# ctc-decoding-lab: `make install`, `make lm`, `make test`, `make demo`, `make bench`, `make model`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
DECODE := $(VENV)/bin/decode
STAMP := $(VENV)/.installed
# torch first and pinned: an unpinned or ranged torch pulls a multi-GB CUDA build (see ../shared/NOTES-deps.md).
TORCH := torch==2.13.0
DEBIAN_PACKAGES := build-essential cmake libboost-program-options-dev libboost-system-dev libboost-thread-dev \
	libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev libeigen3-dev r-cran-janeaustenr espeak-ng sox libsndfile1
LM_DIR := lm/build

.PHONY: install debian test lm demo bench bench-sweep model clean

install: debian $(STAMP)

# Installs only what is missing, so a second `make install` touches nothing.
debian:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

NATIVE_SOURCES := $(wildcard decoders/native/*.cpp decoders/native/*.hpp) decoders/native/CMakeLists.txt

$(STAMP): requirements.lock pyproject.toml $(NATIVE_SOURCES)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	$(DECODE) native build
	$(DECODE) lm tools
	touch $(STAMP)

lm: install
	$(DECODE) lm build-default --out $(LM_DIR)

test: install
	$(PY) -m pytest tests

demo: install lm
	$(DECODE) demo

bench: install lm
	$(DECODE) bench --default

# Rescoring sweeps against the exhaustive 10 x 10 grid on both synthetic regimes (a few minutes on two cores).
bench-sweep: install lm
	$(DECODE) bench-sweep --default

# Trains models/espeak-ctc again from scratch (about 35 minutes on two cores); the repository ships its result.
model: install lm
	$(DECODE) train --out models/espeak-ctc --work data/train-espeak

clean:
	rm -rf $(VENV) $(LM_DIR) runs
