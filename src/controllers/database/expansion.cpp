#include "database/expansion.hpp"

#include <algorithm>

namespace kubecoro::controllers::database {
namespace {

bool smaller(const std::string& requested, const std::string& wanted) {
    return compare_quantities(requested, wanted).value_or(0) < 0;
}

const storage_class* find_class(const std::vector<storage_class>& classes, const std::string& name) {
    for (const auto& c : classes)
        if (c.name == name)
            return &c;
    return nullptr;
}

const storage_class* default_class(const std::vector<storage_class>& classes) {
    for (const auto& c : classes)
        if (c.is_default)
            return &c;
    return nullptr;
}

} // namespace

storage_class observe_storage_class(const json::value& sc) {
    storage_class out;
    if (const json::value* name = sc.at("metadata", "name"))
        out.name = name->string_or("");
    if (const json::value* d =
            sc.at("metadata", "annotations", "storageclass.kubernetes.io/is-default-class"))
        out.is_default = d->string_or("") == "true";
    if (const json::value* allow = sc.at("allowVolumeExpansion"))
        out.allow_volume_expansion = allow->bool_or(false);
    return out;
}

std::optional<expansion_refusal> refuse_expansion(const database_spec& spec,
                                                  const observed_state& observed,
                                                  const std::vector<storage_class>& classes) {
    std::vector<const observed_pvc*> growing;
    for (const observed_pvc& pvc : observed.data_pvcs)
        if (smaller(pvc.requested, spec.storage))
            growing.push_back(&pvc);
    if (spec.backup.enabled && observed.backup_pvc &&
        smaller(observed.backup_pvc->requested, spec.backup.storage))
        growing.push_back(&*observed.backup_pvc);

    expansion_refusal refusal;
    auto refuse = [&](const std::string& class_name, const std::string& why) {
        if (std::find(refusal.storage_classes.begin(), refusal.storage_classes.end(), class_name) !=
            refusal.storage_classes.end())
            return;
        refusal.storage_classes.push_back(class_name);
        refusal.message += (refusal.message.empty() ? "" : "; ") + why;
    };
    for (const observed_pvc* pvc : growing) {
        std::string name = pvc->storage_class.value_or("");
        if (name.empty() && spec.storage_class_name)
            name = *spec.storage_class_name;
        if (name.empty()) {
            if (const storage_class* d = default_class(classes))
                name = d->name;
            else {
                refuse("", "claim " + pvc->name + " has no StorageClass and the cluster has no default one");
                continue;
            }
        }
        const storage_class* c = find_class(classes, name);
        if (!c)
            refuse(name, "StorageClass \"" + name + "\" does not exist");
        else if (!c->allow_volume_expansion)
            refuse(name,
                   "StorageClass \"" + name +
                       "\" does not allow volume expansion (allowVolumeExpansion is not true)");
    }
    if (refusal.message.empty())
        return std::nullopt;
    refusal.message = "the volume claims stay at their size: " + refusal.message;
    return refusal;
}

database_spec hold_storage(database_spec spec, const observed_state& observed) {
    for (const observed_pvc& pvc : observed.data_pvcs)
        if (smaller(pvc.requested, spec.storage))
            spec.storage = pvc.requested;
    if (observed.backup_pvc && smaller(observed.backup_pvc->requested, spec.backup.storage))
        spec.backup.storage = observed.backup_pvc->requested;
    return spec;
}

} // namespace kubecoro::controllers::database
