#include "database/admission.hpp"

#include "database/observe.hpp"
#include "database/resources.hpp"
#include <kubecoro/api/errc.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/manager/registry.hpp>

#include <map>

namespace kubecoro::controllers::database {
namespace {

const resources rs;

bool managed(const json::value& o) {
    const json::value* by = o.at("metadata", "labels", runtime::managed_by_label);
    return by && by->string_or("") == runtime::managed_by;
}

// What exists of the Database's volumes, read now: the StatefulSet and the labelled claims, as the
// controller's caches hold them (only what the operator manages: a StatefulSet or claim of the
// same name made by someone else is not this Database's).
awaitable<core::result<observed_state>> read_storage(client::client& c, const api::object_meta& db) {
    auto sts = co_await c.get(rs.statefulsets, db.namespace_, db.name);
    if (!sts && sts.error().code != api::errc::not_found)
        co_return core::fail(sts.error());
    const bool ours = sts && managed(*sts);
    api::list_options labelled;
    labelled.label_selector = runtime::managed_children().label_selector + "," +
                              std::string(runtime::instance_label) + "=" + db.name;
    auto claims = co_await c.list_all(rs.pvcs, db.namespace_, labelled);
    if (!claims)
        co_return core::fail(claims.error());
    std::map<std::string, json::value> by_name;
    for (auto& item : claims->items)
        if (const json::value* name = item.at("metadata", "name"))
            by_name.emplace(name->string_or(""), item);
    observed_state seen;
    observe_storage(
        seen, db, rs, [&](const api::resource& r, const std::string& name) -> std::optional<json::value> {
            if (r == rs.statefulsets)
                return ours ? std::optional<json::value>(*sts) : std::nullopt;
            auto it = by_name.find(name);
            return it == by_name.end() ? std::nullopt : std::optional<json::value>(it->second);
        });
    co_return seen;
}

const json::value* spec_of(const std::optional<json::value>& o) {
    return o ? o->at("spec") : nullptr;
}

} // namespace

awaitable<admission::verdict> admit(client::client& c, const admission::request& request) {
    if (!request.subresource.empty() || request.operation == "CONNECT")
        co_return admission::verdict::allow();
    if (request.operation == "DELETE") {
        if (request.old_object && deletion_protected(*request.old_object))
            co_return admission::verdict::deny(
                "spec.deletionPolicy is DoNotTerminate: Database " + request.name +
                    " cannot be deleted until spec.deletionPolicy is changed to Retain or Delete",
                403,
                "Forbidden");
        co_return admission::verdict::allow();
    }
    // Metadata only (labels, finalizers): the spec was judged when it was written.
    const json::value* spec = spec_of(request.object);
    if (request.operation == "UPDATE" && spec && spec_of(request.old_object) &&
        *spec == *spec_of(request.old_object))
        co_return admission::verdict::allow();
    const json::value& object = *request.object;
    api::object_meta meta = json::decode_meta(object);
    if (meta.namespace_.empty())
        meta.namespace_ = request.namespace_;
    auto decoded = decode_spec(object, meta.name);
    if (!decoded)
        co_return admission::verdict::deny(decoded.error().message);
    if (auto one = validate_topology(*decoded); !one)
        co_return admission::verdict::deny(one.error().message);
    auto seen = co_await read_storage(c, meta);
    if (!seen) {
        admission::verdict v;
        v.warnings.push_back("kubecoro could not compare this change with the existing volumes (" +
                             seen.error().message + "); the operator checks it when it reconciles");
        co_return v;
    }
    if (auto change = validate_change(*decoded, *seen); !change)
        co_return admission::verdict::deny(change.error().message);
    co_return admission::verdict::allow();
}

namespace {

admission::route make_webhook(manager::admission_env env) {
    return {std::string(webhook_path),
            [c = env.client](const admission::request& r) { return admit(*c, r); }};
}

const bool registered = manager::register_admission("database", make_webhook);

} // namespace
} // namespace kubecoro::controllers::database
