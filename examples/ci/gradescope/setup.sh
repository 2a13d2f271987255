#!/usr/bin/env bash
# Gradescope runs this once when the autograder image is built.  The autograder zip holds this file,
# run_autograder and dlgrade's source in dlgrade/.
set -euo pipefail
apt-get update && apt-get install -y python3 python3-pip bubblewrap
pip3 install torch --index-url https://download.pytorch.org/whl/cpu
pip3 install /autograder/source/dlgrade /autograder/source/dlgrade/courses   # the engine and the course content
