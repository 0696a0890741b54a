#!/usr/bin/env python3
"""The reference for `score --csv` in `make bench`: the seed's keyword scorer as the seed's Python service runs it
(tiers of lower-cased substrings, the highest matching tier, regular-expression modifiers added up to a cap of 5,
rounded to one decimal; ../shared/seed/SCORER.md), over a CSV from standard input or a file, writing the rows back
with an `urgency` column. Written from the scorer's description, for timing only."""
import csv
import re
import sys

TIERS = [
    (5, ["can't access", "cant access", "cannot access", "can't login", "cant login", "unable to access", "blocked",
         "account blocked", "dead-end", "fraud", "unauthorized", "stolen", "hacked", "someone used my id", "used my id",
         "identity misuse", "abuse", "abusing", "punish me", "punish me forever", "desperately need", "urgent cash",
         "emergency", "accident", "can't be", "it can't be"]),
    (4, ["rejected", "denied", "application rejected", "loan rejected", "reapply", "another 7 days", "7 days",
         "7more days", "penalty", "loan approval", "approved", "disbursed", "not received", "have not received",
         "when will", "waiting", "haven't received", "crb", "credit report", "clearance", "certificate of clearance",
         "trans union", "batch number", "clearance batch", "system says", "update your systems", "wrong balance"]),
    (3, ["will pay", "i will pay", "pay on", "pay by", "promise", "promise to pay", "late payment", "overdue", "delay",
         "delayed salary", "not been paid", "salary delayed", "bear with me", "request more time", "allow me to pay",
         "amicable plan", "paid earlier", "paid part", "reduce my loan", "tomorrow", "next week", "within a week",
         "72hrs", "72 hours"]),
    (2, ["how to", "how do i", "how can i", "kindly advise", "please advise", "update", "change", "information",
         "number changed", "validate", "sms", "mpesa sms", "payment options", "weekly", "monthly",
         "adjust your payment", "question", "query", "clarify", "don't understand"]),
    (1, ["thank", "thanks", "thank you", "appreciate", "god bless", "ok", "okay", "alright", "have cleared my loan",
         "cleared my loan"]),
]
MODIFIERS = [
    (re.compile(r"\b(can'?t|cannot|unable to)\b", re.IGNORECASE), 1.0),
    (re.compile(r"\b(why|what|when)\b.*\b(rejected|denied|blocked)\b", re.IGNORECASE), 2.0),
    (re.compile(r"\b\d+\s*(days?|weeks?|months?)\b", re.IGNORECASE), 0.5),
    (re.compile(r"\?{2,}", re.IGNORECASE), 0.5),
    (re.compile(r"PLEASE|PLZ|PLS", re.IGNORECASE), 0.5),
]


def keyword_score(message):
    lower = message.lower()
    score = 1.0
    for tier, keywords in TIERS:
        if any(keyword in lower for keyword in keywords):
            score = max(score, float(tier))
    for pattern, add in MODIFIERS:
        if pattern.search(message):
            score = min(5.0, score + add)
    return round(score, 1)


def main():
    source = open(sys.argv[1], newline="", encoding="utf-8") if len(sys.argv) > 1 else sys.stdin
    reader = csv.DictReader(source)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(reader.fieldnames + ["urgency"])
    for row in reader:
        writer.writerow([row[name] for name in reader.fieldnames] + [keyword_score(row["message"])])


if __name__ == "__main__":
    main()
