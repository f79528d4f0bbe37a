#!/usr/bin/env python3
"""The local node's two small duties that no Kubernetes component does for it.

1. Cluster DNS: keeps dnsmasq's hosts file equal to the cluster's Services and Endpoints
   (<svc>.<ns>.svc.<domain> -> ClusterIP, or the endpoint addresses of a headless Service, and
   <hostname>.<svc>.<ns>.svc.<domain> -> a StatefulSet pod's address), rewritten on every
   Endpoints change seen through a watch and signalled to dnsmasq with SIGHUP.
2. hostPath volumes: kube-controller-manager's provisioner creates root-owned 0750 directories
   and hostPath volumes ignore fsGroup; each new one is handed to uid/gid 999 (the database
   images' user) with mode 0777 (so that subPath directories the kubelet creates inside inherit
   a mode the pods can write), and recorded so that teardown removes it.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

POD_UID = 999


def log(msg):
    print(f"node_agent: {msg}", file=sys.stderr, flush=True)


def kubectl(args, kubeconfig):
    return ["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=20s"] + args


def hosts_lines(services, endpoints, domain):
    """The dnsmasq hosts file for these Service and Endpoints lists (JSON 'items')."""
    eps = {(e["metadata"]["namespace"], e["metadata"]["name"]): e for e in endpoints}
    lines = []
    for svc in services:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        fqdn = f"{name}.{ns}.svc.{domain}"
        ip = svc.get("spec", {}).get("clusterIP", "")
        if ip and ip != "None":
            lines.append(f"{ip} {fqdn}")
            continue
        for subset in eps.get((ns, name), {}).get("subsets") or []:
            for addr in subset.get("addresses") or []:
                names = [fqdn]
                if addr.get("hostname"):
                    names.insert(0, f"{addr['hostname']}.{fqdn}")
                lines.append(f"{addr['ip']} {' '.join(names)}")
    return sorted(set(lines))


class Dns:
    def __init__(self, args):
        self.args = args
        self.dirty = threading.Event()
        self.last = None

    def regenerate(self):
        out = subprocess.run(
            kubectl(["get", "services,endpoints", "--all-namespaces", "-o", "json"], self.args.kubeconfig),
            capture_output=True, text=True)
        if out.returncode != 0:
            log(f"listing Services/Endpoints failed: {out.stderr.strip()}")
            return False
        items = json.loads(out.stdout).get("items", [])
        services = [i for i in items if i.get("kind") == "Service"]
        endpoints = [i for i in items if i.get("kind") == "Endpoints"]
        text = "\n".join(hosts_lines(services, endpoints, self.args.domain)) + "\n"
        if text == self.last:
            return True
        tmp = self.args.hosts + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.args.hosts)
        self.last = text
        try:
            with open(self.args.dnsmasq_pid) as f:
                os.kill(int(f.read().strip()), signal.SIGHUP)
        except (OSError, ValueError) as e:
            log(f"could not signal dnsmasq: {e}")
        return True

    def watch(self):
        """Marks the hosts file dirty on every Endpoints event; reopens the watch when it ends."""
        while True:
            proc = subprocess.Popen(
                kubectl(["get", "endpoints", "--all-namespaces", "--watch", "-o", "name"], self.args.kubeconfig)
                + ["--request-timeout=0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for _ in proc.stdout:
                self.dirty.set()
            proc.wait()
            self.dirty.set()
            time.sleep(1)

    def run(self):
        threading.Thread(target=self.watch, daemon=True).start()
        self.dirty.set()
        while True:
            # A periodic pass too, in case a watch event was missed while the watch reopened.
            self.dirty.wait(timeout=10)
            time.sleep(0.1)  # one pass for a burst of events
            self.dirty.clear()
            if not self.regenerate():
                self.dirty.set()
                time.sleep(1)


def fix_volumes(args):
    seen = set()
    while True:
        try:
            entries = list(os.scandir(args.volumes))
        except FileNotFoundError:
            entries = []
        for e in entries:
            if e.path in seen or not e.is_dir(follow_symlinks=False):
                continue
            st = e.stat(follow_symlinks=False)
            if st.st_uid != POD_UID:
                os.chown(e.path, POD_UID, POD_UID)
                os.chmod(e.path, 0o777)
                with open(args.volume_log, "a") as f:
                    f.write(e.path + "\n")
                log(f"volume {e.path} handed to uid {POD_UID}")
            seen.add(e.path)
        time.sleep(0.2)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--hosts", required=True)
    p.add_argument("--dnsmasq-pid", required=True)
    p.add_argument("--domain", default="cluster.local")
    p.add_argument("--volumes", required=True)
    p.add_argument("--volume-log", required=True)
    args = p.parse_args()
    threading.Thread(target=fix_volumes, args=(args,), daemon=True).start()
    Dns(args).run()


if __name__ == "__main__":
    main()
