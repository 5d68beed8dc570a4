#!/usr/bin/env python3
"""Check a running Switchyard's GET /openapi.json against the gateway itself.

1. The document is a valid OpenAPI document (openapi-spec-validator).
2. Every admin operation it lists is called twice: without the admin key
   (it must answer 401, and 401 must be documented) and with it, sending the
   documented example body and path parameters. The status must be one the
   document lists for that operation, and a JSON answer must validate
   against the documented schema (jsonschema, Draft 2020-12).

Operations run in an order that lets the examples build on each other:
lists and creations first, then reads and replacements, then deletions in
reverse order (virtual models and rules before the provider they name).

Environment:
  SWITCHYARD_URL        e.g. http://127.0.0.1:PORT (required)
  SWITCHYARD_ADMIN_KEY  the gateway's admin key (required)

Prints one line per call and a final "N operations checked, M failed";
exits non-zero on any failure.
"""

import json
import os
import sys
import urllib.error
import urllib.request

import jsonschema
from openapi_spec_validator import validate

URL = os.environ["SWITCHYARD_URL"].rstrip("/")
KEY = os.environ["SWITCHYARD_ADMIN_KEY"]


def call(method, path, body=None, key=True):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    if data is not None:
        req.add_header("content-type", "application/json")
    if key:
        req.add_header("authorization", "Bearer " + KEY)
    try:
        res = urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as e:
        res = e
    ctype = res.headers.get("content-type", "")
    if ctype.startswith("text/event-stream"):
        res.close()
        return res.status, ctype, None
    raw = res.read()
    try:
        return res.status, ctype, json.loads(raw) if raw else None
    except ValueError:
        return res.status, ctype, raw.decode(errors="replace")


def schema_for(op, status, doc):
    media = op["responses"][str(status)].get("content", {}).get("application/json")
    if not media:
        return None
    return dict(media["schema"], components=doc["components"])


# Providers first: virtual models name them, rules name both.
RANK = {"/admin/providers": 0, "/admin/models": 1, "/admin/routes": 2}


def rank(path):
    return next((r for prefix, r in RANK.items() if path.startswith(prefix)), 3)


def order(item):
    path, method, _ = item
    depth = path.count("{")
    phase = {"get": 0 if depth == 0 else 2, "post": 1 if depth == 0 else 2, "put": 3, "delete": 4}[method]
    return phase, rank(path), path


def main():
    with urllib.request.urlopen(URL + "/openapi.json", timeout=10) as r:
        doc = json.load(r)
    validate(doc)
    print("ok   document is valid OpenAPI " + doc["openapi"])
    ops = [
        (path, method, op)
        for path, item in doc["paths"].items()
        if path.startswith("/admin/")
        for method, op in item.items()
    ]
    ops.sort(key=order)
    deletes = [o for o in ops if o[1] == "delete"]
    ops = [o for o in ops if o[1] != "delete"] + sorted(deletes, key=lambda o: (-rank(o[0]), o[0]))
    failed = 0
    for path, method, op in ops:
        documented = set(op["responses"])
        concrete = path
        for p in op.get("parameters", []):
            if p["in"] == "path":
                concrete = concrete.replace("{" + p["name"] + "}", p["example"])
        example = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
        problems = []
        status, _, body = call(method.upper(), concrete, example, key=False)
        if status != 401 or "401" not in documented:
            problems.append(f"without the key: {status} (want a documented 401)")
        status, ctype, body = call(method.upper(), concrete, example)
        if str(status) not in documented:
            problems.append(f"with the key: {status} is not documented ({sorted(documented)}): {body}")
        elif status >= 500:
            problems.append(f"with the key: {status}: {body}")
        else:
            schema = schema_for(op, status, doc)
            if schema is not None:
                try:
                    jsonschema.Draft202012Validator(schema).validate(body)
                except jsonschema.ValidationError as e:
                    problems.append(f"{status} answer does not match its schema: {e.message}: {body}")
        line = f"{method.upper():6} {concrete} -> {status}"
        if problems:
            failed += 1
            print("FAIL " + line + ": " + "; ".join(problems))
        else:
            print("ok   " + line)
    print(f"{len(ops)} operations checked, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
