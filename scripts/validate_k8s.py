"""Checks deploy/k8s/ offline: every manifest against the Kubernetes JSON
schemas (kubernetes-validate, strict), then what the schemas cannot know
about this project. Run by the deploy test in `make test`.

    validate_k8s.py [DIR] [--kubernetes-version 1.30.0]
"""

import argparse
import os
import sys

import kubernetes_validate
import yaml

# Kubernetes versions the manifests must hold for: the oldest still
# supported by the big providers, and the newest the schemas know.
VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]
SERVICES = {"avenue-media": 8081, "avenue-api": 8080}
# What the services take by default (shared/src/serve.rs).
DEFAULT_SHUTDOWN_SECS = 20


def load_all(path):
    with open(path, encoding="utf-8") as source:
        return [doc for doc in yaml.safe_load_all(source) if doc]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?", default="deploy/k8s")
    args = parser.parse_args()
    problems = []

    def problem(text):
        problems.append(text)

    kustomization = load_all(os.path.join(args.dir, "kustomization.yaml"))[0]
    listed = kustomization.get("resources", [])
    present = sorted(
        f for f in os.listdir(args.dir)
        if f.endswith(".yaml") and f not in ("kustomization.yaml", "secret.example.yaml")
    )
    for name in present:
        if name not in listed:
            problem(f"{name} is not listed in kustomization.yaml")
    resources = []
    for name in listed + ["secret.example.yaml"]:
        path = os.path.join(args.dir, name)
        if not os.path.exists(path):
            problem(f"kustomization.yaml lists {name}, which does not exist")
            continue
        for resource in load_all(path):
            resources.append((name, resource))
            for version in VERSIONS:
                try:
                    kubernetes_validate.validate(resource, version, strict=True)
                except kubernetes_validate.ValidationError as err:
                    where = "/".join(str(p) for p in err.path)
                    problem(f"{name}: {resource.get('kind')} {where}: {err.message} (Kubernetes {version})")
                except Exception as err:  # an unknown kind or version
                    problem(f"{name}: {resource.get('kind')}: {err} (Kubernetes {version})")

    by_kind = {}
    for name, resource in resources:
        by_kind.setdefault(resource["kind"], {})[resource["metadata"]["name"]] = resource
    config = by_kind.get("ConfigMap", {}).get("avenue-config", {}).get("data", {})
    secret = by_kind.get("Secret", {}).get("avenue-secrets", {}).get("stringData", {})
    shutdown = int(config.get("SHUTDOWN_DEADLINE_SECS", DEFAULT_SHUTDOWN_SECS))
    for key in ("MONGODB_URI", "AVENUE_JWT_SECRET", "MEDIA_SIGNING_SECRET", "SMTP_URL"):
        if key in config:
            problem(f"{key} is in the ConfigMap; it belongs in the Secret")
        if key not in secret:
            problem(f"secret.example.yaml does not show {key}")
    if config.get("AVENUE_ENV") != "production":
        problem("the ConfigMap must set AVENUE_ENV=production")

    for service, port in SERVICES.items():
        deployment = by_kind.get("Deployment", {}).get(service)
        if deployment is None:
            problem(f"no Deployment {service}")
            continue
        pod = deployment["spec"]["template"]["spec"]
        if pod.get("volumes"):
            problem(f"{service} mounts volumes; its bytes belong in the store, not a pod's disk")
        container = pod["containers"][0]
        probes = {
            "readinessProbe": "/readyz",
            "livenessProbe": "/healthz",
        }
        for probe, path in probes.items():
            got = container.get(probe, {}).get("httpGet", {}).get("path")
            if got != path:
                problem(f"{service} {probe} is {got}, not {path}")
        if container.get("ports", [{}])[0].get("containerPort") != port:
            problem(f"{service} does not expose {port}")
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in container.get("resources", {}).get(kind, {}):
                    problem(f"{service} has no {resource} {kind}")
        sources = {
            next(iter(s.values()))["name"] for s in container.get("envFrom", [])
        }
        if not {"avenue-config", "avenue-secrets"} <= sources:
            problem(f"{service} does not read avenue-config and avenue-secrets")
        command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        if len(command) != 2 or command[0] != "sleep":
            problem(f"{service} has no preStop sleep")
            continue
        pre_stop = int(command[1])
        grace = pod.get("terminationGracePeriodSeconds", 30)
        if grace < pre_stop + shutdown:
            problem(
                f"{service}: terminationGracePeriodSeconds {grace} < preStop {pre_stop} s "
                f"+ SHUTDOWN_DEADLINE_SECS {shutdown} s: pods would be killed mid-drain"
            )
        budget = [
            b for b in by_kind.get("PodDisruptionBudget", {}).values()
            if b["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        ]
        if not budget:
            problem(f"no PodDisruptionBudget selects {service}")
        if service not in by_kind.get("Service", {}):
            problem(f"no Service {service}")

    hpa = by_kind.get("HorizontalPodAutoscaler", {}).get("avenue-media")
    if hpa is None:
        problem("no HorizontalPodAutoscaler for avenue-media")
    else:
        metrics = [m["resource"]["name"] for m in hpa["spec"].get("metrics", []) if m["type"] == "Resource"]
        if hpa["spec"]["scaleTargetRef"]["name"] != "avenue-media" or "cpu" not in metrics:
            problem("the HorizontalPodAutoscaler must scale avenue-media on CPU")

    for text in problems:
        print(f"k8s: {text}")
    if problems:
        return 1
    print(
        f"k8s: {len(resources)} resources valid against Kubernetes {', '.join(VERSIONS)} (strict); "
        "probes, budgets, autoscaler, secrets and grace periods checked"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
