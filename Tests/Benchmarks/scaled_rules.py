#!/usr/bin/env python3
"""Writes a rule set for the rules-at-scale benchmark: the seed profile (rules/profiles/seed) plus KEYWORDS extra
keywords (two pseudo-words each, in a tier of their own: inline in urgency.lua, or with "list" in extra.keywords, read
by keywords.list) and MODIFIERS extra regex modifiers (\\b(a|b)\\b.*\\bc\\b, adding 0), deterministic for a size.
Usage: scaled_rules.py OUT_DIR KEYWORDS MODIFIERS [list]"""
import os
import random
import sys

out, keywords, modifiers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
as_list = len(sys.argv) > 4 and sys.argv[4] == "list"
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
source = open(os.path.join(root, "rules", "profiles", "seed", "urgency.lua"), encoding="utf-8").read()
generator = random.Random(keywords * 7919 + modifiers)
letters = "abcdefghijklmnopqrstuvwxyz"


def word():
    return "".join(generator.choice(letters) for _ in range(generator.randint(4, 9)))


lines = []
os.makedirs(out, exist_ok=True)
if keywords and as_list:
    with open(os.path.join(out, "extra.keywords"), "w", encoding="utf-8") as handle:
        handle.write("# generated keywords, one per line\n")
        handle.writelines("%s %s\n" % (word(), word()) for _ in range(keywords))
    lines.append('    tier { name = "extra", score = 2, keywords = keywords.list("extra.keywords") },')
elif keywords:
    lines.append('    tier { name = "extra", score = 2, keywords = {')
    lines += ['      "%s %s",' % (word(), word()) for _ in range(keywords)]
    lines.append("    } },")
marker = '    tier { name = "minimal", score = 1, keywords = {'
assert marker in source
source = source.replace(marker, "\n".join(lines) + ("\n" if lines else "") + marker, 1)
extra = ['    modifier { name = "extra %d", pattern = [[\\b(%s|%s)\\b.*\\b%s\\b]], flags = "i", add = 0.0 },' % (i, word(), word(), word())
         for i in range(modifiers)]
marker = '    modifier { name = "please",'
assert marker in source
index = source.index(marker)
end = source.index("\n", index) + 1
source = source[:end] + "".join(line + "\n" for line in extra) + source[end:]
with open(os.path.join(out, "urgency.lua"), "w", encoding="utf-8") as handle:
    handle.write(source)
