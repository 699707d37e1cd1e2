#!/usr/bin/env bash
# Usage: cmake/help2man_subcommands.sh PROGRAM
#
# Prints a help2man include section "[SUBCOMMANDS]" with the --help of every subcommand of
# PROGRAM (a CLI11 program: its --help lists them under "Subcommands:"), nested ones too
# ("render nginx"), verbatim, so the man page says exactly what --help says. Used by
# cmake/IpoManPages.cmake at build time.
set -Eeuo pipefail

# subcommands ARGS...: the subcommand names `PROGRAM ARGS... --help` lists.
subcommands() {
  "$prog" "$@" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}'
}

# roff_verbatim: stdin as roff text lines (backslashes escaped, a leading . or ' neutralised).
roff_verbatim() {
  sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
}

# section ARGS...: the subsection for `PROGRAM ARGS...`, then its own subcommands.
section() {
  local sub
  printf '.SS "%s"\n.nf\n' "$*"
  "$prog" "$@" --help | roff_verbatim
  printf '.fi\n'
  for sub in $(subcommands "$@"); do
    section "$@" "$sub"
  done
}

main() {
  prog=${1:?usage: help2man_subcommands.sh PROGRAM}
  local sub
  echo "[SUBCOMMANDS]"
  echo "Each subcommand has its own options; \\fB$(basename "$prog") SUBCOMMAND --help\\fR prints them."
  for sub in $(subcommands); do
    section "$sub"
  done
}

main "$@"
