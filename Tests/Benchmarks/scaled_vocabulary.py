#!/usr/bin/env python3
"""Writes the default profile (rules/) with PHRASES extra vocabulary phrases (two pseudo-words each, one new
concept; inline in vocabulary.lua, or with "list" in extra.keywords read by lexicon.list) for the rules-at-scale
benchmark, deterministic for a size. Usage: scaled_vocabulary.py OUT_DIR PHRASES [list]"""
import os
import random
import shutil
import sys

out, phrases = sys.argv[1], int(sys.argv[2])
as_list = len(sys.argv) > 3 and sys.argv[3] == "list"
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
shutil.rmtree(out, ignore_errors=True)
shutil.copytree(os.path.join(root, "rules"), out, ignore=shutil.ignore_patterns("profiles"))
generator = random.Random(phrases)


def word():
    return "".join(generator.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(generator.randint(4, 9)))


path = os.path.join(out, "vocabulary.lua")
source = open(path, encoding="utf-8").read()
if as_list:
    with open(os.path.join(out, "extra.keywords"), "w", encoding="utf-8") as handle:
        handle.writelines("%s %s\n" % (word(), word()) for _ in range(phrases))
    extra = 'concept("extra_places", lexicon.list("extra.keywords"), { neutral = true })\n\n'
else:
    extra = 'concept("extra_places", {\n' + "".join('  "%s %s",\n' % (word(), word()) for _ in range(phrases)) + "}, { neutral = true })\n\n"
marker = "V.concepts = concepts"
assert marker in source
open(path, "w", encoding="utf-8").write(source.replace(marker, extra + marker, 1))
