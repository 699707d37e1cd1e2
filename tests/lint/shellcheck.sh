#!/usr/bin/env bash
# Every Bash file of the repository passes shellcheck at severity "warning".
set -Eeuo pipefail
cd "${IPO_SRC:?}"
mapfile -t files < <(git ls-files | while read -r f; do
  [[ -f $f ]] || continue
  case $f in
    *.sh) echo "$f" ;;
    *.*) ;;
    *) head -n1 "$f" | grep -q '^#!.*bash' && echo "$f" ;;
  esac
done)
echo "shellcheck: ${#files[@]} files"
shellcheck -x -S warning "${files[@]}"
echo "shellcheck: clean"
