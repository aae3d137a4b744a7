#!/usr/bin/python3
"""The rows of `make bench`'s one table of ratios, and the table.

Every benchmark that compares two setups (attls and what it is measured
against) appends rows to the file named by $BENCH_ROWS, one JSON object a
line, and prints its own details as it likes; scripts/bench prints the table
of all rows at the end:

    {"section": "IKE", "metric": "negotiations/s, ECP-256, 8 initiators",
     "unit": "/s", "better": "higher", "target": 1.5,
     "a": "iked", "a_values": [812.0, 790.5, 830.1],
     "b": "charon", "b_values": [455.2, 470.0, 440.9]}

a_values[i] and b_values[i] were measured in the same repetition (the setups
interleaved within it), so the ratio a/b is taken per repetition: the table
shows the medians of a and b, the median ratio and its spread (min-max over
repetitions), and whether the target holds for the median: a/b >= target
when higher is better, a/b <= target when lower is better.

    scripts/benchtab.py ROWS_FILE...     print the table of these rows
"""
import json
import os
import statistics
import sys


def add_row(section, metric, a, a_values, b, b_values, unit, better="higher", target=None,
            path=None):
    """Append one row to path (default $BENCH_ROWS; nothing when unset)."""
    path = path or os.environ.get("BENCH_ROWS")
    if not path:
        return
    if len(a_values) != len(b_values) or not a_values:
        raise ValueError("a row needs one value of each setup per repetition")
    if better not in ("higher", "lower"):
        raise ValueError("better is 'higher' or 'lower'")
    row = {"section": section, "metric": metric, "unit": unit, "better": better,
           "target": target, "a": a, "a_values": list(a_values), "b": b,
           "b_values": list(b_values)}
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


def load_rows(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            rows.extend(json.loads(line) for line in f if line.strip())
    return rows


def _num(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.3g" % v


def format_table(rows):
    """The table as text: one line per row, columns aligned."""
    head = ("section", "metric", "A", "B", "A/B median (min-max)", "target")
    lines = [head]
    for r in rows:
        ratios = [a / b for a, b in zip(r["a_values"], r["b_values"]) if b]
        ratio = statistics.median(ratios) if ratios else float("nan")
        target = ""
        if r.get("target") is not None:
            sign = ">=" if r["better"] == "higher" else "<="
            met = ratio >= r["target"] if r["better"] == "higher" else ratio <= r["target"]
            target = "%s %s %s" % (sign, _num(r["target"]), "met" if met else "NOT met")
        spread = "%.2f (%.2f-%.2f)" % (ratio, min(ratios), max(ratios)) if ratios else "n/a"
        lines.append((r["section"], "%s [%s]" % (r["metric"], r["unit"]),
                      "%s %s" % (r["a"], _num(statistics.median(r["a_values"]))),
                      "%s %s" % (r["b"], _num(statistics.median(r["b_values"]))),
                      spread, target))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv):
    if len(argv) < 2:
        sys.exit("usage: benchtab.py ROWS_FILE...")
    rows = load_rows(argv[1:])
    if rows:
        print(format_table(rows))


if __name__ == "__main__":
    main(sys.argv)
