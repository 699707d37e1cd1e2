#!/usr/bin/env python3
"""Every snake_case command a Bash file of the repository runs is defined somewhere.

shellcheck cannot see a call to a function that no file defines (CI's faults_event_storm
failed so after a helper moved to a library and one caller was left behind; bench/nginx/run
called an ngx_fail nobody wrote). This check reduces each file to the text Bash runs as code
(comments, heredoc bodies and quoted data removed; command substitutions inside double
quotes kept), collects the functions every file defines, and reports each snake_case word in
command position that is neither a defined function nor a command on PATH.

Usage: undefined_functions.py FILE...   (exit 1 and one line per unknown call)
"""
import re
import shutil
import sys

DEF = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(\)")
# A word in command position; after "$(" it may end the substitution, elsewhere a word
# followed by ")" is a case pattern.
CALL = re.compile(
    r"(?:\$\(\s*([a-z][a-z0-9]*_[a-z0-9_]*)(?=\s|$|\)|;)"
    r"|(?:^\s*|`\s*|\|\|?\s*|&&\s*|;\s*|!\s+|\{\s+|\(\s*|"
    r"\b(?:if|then|else|elif|do|while|until|time)\s+)"
    r"([a-z][a-z0-9]*_[a-z0-9_]*)(?=\s|$|;))(?!\s*=)", re.M)
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_]+)\1")


def code_text(src):
    """src with everything Bash does not run as code replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(src)
    stack = ["code"]  # "code", "dq" (double quotes), "sub" ($( inside double quotes)
    depth = []        # paren depth of each open $( ... ) that sits inside double quotes
    heredocs = []
    at_word_start = True
    while i < n:
        c = src[i]
        mode = stack[-1]
        if c == "\n":
            out.append(c)
            i += 1
            at_word_start = True
            if heredocs and mode != "dq":
                # Skip heredoc bodies up to their end words.
                for end in heredocs:
                    while i < n:
                        j = src.find("\n", i)
                        j = n if j < 0 else j
                        line = src[i:j]
                        out.append("\n" if j < n else "")
                        i = j + 1
                        if line.strip() == end:
                            break
                heredocs = []
            continue
        if mode == "dq":
            if c == "\\":
                out.append("  ")
                i += 2
                continue
            if c == '"':
                stack.pop()
                out.append(" ")
                i += 1
                continue
            if src.startswith("$(", i) and not src.startswith("$((", i):
                stack.append("sub")
                depth.append(0)
                out.append("$(")
                i += 2
                continue
            out.append(" ")
            i += 1
            continue
        # code or sub
        if c == "\\":
            out.append(src[i:i + 2].replace("\n", "\n"))
            i += 2
            continue
        if c == "#" and at_word_start:
            j = src.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if c == "'":
            j = src.find("'", i + 1)
            j = n - 1 if j < 0 else j
            out.append("".join("\n" if ch == "\n" else " " for ch in src[i:j + 1]))
            i = j + 1
            at_word_start = False
            continue
        if c == '"':
            stack.append("dq")
            out.append(" ")
            i += 1
            continue
        if c == "<" and src.startswith("<<", i) and not src.startswith("<<<", i):
            m = HEREDOC.match(src, i)
            if m:
                heredocs.append(m.group(2))
                out.append(" " * (m.end() - i))
                i = m.end()
                continue
        if src.startswith("((", i) or src.startswith("$((", i):
            # Arithmetic: names in it are variables.
            j = i + (3 if c == "$" else 2)
            level = 2
            while j < n and level > 0:
                level += {"(": 1, ")": -1}.get(src[j], 0)
                j += 1
            out.append("".join("\n" if ch == "\n" else " " for ch in src[i:j]))
            i = j
            at_word_start = False
            continue
        if mode == "sub":
            if c == "(":
                depth[-1] += 1
            elif c == ")":
                if depth[-1] == 0:
                    depth.pop()
                    stack.pop()
                    out.append(")")
                    i += 1
                    continue
                depth[-1] -= 1
        out.append(c)
        at_word_start = c in " \t;|&(){}`"
        i += 1
    return "".join(out)


def main(files):
    texts = {}
    defined = set()
    for path in files:
        with open(path, encoding="utf-8", errors="replace") as f:
            texts[path] = code_text(f.read())
        for line in texts[path].splitlines():
            m = DEF.match(line)
            if m:
                defined.add(m.group(1))
    bad = []
    for path, text in texts.items():
        for number, line in enumerate(text.splitlines(), 1):
            if DEF.match(line) and line.rstrip().endswith(("{", "()")):
                line = line[DEF.match(line).end():]
            for name in (a or b for a, b in CALL.findall(line)):
                if name not in defined and not shutil.which(name):
                    bad.append(f"{path}:{number}: '{name}' is called but no Bash file defines it")
    for b in bad:
        print(b, file=sys.stderr)
    print(f"undefined functions: {len(files)} files, {len(defined)} functions defined, "
          f"{len(bad)} unknown call(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
