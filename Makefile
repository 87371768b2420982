# The two commands the README starts with. Both set up what they need
# (Python venv with the MongoDB stand-in) on a fresh Debian machine with Rust.
.PHONY: run test lint fmt bench chaos

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

lint:
	bash -c 'source scripts/common.sh && ensure_system_packages'
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	python3 scripts/structure.py

fmt:
	cargo fmt --all

# Load benchmark against thumbor and nginx (see scripts/bench.py); minutes.
bench:
	python3 scripts/bench.py

# The fault suite, longer: CHAOS_ROUNDS kills per test, plus the stand-in probe.
chaos:
	CHAOS_ROUNDS=$${CHAOS_ROUNDS:-5} bash scripts/test.sh --test e2e faults -- --include-ignored --nocapture
