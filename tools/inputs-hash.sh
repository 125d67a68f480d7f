#!/usr/bin/env bash
# The hash of what the notebooks read besides their own text, which the execution cache does not
# track: data/, the package, the extensions and the pinned requirements. `make site` drops its
# execution cache when it changes; the gate build in the tests reuses that cache only while it holds.
set -euo pipefail
cd "$(dirname "$0")/.."
cat data/* ftguide/*.py ftguide/*/*.py _ext/*.py _ext/planner/* requirements.txt | sha256sum | cut -c1-16
