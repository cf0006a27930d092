"""The checks of scripts/check-deploy.sh; arguments: the environment variables the binaries read."""

import json
import os
import re
import sys

import kubernetes_validate
import yaml

KUBERNETES_VERSIONS = ["1.31.0", "1.33.0", "1.35.0"]
# Read by every binary outside its flags (logging; OTEL_* by the trace exporter).
ALSO_KNOWN = {"RUST_LOG", "LOG_FORMAT"}


def known(name, known_env):
    return name in known_env or name.startswith("OTEL_")
BASE = "deploy/kubernetes"

# Custom resources: the fields this deployment uses, with their types. Anything else
# in them is an error, so a misspelled field cannot pass silently.
CUSTOM = {
    ("postgresql.cnpg.io/v1", "Cluster"): {
        "metadata": {"name": str},
        "spec": {
            "instances": int,
            "imageName": str,
            "postgresql": {"parameters": dict},
            "bootstrap": {"initdb": {"database": str, "owner": str}},
            "storage": {"size": str},
            "resources": {"requests": {"cpu": str, "memory": str}},
        },
    },
    ("keda.sh/v1alpha1", "ScaledObject"): {
        "metadata": {"name": str},
        "spec": {
            "scaleTargetRef": {"name": str},
            "minReplicaCount": int,
            "maxReplicaCount": int,
            "triggers": [{"type": str, "metadata": dict}],
        },
    },
}
NATS_JETSTREAM_TRIGGER = {"natsServerMonitoringEndpoint", "account", "stream", "consumer", "lagThreshold", "activationLagThreshold"}

errors = []


def fail(where, message):
    errors.append(f"{where}: {message}")


def check_shape(where, value, shape):
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return fail(where, f"expected an object, got {value!r}")
        for key, v in value.items():
            if key not in shape:
                fail(where, f"unexpected field {key!r}")
            else:
                check_shape(f"{where}.{key}", v, shape[key])
    elif isinstance(shape, list):
        if not isinstance(value, list) or not value:
            return fail(where, "expected a non-empty list")
        for i, item in enumerate(value):
            check_shape(f"{where}[{i}]", item, shape[0])
    elif not isinstance(value, shape) or (shape is int and isinstance(value, bool)):
        fail(where, f"expected {shape.__name__}, got {value!r}")


def containers(doc):
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return pod.get("containers", [])


def main(known_env):
    known_env = set(known_env) | ALSO_KNOWN
    kustomization = yaml.safe_load(open(f"{BASE}/kustomization.yaml"))
    images = {i["name"] for i in kustomization.get("images", [])}
    docs = []
    for resource in kustomization["resources"]:
        path = f"{BASE}/{resource}"
        if not os.path.exists(path):
            fail(BASE, f"kustomization lists {resource}, which does not exist")
            continue
        docs += [(path, d) for d in yaml.safe_load_all(open(path)) if d]
    listed = {f"{BASE}/{r}" for r in kustomization["resources"]}
    for name in os.listdir(BASE):
        if name.endswith(".yaml") and name != "kustomization.yaml" and f"{BASE}/{name}" not in listed:
            fail(BASE, f"{name} is not listed in kustomization.yaml")

    config = {}
    secrets_written = {"scim-db-app"}  # by CloudNativePG, for the Cluster scim-db
    for path, doc in docs:
        where = f"{path} {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        key = (doc.get("apiVersion"), doc.get("kind"))
        if key in CUSTOM:
            check_shape(where, {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}, CUSTOM[key])
            for t in doc.get("spec", {}).get("triggers", []):
                if t.get("type") == "nats-jetstream" and set(t["metadata"]) - NATS_JETSTREAM_TRIGGER:
                    fail(where, f"unknown nats-jetstream trigger fields {set(t['metadata']) - NATS_JETSTREAM_TRIGGER}")
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                fail(where, f"Kubernetes {version}: {e.message} at {'.'.join(map(str, e.path))}")
            except Exception as e:  # an unknown kind or version
                fail(where, f"Kubernetes {version}: {e}")
        if doc.get("kind") == "ConfigMap":
            config.update(doc.get("data", {}))
        for c in containers(doc):
            cw = f"{where} container {c['name']}"
            if c.get("image") not in images:
                fail(cw, f"image {c.get('image')!r} is not one of the kustomization's images {sorted(images)}")
            for e in c.get("env", []):
                if not known(e["name"], known_env):
                    fail(cw, f"sets {e['name']}, which no binary reads")
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets_written | {"scim-admin", "scim-nats"}:
                    fail(cw, f"reads Secret {ref['name']!r}, which nothing creates or documents")
    for name in config:
        if not known(name, known_env):
            fail(f"{BASE}/config.yaml", f"sets {name}, which no binary reads")

    compose = yaml.safe_load(open("deploy/docker-compose.yml"))
    for name, service in compose["services"].items():
        build = service.get("build")
        if build and not os.path.exists(os.path.join("deploy", build["context"], build["dockerfile"])):
            fail(f"docker-compose {name}", f"no Dockerfile at {build['dockerfile']}")
        if build:
            for var in service.get("environment", {}):
                if not known(var, known_env):
                    fail(f"docker-compose {name}", f"sets {var}, which no binary reads")

    nats = yaml.safe_load(open("deploy/nats/values.yaml"))
    if not (nats["config"]["cluster"]["enabled"] and nats["config"]["cluster"]["replicas"] == 3 and nats["config"]["jetstream"]["enabled"]):
        fail("deploy/nats/values.yaml", "must describe a three-node JetStream cluster")
    if config.get("NATS_STREAM_REPLICAS") != "3":
        fail(f"{BASE}/config.yaml", "NATS_STREAM_REPLICAS must be 3 on the three-node cluster")

    check_overlays(docs, images, known_env)
    check_observability()

    for e in errors:
        print(e, file=sys.stderr)
    print(f"deploy: {len(docs)} manifests checked against Kubernetes {', '.join(KUBERNETES_VERSIONS)}; {len(errors)} problems")
    return 1 if errors else 0


def check_overlays(base_docs, images, known_env):
    """Overlays reference the base, only its images, and patch only what it has."""
    root = f"{BASE}/overlays"
    targets = {(d.get("kind"), d.get("metadata", {}).get("name")) for _, d in base_docs}
    for name in sorted(os.listdir(root)):
        here = f"{root}/{name}"
        k = yaml.safe_load(open(f"{here}/kustomization.yaml"))
        for r in k.get("resources", []):
            if not os.path.exists(os.path.join(here, r, "kustomization.yaml")):
                fail(here, f"resource {r} is not a kustomization")
        for i in k.get("images", []):
            if i["name"] not in images:
                fail(here, f"sets image {i['name']!r}, which the base does not use")
        for p in k.get("patches", []):
            patch = yaml.safe_load(open(os.path.join(here, p["path"])))
            target = (patch.get("kind"), patch.get("metadata", {}).get("name"))
            if target not in targets:
                fail(here, f"{p['path']} patches {target}, which the base does not have")
            if patch.get("kind") == "ConfigMap":
                for var in patch.get("data", {}):
                    if not known(var, known_env):
                        fail(here, f"{p['path']} sets {var}, which no binary reads")


def exported_metrics():
    """Metric families the binaries register, as Prometheus names."""
    names = set()
    for path in ("ingress/src/metrics.rs", "worker/src/metrics.rs"):
        src = open(path).read()
        prefix = re.search(r'Registry::with_prefix\("([a-z_]+)"\)', src).group(1)
        names |= {f"{prefix}_{n}" for n in re.findall(r'r\.register\(\s*"([a-z_]+)"', src)}
    return names


def queried_metrics(expr):
    return set(re.findall(r"\b(scim_[a-z_]+)", expr))


def check_metric_names(where, expr, exported):
    for name in queried_metrics(expr):
        base = re.sub(r"_(total|bucket|sum|count|created)$", "", name)
        if name not in exported and base not in exported:
            fail(where, f"queries {name}, which no binary exports")


def anchors(markdown_path):
    """GitHub's heading anchors of a Markdown file."""
    out = set()
    for line in open(markdown_path):
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^a-z0-9 -]", "", title).replace(" ", "-"))
    return out


def check_observability():
    exported = exported_metrics()
    rules = yaml.safe_load(open("deploy/observability/alerts.yaml"))
    runbook_anchors = anchors("docs/operations.md")
    for group in rules["groups"]:
        for rule in group["rules"]:
            where = f"alerts.yaml {rule.get('alert')}"
            for key in ("alert", "expr"):
                if not isinstance(rule.get(key), str):
                    fail(where, f"needs {key}")
            if rule.get("labels", {}).get("severity") not in ("page", "ticket"):
                fail(where, "severity must be page or ticket")
            check_metric_names(where, rule.get("expr", ""), exported)
            runbook = rule.get("annotations", {}).get("runbook", "")
            path, _, anchor = runbook.partition("#")
            if path != "docs/operations.md" or anchor not in runbook_anchors:
                fail(where, f"runbook {runbook!r} is not a section of docs/operations.md")
    dashboard = json.load(open("deploy/observability/grafana-dashboard.json"))
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            check_metric_names(f"dashboard panel {panel['title']!r}", target["expr"], exported)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
