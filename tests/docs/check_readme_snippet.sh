#!/bin/bash
# The README's usage snippet must be examples/usage.cpp's marked region (which the build
# compiles), de-indented by two spaces: a README that drifts from compiled code fails here.
# usage: check_readme_snippet.sh README.md examples/usage.cpp
set -eu
snippet=$(sed -n '/--8<-- \[start:usage\]/,/--8<-- \[end:usage\]/p' "$2" | sed '1d;$d' | sed 's/^  //')
[ -n "$snippet" ] || { echo "no usage snippet markers in $2"; exit 1; }
readme_block=$(awk '/^```cpp$/{on=1; next} /^```$/{if (on) exit} on' "$1")
if [ "$snippet" != "$readme_block" ]; then
  echo "README.md's first C++ block differs from the snippet in $2:"
  diff <(echo "$snippet") <(echo "$readme_block") || true
  exit 1
fi
echo "README usage snippet matches $2"
