#!/usr/bin/env python3
"""Build step: docs/api/backoffice.yaml (the one source of the OpenAPI document) to a C++ file
holding it as compact JSON, served at /api/v1/openapi.json. Refuses a document whose local
$refs do not resolve, so a broken reference fails the build rather than a client."""
import json
import sys

import yaml


def check_refs(node, root, where="#"):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target = root
            for token in ref[2:].split("/"):
                token = token.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, dict) or token not in target:
                    sys.exit(f"embed_openapi: {where}: unresolved $ref {ref}")
                target = target[token]
        for key, value in node.items():
            check_refs(value, root, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            check_refs(value, root, f"{where}/{i}")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: embed_openapi.py INPUT.yaml OUTPUT.cpp")
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3.1"):
        sys.exit("embed_openapi: the document must be an OpenAPI 3.1 object")
    check_refs(doc, doc)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    delimiter = "pagohub_openapi"
    if f"){delimiter}\"" in text:
        sys.exit("embed_openapi: the document contains the raw-string delimiter")
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write("// Generated from docs/api/backoffice.yaml by src/api/embed_openapi.py.\n")
        out.write("#include <string_view>\n\n")
        out.write("namespace pagohub::api::detail {\n")
        out.write("extern const std::string_view openapi_document;\n")
        out.write(f"const std::string_view openapi_document = R\"{delimiter}(")
        out.write(text)
        out.write(f"){delimiter}\";\n")
        out.write("}  // namespace pagohub::api::detail\n")


if __name__ == "__main__":
    main()
