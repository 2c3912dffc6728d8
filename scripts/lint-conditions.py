#!/usr/bin/env python3
"""lint-conditions.py FILE... - STYLE.md allows at most one assignment
inside the condition of an if or while (`if ((rc = f()) != FLD_OK)`), and
never one chained with || or &&: each step that can fail gets its own if,
so that a reader sees one decision per line. Prints each condition that
breaks the rule and exits 1 if there is any."""
import re
import sys

ASSIGN = re.compile(r'(?<![=!<>+\-*/%&|^])=(?!=)|[+\-*/%&|^]=|<<=|>>=')


def strip(src):
    """Blank out comments, strings and character literals, keeping lines."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('/*', i):
            j = src.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', src[i:j]))
            i = j
        elif src.startswith('//', i):
            j = src.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and src[j] != c:
                j += 2 if src[j] == '\\' else 1
            out.append(c + re.sub(r'[^\n]', ' ', src[i + 1:j]) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def conditions(src):
    for m in re.finditer(r'\b(if|while)\s*\(', src):
        i, depth = m.end(), 1
        while depth and i < len(src):
            depth += {'(': 1, ')': -1}.get(src[i], 0)
            i += 1
        yield src.count('\n', 0, m.start()) + 1, src[m.end():i - 1]


def main(paths):
    bad = 0
    for path in paths:
        with open(path, encoding='utf-8') as f:
            src = strip(f.read())
        for line, cond in conditions(src):
            n_assign = len(ASSIGN.findall(cond))
            if n_assign >= 2:
                print(f'{path}:{line}: more than one assignment in a condition')
                bad += 1
            elif n_assign == 1 and ('||' in cond or '&&' in cond):
                print(f'{path}:{line}: an assignment chained with || or &&')
                bad += 1
    if bad:
        print(f'lint-conditions: {bad} conditions to split (STYLE.md: '
              'at most one assignment inside a condition)')
        return 1
    print(f'lint: conditions ok ({len(paths)} files)')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
