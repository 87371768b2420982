# The two commands the README starts with. Both set up what they need
# (Python venv with the MongoDB stand-in) on a fresh Debian machine with Rust.
.PHONY: run test lint fmt

run:
	bash scripts/run.sh

test:
	bash scripts/test.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all
