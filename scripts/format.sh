#!/usr/bin/env bash
# Formatting and lint for Ferry's C++ (the repository's .clang-format and
# .clang-tidy):
#   scripts/format.sh          reformat every tracked C++ file in place
#   scripts/format.sh --check  list unformatted files and fail (the test command runs this)
#   scripts/format.sh --tidy [BUILD_DIR]  run clang-tidy on every production .cc
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t files < <(git ls-files '*.cc' '*.h')

case "${1:-}" in
  --check)
    bad=()
    for f in "${files[@]}"; do
      clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
    done
    if ((${#bad[@]})); then
      echo "unformatted (run scripts/format.sh): ${bad[*]}" >&2
      exit 1
    fi
    echo "format: ${#files[@]} files formatted" ;;
  --tidy)
    build_dir=${2:-build}
    [[ -f $build_dir/compile_commands.json ]] || {
      echo "no $build_dir/compile_commands.json: build first (scripts/run.sh build)" >&2
      exit 2
    }
    mapfile -t sources < <(git ls-files 'api/*.cc' 'controller/*.cc' 'node-agent/*.cc')
    printf '%s\n' "${sources[@]}" |
      xargs -P "$(nproc)" -n 8 clang-tidy -p "$build_dir" --quiet --warnings-as-errors='*' ;;
  "") clang-format -i "${files[@]}" ;;
  *) echo "usage: scripts/format.sh [--check | --tidy [BUILD_DIR]]" >&2; exit 2 ;;
esac
