# make demo  : crawl the bundled demo web (127.0.0.1 only) into ./archive and print a summary
# make test  : the test suite (real HTTP servers on 127.0.0.1, real scrapy crawl subprocesses,
#              Redis, an S3 server, pywb and Chromium)
# make bench : the full crawl against bare Scrapy and trafilatura alone; MinHash speed and accuracy;
#              the dedup index (embedded and Redis), its cost per article, its precision and recall;
#              publishing a 1 GiB WARC file to S3 (moto) against a plain boto3 upload_file;
#              re-processing a WARC file against warcio; the syndication report at 10,000 articles
# Each builds its own virtualenv in .venv from pyproject.toml (Python 3.11+ needed).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test bench venv tools clean redis-server chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

venv: $(STAMP)

# pywb and wacz pin other versions of what we use: they get a virtualenv of their own, run as
# subprocesses (newsarchive/tools.py finds them there).
TOOLS := .archive-tools
TOOLS_STAMP := $(TOOLS)/.installed
TOOLS_PACKAGES := pywb==2.10.0 wacz==0.6.0
$(TOOLS_STAMP): Makefile
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet $(TOOLS_PACKAGES)
	touch $@

tools: $(TOOLS_STAMP)

# The Redis dedup tests and bench run a real redis-server (tests/redis_server.py); install it
# where it is missing (Debian/Ubuntu).
redis-server:
	@command -v redis-server >/dev/null || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; }

demo: $(STAMP)
	$(BIN)/newsarchive demo --archive ./archive

# Debian's Chromium renders the syndication report in its tests.
chromium:
	@command -v chromium >/dev/null || { \
		$(SUDO) apt-get update && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

test: $(STAMP) $(TOOLS_STAMP) redis-server chromium
	$(BIN)/python -m pytest

bench: $(STAMP) redis-server chromium
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/crawl_throughput.py
	$(BIN)/python bench/minhash_speed.py
	$(BIN)/python bench/lsh_index.py
	$(BIN)/python bench/dedup_stage.py
	$(BIN)/python bench/dedup_quality.py
	$(BIN)/python bench/s3_upload.py
	$(BIN)/python bench/reprocess_throughput.py
	$(BIN)/python bench/report_scale.py

clean:
	rm -rf $(VENV) $(TOOLS) archive build *.egg-info
