#!/usr/bin/env python3
"""What dbsafety_test.sh checks of Databases and their children, from one `kubectl get -o json`
List on stdin (databases, secrets, services, statefulsets, cronjobs, poddisruptionbudgets,
persistentvolumeclaims of one namespace).

  db_state.py problems PHASE   one line per problem; nothing when every Database converged:
                               children present once each and matching the spec, owned by the
                               live Database of that name, status current (observedGeneration =
                               generation, phase PHASE, ReconcileSucceeded=True, secretName), and
                               no child whose owner is gone (an orphan).
  db_state.py passwords        "<name> <sha256 of data.password>" per credentials Secret (never the
                               password itself).
  db_state.py uids             "<Kind>/<name> <uid>" per child object (re-creation changes it).
  db_state.py owners           "<Kind>/<name> <owner uids>" per object labelled for a Database.
"""
import hashlib
import json
import sys

INSTANCE = "app.kubernetes.io/instance"
OWNED_KINDS = ("Secret", "Service", "StatefulSet", "CronJob", "PodDisruptionBudget")


def load():
    items = json.load(sys.stdin).get("items", [])
    dbs = {i["metadata"]["name"]: i for i in items if i["kind"] == "Database"}
    children = [i for i in items if i["kind"] != "Database"]
    return dbs, children


def labels(o):
    return o["metadata"].get("labels") or {}


def controller_uid(o):
    for ref in o["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def expected(name, db):
    """The children (kind, name) a converged Database has, and what they must say."""
    spec = db.get("spec", {})
    backup = spec.get("backup") or {}
    replicas = spec.get("replicas", 1)
    want = {("Secret", name + "-credentials"), ("Secret", name + "-superuser"), ("Service", name),
            ("Service", name + "-headless"), ("StatefulSet", name)}
    if spec.get("engine") in ("postgresql", "mariadb"):  # the replicas' Service, empty with one instance
        want.add(("Service", name + "-ro"))
    if backup.get("enabled", True):
        want |= {("CronJob", name + "-backup"), ("PersistentVolumeClaim", name + "-backup")}
    if replicas >= 2:  # the replicas' budget and the primary's
        want |= {("PodDisruptionBudget", name), ("PodDisruptionBudget", name + "-primary")}
    return want, replicas, backup.get("schedule", "0 2 * * *")


def problems(phase):
    dbs, children = load()
    out = []
    by_instance = {}
    for c in children:
        inst = labels(c).get(INSTANCE)
        if inst is None:
            continue
        by_instance.setdefault(inst, []).append(c)
        uid = controller_uid(c)
        db = dbs.get(inst)
        # Orphan: a controlled child whose Database is gone (or is another Database of that name).
        if uid and (db is None or db["metadata"]["uid"] != uid):
            out.append("orphan %s/%s (owner %s gone)" % (c["kind"], c["metadata"]["name"], uid))
        # The superuser Secret is owned only with deletionPolicy Delete (like the data it opens).
        superuser = c["kind"] == "Secret" and c["metadata"]["name"].endswith("-superuser")
        if c["kind"] in OWNED_KINDS and db is not None and not uid and not superuser:
            out.append("%s/%s has no controller reference" % (c["kind"], c["metadata"]["name"]))
    for name, db in sorted(dbs.items()):
        if db["metadata"].get("deletionTimestamp"):
            out.append("%s still deleting" % name)
            continue
        want, replicas, schedule = expected(name, db)
        have = {}
        for c in by_instance.get(name, []):
            key = (c["kind"], c["metadata"]["name"])
            have[key] = have.get(key, 0) + 1
            if key not in want and c["kind"] != "PersistentVolumeClaim":
                out.append("%s: unexpected %s/%s" % (name, *key))
        for key in sorted(want):
            if key not in have:
                out.append("%s: missing %s/%s" % (name, *key))
        for c in by_instance.get(name, []):
            if c["kind"] == "StatefulSet" and c["spec"].get("replicas") != replicas:
                out.append("%s: StatefulSet replicas %s, spec %s" % (name, c["spec"].get("replicas"), replicas))
            if c["kind"] == "CronJob" and c["spec"].get("schedule") != schedule:
                out.append("%s: CronJob schedule %r, spec %r" % (name, c["spec"].get("schedule"), schedule))
        st = db.get("status") or {}
        gen = db["metadata"].get("generation")
        conds = {c.get("type"): c.get("status") for c in st.get("conditions") or []}
        if st.get("observedGeneration") != gen:
            out.append("%s: observedGeneration %s, generation %s" % (name, st.get("observedGeneration"), gen))
        elif st.get("phase") != phase:
            out.append("%s: phase %s, not %s" % (name, st.get("phase"), phase))
        elif conds.get("ReconcileSucceeded") != "True":
            out.append("%s: ReconcileSucceeded %s" % (name, conds.get("ReconcileSucceeded")))
        elif st.get("secretName") != name + "-credentials":
            out.append("%s: status.secretName %r" % (name, st.get("secretName")))
    return out


def main():
    mode = sys.argv[1]
    if mode == "problems":
        for p in problems(sys.argv[2]):
            print(p)
        return
    _, children = load()
    for c in children:
        n = c["metadata"]["name"]
        if mode == "passwords" and c["kind"] == "Secret" and n.endswith("-credentials"):
            pw = (c.get("data") or {}).get("password", "")
            print(n, hashlib.sha256(pw.encode()).hexdigest())
        elif mode == "uids" and INSTANCE in labels(c):
            print("%s/%s %s" % (c["kind"], n, c["metadata"]["uid"]))
        elif mode == "owners" and INSTANCE in labels(c):
            refs = c["metadata"].get("ownerReferences") or []
            print("%s/%s %s" % (c["kind"], n, ",".join(r["uid"] for r in refs) or "-"))


if __name__ == "__main__":
    main()
