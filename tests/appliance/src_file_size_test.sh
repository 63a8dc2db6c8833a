#!/usr/bin/env bash
# No file in src/ is over 400 lines (the project rule: one responsibility per
# file). Every src/**/*.cpp and *.hpp is counted, the largest are listed, and
# the test fails naming each file over the limit with its line count. The
# check is proven to fail first, on a copy of src/ with two files padded past
# the limit, and to pass a file of exactly 400 lines.
# Usage: src_file_size_test.sh SOURCE_DIR
#        src_file_size_test.sh --check DIR   (the check alone, on DIR)
set -euo pipefail
limit=400

# Lists DIR's .cpp and .hpp files with their line counts, largest last; exits
# 1 naming every one over the limit.
check() {
  local dir=$1 lines file over=()
  [[ -d $dir ]] || { echo "FAIL: no directory $dir" >&2; exit 1; }
  local counted=0
  while read -r lines file; do
    counted=$((counted + 1))
    (( lines > limit )) && over+=("${file#"$dir"/}: $lines lines")
  done < <(find "$dir" -type f \( -name '*.cpp' -o -name '*.hpp' \) -exec wc -l {} + | grep -v ' total$' | sort -n)
  (( counted > 0 )) || { echo "FAIL: no .cpp or .hpp files under $dir" >&2; exit 1; }
  if (( ${#over[@]} > 0 )); then
    echo "FAIL: ${#over[@]} file(s) in $dir over $limit lines:" >&2
    printf '  %s\n' "${over[@]}" >&2
    exit 1
  fi
  echo "ok: $counted files in $dir, none over $limit lines; the largest:"
  find "$dir" -type f \( -name '*.cpp' -o -name '*.hpp' \) -exec wc -l {} + | grep -v ' total$' | sort -n | tail -3 |
    sed "s|$dir/||; s|^ *|  |"
}

if [[ ${1:-} == --check ]]; then
  check "$2"
  exit 0
fi
src=${1:?usage: src_file_size_test.sh SOURCE_DIR}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The check fails on files over the limit, naming each, and passes 400 lines.
cp -r "$src/src" "$tmp/src"
first=$(find "$tmp/src" -type f -name '*.cpp' | sort | sed -n 1p)
second=$(find "$tmp/src" -mindepth 2 -type f -name '*.hpp' | sort | tail -1)
exact=$(find "$tmp/src" -type f -name '*.cpp' | sort | tail -1)
[[ -n $first && -n $second && -n $exact && $first != "$exact" ]] || { echo "FAIL: too few files in $src/src" >&2; exit 1; }
pad() {  # makes FILE exactly N lines long
  local file=$1 n=$2 have
  head -n "$n" "$file" > "$file.new"
  have=$(wc -l < "$file.new")
  if (( have < n )); then printf '// padding\n%.0s' $(seq $((n - have))) >> "$file.new"; fi
  mv "$file.new" "$file"
  [[ $(wc -l < "$file") == "$n" ]] || { echo "FAIL: could not pad $file to $n lines" >&2; exit 1; }
}
pad "$first" 401
pad "$second" 450
pad "$exact" 400
rc=0
"$self" --check "$tmp/src" > "$tmp/out" 2>&1 || rc=$?
[[ $rc == 1 ]] || { echo "FAIL: the check passed a copy with files over $limit lines (exit $rc):" >&2; cat "$tmp/out" >&2; exit 1; }
for named in "${first#"$tmp/src"/}: 401 lines" "${second#"$tmp/src"/}: 450 lines"; do
  grep -qF -- "$named" "$tmp/out" || { echo "FAIL: the check does not name '$named':" >&2; cat "$tmp/out" >&2; exit 1; }
done
! grep -qF -- "${exact#"$tmp/src"/}:" "$tmp/out" || { echo "FAIL: the check names a file of exactly $limit lines:" >&2; cat "$tmp/out" >&2; exit 1; }
echo "ok: the check fails on a padded copy, naming ${first#"$tmp/src"/} (401) and ${second#"$tmp/src"/} (450), and passes 400 lines"

check "$src/src"
