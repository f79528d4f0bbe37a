// What the Database controller's parts share: the resources it reads and writes, and lookups in
// their caches.
#pragma once

#include "database/expansion.hpp"
#include "database/render.hpp"
#include <kubecoro/runtime/managed.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kubecoro::controllers::database {

// The Databases whose volume expansion a StorageClass refused, by class name ("" when a claim
// had no class and there was no default): a change of that class reconciles them again.
struct expansion_waiters {
    std::map<std::string, std::set<std::pair<std::string, std::string>>> by_class;

    void update(const api::object_meta& db, const std::optional<expansion_refusal>& refusal);
    std::vector<runtime::reconcile_request> waiting_for(const storage_class& c) const;
};

// CronJob and PDB versions come from discovery.
struct resources {
    api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
    api::resource secrets{"", "v1", "secrets", "Secret"};
    api::resource configmaps{"", "v1", "configmaps", "ConfigMap"};
    api::resource services{"", "v1", "services", "Service"};
    api::resource pvcs{"", "v1", "persistentvolumeclaims", "PersistentVolumeClaim"};
    api::resource statefulsets{"apps", "v1", "statefulsets", "StatefulSet"};
    api::resource jobs{"batch", "v1", "jobs", "Job"};
    api::resource pods{"", "v1", "pods", "Pod"};
    api::resource cronjobs{"batch", "v1", "cronjobs", "CronJob"};
    api::resource pdbs{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget"};
    api::resource storageclasses{
        "storage.k8s.io", "v1", "storageclasses", "StorageClass", api::scope::cluster};
    api::resource nodes{"", "v1", "nodes", "Node", api::scope::cluster};
    std::shared_ptr<expansion_waiters> waiters = std::make_shared<expansion_waiters>();

    const api::resource* by_kind(std::string_view kind) const;
    api_versions versions() const { return {pdbs.api_version(), cronjobs.api_version()}; }
};

using runtime::whole; // a cached object as one tree, for the observe_* decoders

} // namespace kubecoro::controllers::database
