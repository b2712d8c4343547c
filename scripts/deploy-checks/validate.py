"""Schema checks of the deployment files, with no container engine or cluster:
compose/docker-compose.yml against the Compose specification's JSON schema, every manifest in
compose/k8s against the Kubernetes API schemas (kubernetes-validate, strict: unknown fields fail)
or, for KEDA's kinds, compose/k8s/schemas/keda-v1alpha1.json.
Each check first proves it can fail: a broken copy of a real document must be refused.
Run through scripts/deploy-checks.sh, which installs the pinned tools."""
import copy
import glob
import json
import os
import sys

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.37.0"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.environ["REFRAME_DEPLOY_TOOLS"]
passed, failed = 0, 0


def report(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok      {what}")
    else:
        failed += 1
        print(f"FAILED  {what}: {detail}")


def compose_errors(document, schema):
    validator = jsonschema.Draft201909Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def keda_errors(document, schema):
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in jsonschema.Draft202012Validator(schema).iter_errors(document)]


def kubernetes_errors(document):
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        return []
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path))}: {error.message}"]


def manifest_errors(document, keda_schema):
    if str(document.get("apiVersion", "")).startswith("keda.sh/"):
        return keda_errors(document, keda_schema)
    return kubernetes_errors(document)


def main():
    compose_schema_path = os.path.join(TOOLS, "compose", "config", "compose_spec.json")
    with open(compose_schema_path) as f:
        compose_schema = json.load(f)
    with open(os.path.join(ROOT, "compose", "k8s", "schemas", "keda-v1alpha1.json")) as f:
        keda_schema = json.load(f)

    with open(os.path.join(ROOT, "compose", "docker-compose.yml")) as f:
        compose = yaml.safe_load(f)
    errors = compose_errors(compose, compose_schema)
    report(not errors, "compose/docker-compose.yml against the Compose specification", "; ".join(errors))
    broken = copy.deepcopy(compose)
    broken["services"]["ingest"]["replicas_typo"] = 2
    report(bool(compose_errors(broken, compose_schema)), "the Compose check refuses an unknown service key")

    manifests = []
    for path in sorted(glob.glob(os.path.join(ROOT, "compose", "k8s", "*.yaml"))):
        with open(path) as f:
            for document in yaml.safe_load_all(f):
                if document:
                    manifests.append((os.path.relpath(path, ROOT), document))
    report(bool(manifests), "compose/k8s holds manifests", "none found")
    for path, document in manifests:
        errors = manifest_errors(document, keda_schema)
        what = f"{path} {document.get('kind')}/{document.get('metadata', {}).get('name')}"
        report(not errors, what, "; ".join(errors))

    # The same checks refuse what a cluster would: a string replica count, an unknown field, a
    # number where KEDA's trigger metadata takes only strings.
    first = {kind: next((d for _, d in manifests if d.get("kind") == kind), None)
             for kind in ("Deployment", "ScaledObject")}
    if first["Deployment"] and first["ScaledObject"]:
        bad = copy.deepcopy(first["Deployment"])
        bad["spec"]["replicas"] = "two"
        report(bool(manifest_errors(bad, keda_schema)), "the Kubernetes check refuses a string replica count")
        bad = copy.deepcopy(first["Deployment"])
        bad["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["paht"] = "/healthz"
        report(bool(manifest_errors(bad, keda_schema)), "the Kubernetes check refuses an unknown field")
        bad = copy.deepcopy(first["ScaledObject"])
        bad["spec"]["triggers"][0]["metadata"]["value"] = 5
        report(bool(manifest_errors(bad, keda_schema)), "the KEDA check refuses a number in trigger metadata")
    else:
        report(False, "the refusal checks", "no Deployment or ScaledObject to break")

    print(f"deploy checks: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
