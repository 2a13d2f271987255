#!/usr/bin/env bash
# Grade the submission zips given, each once: the Markdown report goes to the job summary, the JSON, Markdown
# and HTML reports to ./dlgrade-reports (uploaded as artifacts by the workflow), and the job fails when a
# submission scores below FAIL_UNDER percent, cannot be read, or could not be graded (a fault of the grader).
#   usage: grade-upload.sh RUBRIC ZIP...        env: FAIL_UNDER (default 60), SANDBOX (default require),
#                                               GITHUB_STEP_SUMMARY
set -uo pipefail
rubric="$1"; shift
out="${REPORTS_DIR:-dlgrade-reports}"
summary="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
status=0
for zip in "$@"; do
  name="$(basename "$zip" .zip)"
  mkdir -p "$out/$name"
  grade "$zip" --rubric "$rubric" --sandbox "${SANDBOX:-require}" --format md --out "$out/$name" \
    --fail-under "${FAIL_UNDER:-60}" >> "$summary"
  [ "$?" -ne 0 ] && status=1
done
exit "$status"
