#!/usr/bin/env python3
"""Compares a Slither JSON report with the committed triage (contracts/slither-triage.json).

Every finding over contracts/src must have a triage entry with a verdict and a reason; a finding
without one (a new contract, a changed function) fails the run, and so does an entry whose
finding is gone (fixed code: drop the entry). Findings are keyed by detector and description with
the source locations removed, so moving code does not churn the file.

  slither-triage.py REPORT.json TRIAGE.json           check (exit 1 on a difference)
  slither-triage.py REPORT.json TRIAGE.json --update  add new findings as "untriaged", drop gone
                                                      ones (an untriaged entry still fails)
"""
import json
import re
import sys

LOCATION = re.compile(r" \([^()]*#\d+(?:-\d+)?\)")


def key(result):
    text = LOCATION.sub("", result["description"])
    return " ".join(text.split())


def main():
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--update"):
        sys.exit(__doc__)
    report_path, triage_path = sys.argv[1], sys.argv[2]
    update = len(sys.argv) == 4
    report = json.load(open(report_path))
    if not report.get("success", False):
        sys.exit(f"slither failed: {report.get('error')}")
    found = {}
    for r in report["results"].get("detectors", []):
        found[key(r)] = r
    triage = json.load(open(triage_path))
    entries = {e["finding"]: e for e in triage["findings"]}

    new = [k for k in found if k not in entries]
    gone = [k for k in entries if k not in found]
    untriaged = [k for k, e in entries.items() if k in found and (e["verdict"] == "untriaged" or not e["why"].strip())]

    if update:
        for k in gone:
            del entries[k]
        for k in new:
            r = found[k]
            entries[k] = {"check": r["check"], "impact": r["impact"], "finding": k, "verdict": "untriaged", "why": ""}
        triage["findings"] = sorted(entries.values(), key=lambda e: (e["check"], e["finding"]))
        with open(triage_path, "w") as f:
            json.dump(triage, f, indent=2)
            f.write("\n")
        print(f"{triage_path}: {len(new)} added as untriaged, {len(gone)} dropped")
        return

    for k in new:
        r = found[k]
        print(f"NEW [{r['impact']}] {r['check']}: {r['description'].strip()}")
    for k in gone:
        print(f"GONE (drop its triage entry) {entries[k]['check']}: {k}")
    for k in untriaged:
        print(f"UNTRIAGED {entries[k]['check']}: {k}")
    counts = {}
    for k in found:
        v = entries.get(k, {}).get("verdict", "new")
        counts[v] = counts.get(v, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    if new or gone or untriaged:
        print(f"slither: {len(found)} findings ({summary}); triage differs: see above, then "
              f"fix the code or triage in {triage_path} (./script/slither.sh --update)")
        sys.exit(1)
    print(f"slither: {len(found)} findings, all triaged ({summary})")


if __name__ == "__main__":
    main()
