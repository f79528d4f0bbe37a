#!/usr/bin/env python3
"""Offline checks of manifests/crds and manifests/samples (no API server needed).

- every CRD schema is structural enough for apiextensions.k8s.io/v1 on Kubernetes 1.20: each node
  has a type (or x-kubernetes-int-or-string), no CEL rules, every field has a description;
- defaults satisfy their own schema;
- printer columns and scale subresource paths point at fields of the schema;
- every sample validates against its CRD (unknown fields, types, enums, bounds, patterns, required).

Usage: check_manifests.py <repo root>. Exits 77 (meson: skipped) when PyYAML is missing.
"""
import pathlib
import re
import sys

try:
    import yaml
except ImportError:
    print("PyYAML not installed: skipped")
    sys.exit(77)

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def check_schema(node, where, is_root=False):
    if "x-kubernetes-validations" in node:
        err(where, "CEL rules are not supported by Kubernetes 1.20")
    if "type" not in node and not node.get("x-kubernetes-int-or-string"):
        err(where, "no type")
    if not is_root and "description" not in node and not where.endswith((".metadata", "[]", "{}")):
        err(where, "no description")
    if "default" in node:
        validate(node["default"], node, where + "(default)")
    for name, sub in node.get("properties", {}).items():
        check_schema(sub, f"{where}.{name}")
    if "items" in node:
        check_schema(node["items"], where + "[]")
    if isinstance(node.get("additionalProperties"), dict):
        check_schema(node["additionalProperties"], where + "{}")
    for req in node.get("required", []):
        if req not in node.get("properties", {}):
            err(where, f"required field {req} is not a property")


def type_ok(value, t):
    return {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
    }[t]


def validate(value, schema, where):
    if schema.get("x-kubernetes-int-or-string"):
        if not (isinstance(value, str) or type_ok(value, "integer")):
            err(where, f"{value!r} is neither integer nor string")
            return
    elif "type" in schema and not type_ok(value, schema["type"]):
        err(where, f"{value!r} is not of type {schema['type']}")
        return
    if "enum" in schema and value not in schema["enum"]:
        err(where, f"{value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            err(where, f"{value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 62):
            err(where, f"{value!r} has a bad length")
    if type_ok(value, "number"):
        if value < schema.get("minimum", -(1 << 62)) or value > schema.get("maximum", 1 << 62):
            err(where, f"{value} out of bounds")
    if isinstance(value, dict) and schema.get("type") == "object":
        props = schema.get("properties", {})
        for req in schema.get("required", []):
            if req not in value:
                err(where, f"missing required field {req}")
        for k, v in value.items():
            if k in props:
                validate(v, props[k], f"{where}.{k}")
            elif isinstance(schema.get("additionalProperties"), dict):
                validate(v, schema["additionalProperties"], f"{where}.{k}")
            elif not schema.get("x-kubernetes-preserve-unknown-fields") and where != ".metadata":
                err(where, f"unknown field {k}")  # the API server would prune it
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            validate(v, schema["items"], f"{where}[{i}]")


def schema_at(schema, path, where):
    """The schema node a printer column or scale path refers to (None, and an error, if none)."""
    node = schema
    for part in [p for p in re.sub(r"\[[^\]]*\]", "[]", path).split(".") if p]:
        name = part.rstrip("[]")
        if node is schema and name == "metadata":
            return {"type": "object"}  # ObjectMeta is not part of a CRD schema
        node = node.get("properties", {}).get(name)
        if node is None:
            err(where, f"path {path} not in schema")
            return None
        if part.endswith("[]"):
            node = node.get("items", {})
    return node


def main(root):
    root = pathlib.Path(root)
    crds = {}
    for f in sorted((root / "manifests/crds").glob("*.yaml")):
        crd = yaml.safe_load(f.read_text())
        if crd.get("apiVersion") != "apiextensions.k8s.io/v1" or crd.get("kind") != "CustomResourceDefinition":
            err(f.name, "not an apiextensions.k8s.io/v1 CRD")
            continue
        spec = crd["spec"]
        if crd["metadata"]["name"] != f"{spec['names']['plural']}.{spec['group']}":
            err(f.name, "metadata.name is not <plural>.<group>")
        storage_versions = [v for v in spec["versions"] if v.get("storage")]
        if len(storage_versions) != 1:
            err(f.name, "exactly one storage version needed")
        for v in spec["versions"]:
            schema = v["schema"]["openAPIV3Schema"]
            check_schema(schema, f"{f.name}:{v['name']}", is_root=True)
            for col in v.get("additionalPrinterColumns", []):
                schema_at(schema, col["jsonPath"], f"{f.name}: column {col['name']}")
            scale = v.get("subresources", {}).get("scale")
            if scale:
                for key in ("specReplicasPath", "statusReplicasPath", "labelSelectorPath"):
                    if key in scale:
                        schema_at(schema, scale[key], f"{f.name}: {key}")
            crds[(spec["group"], v["name"], spec["names"]["kind"])] = schema
    kinds = set()
    for f in sorted((root / "manifests/samples").glob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if doc is None:
                continue
            group, _, version = doc["apiVersion"].rpartition("/")
            key = (group, version, doc["kind"])
            if key not in crds:
                err(f.name, f"no CRD for {key}")
                continue
            kinds.add(doc["kind"])
            validate(doc, crds[key], "")
            if not doc.get("metadata", {}).get("name"):
                err(f.name, "no metadata.name")
    for kind in ("Database", "HelloWorld"):
        if kind not in kinds:
            err("samples", f"no sample of {kind}")
    engines = set()
    for f in (root / "manifests/samples").glob("*.yaml"):
        for doc in yaml.safe_load_all(f.read_text()):
            if doc and doc["kind"] == "Database":
                engines.add(doc["spec"]["engine"])
    if engines != {"postgresql", "mysql", "mariadb"}:
        err("samples", f"one Database per engine expected, found {sorted(engines)}")
    return errors


if __name__ == "__main__":
    problems = main(sys.argv[1] if len(sys.argv) > 1 else ".")
    for p in problems:
        print("FAIL:", p)
    print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
    sys.exit(1 if problems else 0)
