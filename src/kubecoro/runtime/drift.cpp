#include <kubecoro/api/quantity.hpp>
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/drift.hpp>

namespace kubecoro::runtime {
namespace {

bool same_scalar(const json::value& actual, const json::value& desired) {
    if (actual == desired)
        return true;
    const auto* a = actual.if_string();
    const auto* d = desired.if_string();
    if (a && d) {
        auto qa = api::parse_quantity(*a);
        auto qd = api::parse_quantity(*d);
        return qa && qd && *qa == *qd;
    }
    // The API server may hand back a whole number where we wrote a double, or the reverse.
    if (actual.is_number() && desired.is_number()) {
        double x = actual.if_int() ? static_cast<double>(*actual.if_int()) : *actual.if_double();
        double y = desired.if_int() ? static_cast<double>(*desired.if_int()) : *desired.if_double();
        return x == y;
    }
    return false;
}

} // namespace

bool contains(const json::value& actual, const json::value& desired) {
    if (actual.is_null() && ((desired.if_object() && desired.if_object()->empty()) ||
                             (desired.if_array() && desired.if_array()->empty())))
        return true;
    if (const auto* d = desired.if_object()) {
        const auto* a = actual.if_object();
        if (!a)
            return false;
        for (const auto& [key, value] : *d) {
            const json::value* found = a->find(key);
            if (!found) {
                // An empty map or list we apply reads back as absent.
                bool empty = (value.if_object() && value.if_object()->empty()) ||
                             (value.if_array() && value.if_array()->empty());
                if (!empty)
                    return false;
                continue;
            }
            if (!contains(*found, value))
                return false;
        }
        return true;
    }
    if (const auto* d = desired.if_array()) {
        const auto* a = actual.if_array();
        if (!a || a->size() != d->size())
            return false;
        for (std::size_t i = 0; i < d->size(); ++i)
            if (!contains((*a)[i], (*d)[i]))
                return false;
        return true;
    }
    return same_scalar(actual, desired);
}

bool is_applied(const json::value& desired, const object* cached) {
    if (!cached)
        return false;
    json::value scratch;
    return is_applied(desired, *cached, cached->view(scratch));
}

bool is_applied(const json::value& desired, const object& cached, const json::value& body) {
    if (cached.meta.deletion_timestamp)
        return false;
    const auto* d = desired.if_object();
    if (!d)
        return false;
    for (const auto& [key, value] : *d) {
        if (key == "apiVersion" || key == "kind")
            continue;
        if (key == "metadata") {
            json::value meta = json::encode_meta(cached.meta);
            for (const char* field : {"labels", "annotations", "ownerReferences"}) {
                const json::value* want = value.at(field);
                if (want && !contains(meta.at(field) ? *meta.at(field) : json::value(), *want))
                    return false;
            }
            continue;
        }
        const json::value* have = body.at(key);
        if (!have || !contains(*have, value))
            return false;
    }
    return true;
}

} // namespace kubecoro::runtime
