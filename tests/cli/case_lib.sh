# Shared by the case scripts of tests/cli (pipeline.sh, prefetch.sh,
# read_ahead.sh, repro.sh, riommu.sh, stdin.sh): sourced right after their
# `set -euo pipefail` with the case's name and the scratch root,
#   . "$(dirname "$0")/case_lib.sh" "$case" "$tmp"
# it makes SCRATCH/CASE afresh, enters it, and defines the helpers below.
rm -rf "${2:?}/${1:?}"
mkdir -p "$2/$1"
cd "$2/$1"
# The case fails with a message (what the test prints instead of "ok").
fail() { echo "FAIL: $*"; exit 1; }
# A number from the JSON: jnum FILE OBJECT KEY (KEY inside the one-line OBJECT).
jnum() { grep "^  \"$2\": " "$1" | grep -o "\"$3\": [-0-9.e+]*" | head -n 1 | sed 's/.*: //'; }
