#!/usr/bin/env python3
"""The diagram shows what really exists: every running component (from `kubescratch status --json`) and every
pod the API server lists (or, before it exists, every pod containerd runs). Reads the diagram's text on stdin.
Usage: assert_diagram.py STAGE STATUS_JSON."""
import json
import sys

sys.dont_write_bytecode = True  # importing kslib must leave no __pycache__ in the repository
import kslib


def main():
    stage = int(sys.argv[1])
    status = json.loads(sys.argv[2])
    plan = kslib.parse_plan(status)
    diagram = sys.stdin.read()

    missing = []
    titles = {"containerd": "containerd + runc"}
    for component in status["components"]:
        if component["state"] == "running":
            name = component["component"]
            node = plan.node_running(name)
            # A worker's components are drawn in the worker's box under the program's own title.
            if node != plan.first:
                if node.name not in diagram:
                    missing.append(f"{node.name}'s box")
                name = name.removeprefix(f"{node.name}-")
            title = titles.get(name, name)
            if title not in diagram:
                missing.append(f"component {title}")
            if component["pid"] and f"pid {component['pid']}" not in diagram:
                missing.append(f"pid {component['pid']} of {title}")
    if stage >= 2:
        names = [p["metadata"]["name"] for p in kslib.kubectl_json("get", "pods")["items"]]
    else:
        names = [f"web-static-{plan.first.name}"]  # the kubelet names a static pod after its node
    for name in names:
        if name not in diagram:
            missing.append(f"pod {name}")
    if stage >= 5 and "30080" not in diagram:
        missing.append("the NodePort path")
    if missing:
        print(f"FAIL: the diagram after stage {stage} lacks: {', '.join(dict.fromkeys(missing))}\n{diagram}", file=sys.stderr)
        sys.exit(1)
    print(f"  ok: the diagram shows {sum(c['state'] == 'running' for c in status['components'])} running components and pods {', '.join(names)}")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as error:
        print(f"FAIL: assert_diagram after stage {sys.argv[1]}: {error}", file=sys.stderr)
        sys.exit(1)
