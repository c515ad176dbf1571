#!/usr/bin/env python3
"""Checks what the end-to-end tests saw against an OpenAPI document.

usage: openapi_conformance.py answers SPEC.yaml ANSWERS.jsonl
       openapi_conformance.py requests SPEC.yaml REQUESTS.jsonl

answers: the REST API's answers, one JSON object per line as tests/e2e/http_client.cpp writes
them (method, target, status, contentType and, for JSON answers, body), against
docs/api/backoffice.yaml. Each must be one the document describes for its operation: a
documented status (or `default`), a documented media type, and a body that the schema of that
media type accepts (JSON Schema 2020-12, as OpenAPI 3.1 says).

requests: the requests pagohubd made to back-offices, as tools/fake-bo records them (method,
target, idempotencyKey, contentType, body), against docs/api/bo-webhooks.yaml. The document's
paths are relative to an integration's base URL, so a target matches a path by its end. Each
must have a documented media type, a body the request schema accepts, and the Idempotency-Key
the contract tells back-offices to deduplicate on.

Back-office suppliers build their clients and endpoints from these documents; a message they do
not describe breaks them, whatever the tests asserted. Every disagreement is printed once per
operation, status and schema rule, with one example, and the exit status is 1 when there is any.
"""
import json
import re
import sys

import jsonschema
import yaml


def load_answers(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def main(mode, spec_path, answers_path):
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    answers = load_answers(answers_path)
    what = "REST answers" if mode == "answers" else "requests to back-offices"
    if not answers:
        print(f"openapi_conformance: no {what} were recorded; nothing to check")
        return 0

    # The path templates, most literal first, so that /positions/{id}/publish is not taken for
    # a longer external id.
    routes = []
    for template, operations in spec["paths"].items():
        # Requests go to a base URL with a path of its own: their targets match by their end.
        anchor = "^" if mode == "answers" else "^(?:/[^?]*)?"
        pattern = anchor + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        routes.append((template.count("{"), re.compile(pattern), template, operations))
    routes.sort(key=lambda r: r[0])

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            target = spec
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    # One validator per schema; its $refs point into the whole document.
    validators = {}

    def validator_for(schema):
        key = json.dumps(schema, sort_keys=True)
        if key not in validators:
            cls = jsonschema.Draft202012Validator
            try:
                from referencing import Registry, Resource  # jsonschema >= 4.18

                resource = Resource.from_contents(spec, default_specification=
                                                  __import__("referencing").jsonschema.DRAFT202012)
                registry = Registry().with_resource("urn:pagohub:spec", resource)
                rooted = json.loads(key.replace('"#/', '"urn:pagohub:spec#/'))
                validators[key] = cls(rooted, registry=registry)
            except ImportError:
                resolver = jsonschema.RefResolver.from_schema(spec)
                validators[key] = cls(schema, resolver=resolver)
        return validators[key]

    problems = {}
    checked = 0
    outside = 0

    def check_body(a, op, status, schema, where):
        if schema is None or "body" not in a:
            return
        try:
            body = json.loads(a["body"])
        except ValueError as e:
            problems.setdefault((op, status, f"body is not JSON: {e}"), where)
            return
        for error in validator_for(schema).iter_errors(body):
            at = "/" + "/".join(str(p) for p in error.absolute_path)
            rule = "/".join(str(p) for p in error.absolute_schema_path)
            problems.setdefault((op, status, f"{at}: {error.message[:200]} ({rule})"), where)

    def check_request(a, op, operation):
        where = f'{a["method"]} {a["target"]}'
        content = (resolve(operation.get("requestBody", {})).get("content")) or {}
        media = (a.get("contentType") or "").split(";", 1)[0].strip().lower()
        if content:
            if media not in content:
                problems.setdefault(
                    (op, "request", f"media type {media or '(none)'} not among {sorted(content)}"),
                    where)
            else:
                check_body(a, op, "request", content[media].get("schema"), where)
        params = [resolve(p) for p in operation.get("parameters", [])]
        if any(p.get("in") == "header" and p.get("name") == "Idempotency-Key" and p.get("required")
               for p in params) and not a.get("idempotencyKey"):
            problems.setdefault((op, "request", "no Idempotency-Key header"), where)
    for a in answers:
        method = a["method"].lower()
        path = a["target"].split("?", 1)[0]
        where = f'{a["method"]} {a["target"]} -> {a.get("status", "?")}'
        route = next((r for r in routes if r[1].match(path) and method in r[3]), None)
        if route is None:
            # A test's call to a path or method the API does not have (a 404, a 405): nothing
            # the document describes. That every route is documented is a test of its own
            # (e2e_api, the OpenAPI document).
            outside += 1
            continue
        template, operation = route[2], route[3][method]
        op = f'{a["method"]} {template}'
        if mode == "requests":
            check_request(a, op, operation)
            checked += 1
            continue
        responses = operation.get("responses", {})
        response = responses.get(str(a["status"])) or responses.get("default")
        if response is None:
            problems.setdefault((op, a["status"], "status not documented"), where)
            continue
        content = resolve(response).get("content") or {}
        media = (a.get("contentType") or "").split(";", 1)[0].strip().lower()
        if not content:
            checked += 1
            continue
        if media not in content:
            problems.setdefault(
                (op, a["status"], f"media type {media or '(none)'} not among {sorted(content)}"),
                where)
            continue
        check_body(a, op, a["status"], content[media].get("schema"), where)
        checked += 1

    print(f"openapi_conformance: {len(answers)} {what} recorded, {checked} checked, "
          f"{outside} outside the document's paths, "
          f"{len(problems)} disagreements with {spec_path.rsplit('/', 1)[-1]}")
    for key, example in sorted(problems.items(), key=lambda kv: str(kv[0])):
        print("  " + " | ".join(str(k) for k in key) + f"\n      e.g. {example}")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("answers", "requests"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3]))
