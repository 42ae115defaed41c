#!/usr/bin/env python3
"""The independent side of the SGP.22 conformance tests: asn1tools, compiled from proto/sgp22/*.asn.

Reads one JSON document on stdin, {"cases": [{"type": T, "der": HEX?, "value": V?}, ...]}, and answers one on
stdout, {"results": [{"decoded": V?, "reencoded": HEX?, "encoded": HEX?, "error": TEXT?}, ...]}:

- "der" is decoded as T (DER); "decoded" is the value, "reencoded" its DER encoding again by asn1tools;
- "value" is encoded as T; "encoded" is the DER.

Values use a JSON form that keeps ASN.1 types apart: {"$hex": "..."} for OCTET STRING (and open types),
{"$bits": "...", "n": N} for BIT STRING, {"$choice": "name", "value": V} for CHOICE, a dotted string for
OBJECT IDENTIFIER, null for NULL; integers, booleans, strings, lists and objects as they are.
"""
import json
import os
import sys

import asn1tools

HERE = os.path.dirname(os.path.abspath(__file__))


def module_files():
    directory = os.environ.get("LPA_ASN1_DIR") or os.path.join(HERE, "..", "..", "..", "proto", "sgp22")
    return [os.path.join(directory, name) for name in ("RSPDefinitions.asn", "PKIX1Subset.asn", "PEDefinitions.asn")]


def to_native(value):
    if isinstance(value, dict):
        if "$hex" in value:
            return bytes.fromhex(value["$hex"])
        if "$bits" in value:
            return (bytes.fromhex(value["$bits"]), value["n"])
        if "$choice" in value:
            return (value["$choice"], to_native(value["value"]))
        return {key: to_native(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_native(item) for item in value]
    return value


def to_json(value):
    if isinstance(value, (bytes, bytearray)):
        return {"$hex": bytes(value).hex().upper()}
    if isinstance(value, tuple):
        if len(value) == 2 and isinstance(value[0], (bytes, bytearray)):
            return {"$bits": bytes(value[0]).hex().upper(), "n": value[1]}
        return {"$choice": value[0], "value": to_json(value[1])}
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    return value


def main():
    spec = asn1tools.compile_files(module_files(), "der")
    request = json.load(sys.stdin)
    results = []
    for case in request["cases"]:
        result = {}
        try:
            if "der" in case:
                decoded = spec.decode(case["type"], bytes.fromhex(case["der"]))
                result["decoded"] = to_json(decoded)
                result["reencoded"] = spec.encode(case["type"], decoded).hex().upper()
            if "value" in case:
                result["encoded"] = spec.encode(case["type"], to_native(case["value"])).hex().upper()
        except Exception as error:  # every failure is reported against its case
            result["error"] = "%s: %s" % (type(error).__name__, error)
        results.append(result)
    json.dump({"results": results, "types": len(spec.types)}, sys.stdout)


if __name__ == "__main__":
    main()
