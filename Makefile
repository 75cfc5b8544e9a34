# The two commands of README.md. Both are idempotent: the venv is rebuilt only when
# pyproject.toml changes, and Toxiproxy is built only when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean toxiproxy chromium docs

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Toxiproxy v2 from source with the Go toolchain, into the git-ignored .tools/ folder.
TOXIPROXY := .tools/toxiproxy/server
$(TOXIPROXY):
	GOBIN=$(CURDIR)/.tools/toxiproxy GOFLAGS=-modcacherw go install github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0

toxiproxy: $(TOXIPROXY)

# actionlint checks the documented GitHub Actions workflow (docs/github-actions.yml); built
# from source with go install like Toxiproxy, into .tools/.
ACTIONLINT := .tools/actionlint/actionlint
$(ACTIONLINT):
	GOBIN=$(CURDIR)/.tools/actionlint GOFLAGS=-modcacherw go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

# The documentation site: every page, link and anchor checked (mkdocs build --strict).
docs: $(STAMP) $(ACTIONLINT)
	$(ACTIONLINT) docs/github-actions.yml
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m harness.cli demo
	$(BIN)/python -m strategies.league

lint: $(STAMP)
	$(BIN)/ruff check harness tests bench strategies
	$(BIN)/ruff format --check harness tests bench strategies

# Debian's chromium renders the HTML report in its test; make test requires it and says why
# when it cannot install it.
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || { echo "make chromium: could not install Debian's chromium with apt-get (needed by the HTML report test; run as root, or install it yourself)"; exit 1; }

test: lint docs $(TOXIPROXY) chromium
	CHAOS_HARNESS_REQUIRE_CHROMIUM=1 $(BIN)/python -m pytest -n auto --chaos-require-toxiproxy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
