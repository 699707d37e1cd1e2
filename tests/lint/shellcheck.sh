#!/usr/bin/env bash
# Every Bash file of the repository passes shellcheck at severity "warning", and none pipes a
# lister that writes in pieces (nft, iptables -S, a log tail) into `grep -q` in its own shell:
# grep exits at the first match, the lister dies of SIGPIPE, and pipefail turns a match into a
# failure (CI's faults_rename_recreate failed so; install-agent could have deleted a full table).
# Inside `bash -c '...'`/`sh -c "..."` strings there is no pipefail, so those lines are allowed.
# Every snake_case command a file runs is a function some file defines or a command on PATH
# (tests/lint/undefined_functions.py).
set -Eeuo pipefail
cd "${IPO_SRC:?}"
mapfile -t files < <(git ls-files | while read -r f; do
  [[ -f $f ]] || continue
  case $f in
    *.sh | *.bash-completion) echo "$f" ;;
    *.*) ;;
    *) head -n1 "$f" | grep -q '^#!.*bash' && echo "$f" ;;
  esac
done)
echo "shellcheck: ${#files[@]} files"
# Two at a time (CI has two cores; one shellcheck over all files took 96 s there).
printf '%s\0' "${files[@]}" | xargs -0 -P 2 -n 16 shellcheck -x -S warning
if grep -nE '(\bnft\b|tables[^|]* -S\b|\$tool[^|]* -S\b|\btail\b|fault_log_since)[^|#]*\|[[:space:]]*grep -[a-zA-Z]*q' "${files[@]}" |
  grep -vE '^[^:]+:[0-9]+:[[:space:]]*#|(bash|sh) -c '; then
  echo "shellcheck: the lines above end a pipeline in grep -q after a lister that writes in pieces;" \
    "capture the output first (out=\$(...); grep -q ... <<<\"\$out\")" >&2
  exit 1
fi
# A call to a function no file defines passes shellcheck and fails only when the line runs.
probe=$(mktemp --suffix=.sh)
trap 'rm -f "$probe"' EXIT
printf '%s\n' 'known_helper() { :; }' 'known_helper' 'x=$(missing_helper "a b")' >"$probe"
if python3 "$IPO_SRC/tests/lint/undefined_functions.py" "$probe" >/dev/null 2>&1; then
  echo "shellcheck: the undefined-function check missed missing_helper in its self-test" >&2
  exit 1
fi
python3 "$IPO_SRC/tests/lint/undefined_functions.py" "${files[@]}"
echo "shellcheck: clean"
