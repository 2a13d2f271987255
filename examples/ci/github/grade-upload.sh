#!/usr/bin/env bash
# Grade every uploaded submission zip: the Markdown report goes to the job summary, the JSON and HTML
# reports to ./dlgrade-reports (uploaded as artifacts by the workflow), and the job fails when any
# submission scores below FAIL_UNDER percent or cannot be read.
#   usage: grade-upload.sh RUBRIC ZIP...        env: FAIL_UNDER (default 60), GITHUB_STEP_SUMMARY
set -uo pipefail
rubric="$1"; shift
out="${REPORTS_DIR:-dlgrade-reports}"
summary="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
status=0
for zip in "$@"; do
  name="$(basename "$zip" .zip)"
  mkdir -p "$out/$name"
  grade "$zip" --rubric "$rubric" --format md --out "$out/$name" --fail-under "${FAIL_UNDER:-60}" >> "$summary"
  code=$?
  grade "$zip" --rubric "$rubric" --format html --out "$out/$name" > /dev/null 2>&1 || true
  [ "$code" -ne 0 ] && status=1
done
exit "$status"
