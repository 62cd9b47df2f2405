#!/bin/sh
# run_expect.sh STATUS REGEX COMMAND [ARGS...]
# Runs COMMAND, shows what it printed (stdout and stderr, progress lines unfolded), and
# succeeds only if it exited with STATUS and a line of its output matches the extended
# regular expression REGEX. The example tests use it to check results and error messages.
set -u
want_status=$1 regex=$2
shift 2
out=$("$@" 2>&1)
status=$?
printf '%s\n' "$out" | tr '\r' '\n'
if [ "$status" -ne "$want_status" ]; then
  echo "run_expect.sh: exit status $status, expected $want_status" >&2
  exit 1
fi
if ! printf '%s\n' "$out" | tr '\r' '\n' | grep -Eq -- "$regex"; then
  echo "run_expect.sh: no output line matches: $regex" >&2
  exit 1
fi
exit 0
