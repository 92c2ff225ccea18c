#!/usr/bin/env python3
"""The diagram shows what really exists: every running component (from `kubescratch status --json`) and every
pod the API server lists (or, before it exists, every pod containerd runs). Reads the diagram's text on stdin."""
import json
import os
import subprocess
import sys

STATE = os.environ.get("KUBESCRATCH_STATE_DIR", "/var/lib/kubescratch")
BIN = os.environ["BIN"]
ENV = dict(os.environ, KUBECONFIG=f"{STATE}/kubeconfigs/admin.kubeconfig", HOME=f"{STATE}/kubectl-home")
stage = int(sys.argv[1])
status = json.loads(sys.argv[2])
diagram = sys.stdin.read()

missing = []
titles = {"containerd": "containerd + runc"}
for component in status["components"]:
    if component["state"] == "running":
        name = component["component"]
        # node-2's components are drawn in node-2's box under the program's own title.
        if name.startswith("node-2-"):
            if "node-2" not in diagram:
                missing.append("node-2's box")
            name = name[len("node-2-"):]
        title = titles.get(name, name)
        if title not in diagram:
            missing.append(f"component {title}")
        if component["pid"] and f"pid {component['pid']}" not in diagram:
            missing.append(f"pid {component['pid']} of {title}")
if stage >= 2:
    pods = json.loads(subprocess.run([f"{BIN}/kubectl", "get", "pods", "-o", "json"], env=ENV, capture_output=True,
                                     text=True, check=True).stdout)["items"]
    names = [p["metadata"]["name"] for p in pods]
else:
    names = ["web-static-vm"]
for name in names:
    if name not in diagram:
        missing.append(f"pod {name}")
if stage >= 5 and "30080" not in diagram:
    missing.append("the NodePort path")
if missing:
    print(f"FAIL: the diagram after stage {stage} lacks: {', '.join(missing)}\n{diagram}", file=sys.stderr)
    sys.exit(1)
print(f"  ok: the diagram shows {sum(c['state'] == 'running' for c in status['components'])} running components and pods {', '.join(names)}")
