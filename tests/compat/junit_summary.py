"""junit_summary.py FILE - one line per test case of a regrtest --junit-xml
report, sorted: "<status> <test id>", status one of ok, skipped, failure,
error.  Prints nothing (exit 1) when FILE is missing or unreadable.  Run it
with the system allocator: it only reads the report."""
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except (OSError, ET.ParseError):
    sys.exit(1)
rows = []
for case in root.iter("testcase"):
    status = "ok"
    for child in case:
        if child.tag in ("skipped", "failure", "error"):
            status = child.tag
            break
    rows.append("%s %s" % (status, case.get("name")))
print("\n".join(sorted(rows)))
