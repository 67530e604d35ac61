#!/usr/bin/env bash
# Checks that every C++ file under include/ tests/ examples/ bench/ is formatted as .clang-format says.
# Changes nothing: prints the offending files and lines, exits 1 if any. To fix, run the printed
# command. CLANG_FORMAT picks the binary (default: clang-format); the config was tuned with version 14.
set -euo pipefail
cd "$(dirname "$0")/../.."
clang_format=${CLANG_FORMAT:-clang-format}
if ! command -v "$clang_format" >/dev/null 2>&1; then
  echo "check_format: $clang_format not found (install clang-format or set CLANG_FORMAT)" >&2
  exit 2
fi
if [ ! -f .clang-format ]; then
  echo "check_format: no .clang-format in $PWD" >&2
  exit 2
fi

files=()
for dir in include tests examples bench; do
  [ -d "$dir" ] || continue
  while IFS= read -r -d '' f; do files+=("$f"); done < <(
    find "$dir" -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' -o -name '*.ipp' \) -print0 | sort -z)
done
if [ ${#files[@]} -eq 0 ]; then
  echo "check_format: no C++ files found" >&2
  exit 2
fi

bad=()
for f in "${files[@]}"; do
  if ! "$clang_format" --style=file --dry-run --Werror "$f" 2>"${TMPDIR:-/tmp}/check_format.$$"; then
    bad+=("$f")
    head -n 20 "${TMPDIR:-/tmp}/check_format.$$" >&2
  fi
done
rm -f "${TMPDIR:-/tmp}/check_format.$$"

if [ ${#bad[@]} -ne 0 ]; then
  echo "check_format: ${#bad[@]} of ${#files[@]} files are not formatted ($("$clang_format" --version)):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  echo "fix with: $clang_format -i ${bad[*]}" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
