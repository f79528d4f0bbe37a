#include <kubecoro/runtime/predicates.hpp>

namespace kubecoro::runtime {

namespace {

bool same_without_status(const json::value& a, const json::value& b) {
    const json::object* oa = a.if_object();
    const json::object* ob = b.if_object();
    if (!oa || !ob)
        return a == b;
    auto count = [](const json::object& o) { return o.size() - (o.find("status") ? 1 : 0); };
    if (count(*oa) != count(*ob))
        return false;
    for (const auto& [key, v] : *oa) {
        if (key == "status")
            continue;
        const json::value* other = ob->find(key);
        if (!other || !(*other == v))
            return false;
    }
    return true;
}

} // namespace

reconcile_request request_from_key(std::string_view key) {
    auto slash = key.find('/');
    if (slash == std::string_view::npos)
        return {"", std::string(key)};
    return {std::string(key.substr(0, slash)), std::string(key.substr(slash + 1))};
}

reconcile_request request_for(const api::object_meta& meta) {
    return {meta.namespace_, meta.name};
}

bool primary_changed(const object* old, const object& now) {
    if (!old)
        return true;
    const api::object_meta& a = old->meta;
    const api::object_meta& b = now.meta;
    if (a.generation != b.generation || a.labels != b.labels || a.annotations != b.annotations ||
        a.finalizers != b.finalizers || a.deletion_timestamp != b.deletion_timestamp)
        return true;
    if (b.generation != 0)
        return false;
    // The resource does not count spec changes: compare the content.
    json::value a_scratch, b_scratch;
    return !same_without_status(old->view(a_scratch), now.view(b_scratch));
}

bool projection_changed(const object* old, const object& now, const projection& seen) {
    if (!old)
        return true;
    api::object_meta a = old->meta;
    a.resource_version = now.meta.resource_version;
    if (!(a == now.meta))
        return true;
    // Packed bodies: the same text is the same projection; otherwise what `seen` keeps is compared.
    if (same_packed(*old, now))
        return false;
    json::value a_scratch, b_scratch;
    return !seen.same(old->view(a_scratch), now.view(b_scratch));
}

std::string_view api_group(std::string_view api_version) {
    auto slash = api_version.find('/');
    return slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
}

std::optional<reconcile_request> owner_request(const api::object_meta& child, const api::resource& owner) {
    const api::owner_reference* ref = child.controller_ref();
    if (!ref || ref->kind != owner.kind || api_group(ref->api_version) != owner.group)
        return std::nullopt;
    // Owners are in the child's namespace, or cluster-scoped.
    return reconcile_request{owner.scope == api::scope::namespaced ? child.namespace_ : std::string(),
                             ref->name.str()};
}

} // namespace kubecoro::runtime
