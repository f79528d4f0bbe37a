#include "database/resources.hpp"

#include <kubecoro/json/json.hpp>

namespace kubecoro::controllers::database {

void expansion_waiters::update(const api::object_meta& db, const std::optional<expansion_refusal>& refusal) {
    std::pair<std::string, std::string> key{db.namespace_, db.name};
    for (auto& [name, dbs] : by_class)
        dbs.erase(key);
    std::erase_if(by_class, [](const auto& entry) { return entry.second.empty(); });
    if (refusal)
        for (const auto& name : refusal->storage_classes)
            by_class[name].insert(key);
}

std::vector<runtime::reconcile_request> expansion_waiters::waiting_for(const storage_class& c) const {
    std::vector<runtime::reconcile_request> out;
    auto add = [&](const std::string& name) {
        if (auto it = by_class.find(name); it != by_class.end())
            for (const auto& [ns, db] : it->second)
                out.push_back({ns, db});
    };
    add(c.name);
    if (c.is_default) // a new default class concerns the claims that had none
        add("");
    return out;
}

const api::resource* resources::by_kind(std::string_view kind) const {
    for (const auto* r : {&secrets, &configmaps, &services, &pvcs, &statefulsets, &cronjobs, &pdbs, &jobs})
        if (r->kind == kind)
            return r;
    return nullptr;
}

} // namespace kubecoro::controllers::database
