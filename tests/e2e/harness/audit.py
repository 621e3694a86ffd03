"""Reading audit entries: the node's file, the shipped S3 objects, the control plane's export."""

import gzip
import json


def parse_lines(text):
    """Every non-empty line as JSON; a line that is not JSON fails the test with the line."""
    out = []
    for i, line in enumerate(text.splitlines()):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise AssertionError(f"audit line {i} is not JSON ({e}): {line[:300]!r}") from e
    return out


def gunzip_text(blob):
    return gzip.decompress(blob).decode("utf-8")


def path_of(entry):
    return (entry.get("request") or {}).get("path", "")


def requests_to(entries, path):
    return [e for e in entries if e.get("type") == "request" and path_of(e) == path]


def responses_to(entries, path):
    return [e for e in entries if e.get("type") == "response" and path_of(e) == path]
