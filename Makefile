# `make help` lists the targets. Everything runs from a local virtual environment (.venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO_DB ?= sqlite:///demo.db

.PHONY: help install dev demo demo-web serve test fuzz lint bench bench-import bench-dedup bench-rank bench-concurrency bench-web db-upgrade db-check clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

$(BIN)/screening: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	@touch $@

$(VENV)/.dev: $(BIN)/screening
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

install: $(BIN)/screening ## install screening into .venv

dev: $(VENV)/.dev ## install screening with the test and lint tools

demo: install ## install, then run the main job end to end on a demo (SQLite)
	@rm -f demo.db demo.db-wal demo.db-shm
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening init
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening search add --from searches/demo_pubmed.toml
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening search add --from searches/demo_embase.toml
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening search add --from searches/demo_scopus.toml
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening search add --from searches/demo_ebsco.toml
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening search add --from searches/demo_ovid.toml
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening import screening/demo/pubmed_dinosaur.nbib --search demo_pubmed
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening import screening/demo/embase_dinosaur.ris --search demo_embase
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening import screening/demo/scopus_dinosaur.ris --search demo_scopus
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening import screening/demo/ebsco_dinosaur.ris --search demo_ebsco
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening import screening/demo/ovid_medline_dinosaur.ris --search demo_ovid
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening dedup
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening search list
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening export --format ris --out demo_export.ris
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening export --format csv --out demo_export.csv
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening user add ann --role admin
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening user add pat --role pi --as ann
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening set create dinosaurs --all --as pat \
		--criteria "Include: primary studies of dinosaur biology (anatomy, physiology, growth, behaviour). Exclude: reviews, news, studies of other animals."
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening report prisma --format svg --out demo_prisma.svg
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening report prisma --format png --out demo_prisma.png
	@echo "demo done: demo.db, demo_export.ris, demo_export.csv, demo_prisma.svg, demo_prisma.png"

demo-web: demo ## the demo review with a team, a set and a sample, served at http://127.0.0.1:8000 (prints passwords)
	@for u in alice bob; do SCREENING_DB=$(DEMO_DB) $(BIN)/screening user add $$u --role screener --as ann >/dev/null; done
	@rm -f demo_passwords.txt; for u in ann pat alice bob; do \
		p=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(9))'); \
		echo "$$p" | SCREENING_DB=$(DEMO_DB) $(BIN)/screening user password $$u --password-stdin --as ann >/dev/null; \
		echo "$$u $$p" >> demo_passwords.txt; done
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening set settings dinosaurs --as pat --include-term dinosaur \
		--include-term growth --include-term physiology --exclude-term review --exclude-term bird \
		--reason "not primary research" --reason "not dinosaurs" --reason "wrong outcome"
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening sample dinosaurs --share 0.25 --batch-size 10 --pairs alice+bob --seed 2016 --as pat
	@echo "sign in at http://127.0.0.1:8000/login with a name and password from demo_passwords.txt:"; cat demo_passwords.txt
	SCREENING_DB=$(DEMO_DB) $(BIN)/screening serve --port 8000

serve: demo-web ## the same as demo-web

test: dev ## install the dev tools and run the tests
	$(BIN)/python -m pytest -n 2

fuzz: dev ## fuzz the importers for long (FUZZ_EXAMPLES random files per property, 5000 unless set)
	SCREENING_FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),5000) $(BIN)/python -m pytest -p no:xdist -q \
		--hypothesis-show-statistics tests/test_fuzz_readers.py

lint: dev ## ruff (package, tests, benchmarks), mypy --strict (package), import-linter (the layers)
	$(BIN)/ruff check screening tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

db-upgrade: install ## upgrade the database in SCREENING_DB to the latest schema
	$(BIN)/screening init

bench: bench-import bench-dedup bench-rank bench-concurrency bench-web ## all benchmarks (prints their figures)

bench-import: install ## import a generated 100,000-record RIS file: records/s and peak memory
	$(BIN)/python bench/bench_import.py

bench-dedup: install ## every labelled set in ../shared/data/dedup through import, dedup, export; 80,000 records at once
	$(BIN)/python bench/bench_dedup.py

bench-concurrency: dev ## N screeners deciding at once on SQLite and PostgreSQL, an import beside them
	$(BIN)/python bench/bench_concurrency.py $(WRITERS)

bench-web: dev ## N screeners (SCREENERS, 20) over HTTP against `screening serve` on SQLite and PostgreSQL
	$(BIN)/python bench/bench_web.py $(SCREENERS)

bench-rank: install ## simulate every labelled set in ../shared/data/screening, beside ASReview
	$(BIN)/python bench/bench_rank.py

clean: ## remove the demo outputs
	rm -f demo.db demo.db-wal demo.db-shm demo_export.ris demo_export.csv demo_passwords.txt demo_prisma.svg demo_prisma.png
