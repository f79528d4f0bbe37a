#include <kubecoro/core/time.hpp>
#include <kubecoro/json/errc.hpp>
#include <kubecoro/runtime/conditions.hpp>

#include <algorithm>
#include <cstdio>

namespace kubecoro::runtime {

namespace {
auto by_type(std::string_view type) {
    return [type](const condition& c) { return c.type == type; };
}
} // namespace

bool set_condition(std::vector<condition>& conditions, condition c, std::string now) {
    auto it = std::find_if(conditions.begin(), conditions.end(), by_type(c.type));
    if (it == conditions.end()) {
        if (c.last_transition_time.empty())
            c.last_transition_time = std::move(now);
        conditions.push_back(std::move(c));
        return true;
    }
    bool changed = false;
    if (it->status != c.status) {
        it->status = std::move(c.status);
        it->last_transition_time =
            c.last_transition_time.empty() ? std::move(now) : std::move(c.last_transition_time);
        changed = true;
    }
    if (it->reason != c.reason) {
        it->reason = std::move(c.reason);
        changed = true;
    }
    if (it->message != c.message) {
        it->message = std::move(c.message);
        changed = true;
    }
    if (it->observed_generation != c.observed_generation) {
        it->observed_generation = c.observed_generation;
        changed = true;
    }
    return changed;
}

bool remove_condition(std::vector<condition>& conditions, std::string_view type) {
    return std::erase_if(conditions, by_type(type)) > 0;
}

const condition* find_condition(const std::vector<condition>& conditions, std::string_view type) {
    auto it = std::find_if(conditions.begin(), conditions.end(), by_type(type));
    return it == conditions.end() ? nullptr : &*it;
}

bool is_true(const std::vector<condition>& conditions, std::string_view type) {
    const condition* c = find_condition(conditions, type);
    return c && c->status == condition_true;
}

bool is_false(const std::vector<condition>& conditions, std::string_view type) {
    const condition* c = find_condition(conditions, type);
    return c && c->status == condition_false;
}

json::value to_json(const condition& c) {
    json::object o{{"type", c.type}, {"status", c.status}};
    if (c.observed_generation > 0)
        o.set("observedGeneration", c.observed_generation);
    o.set("lastTransitionTime", c.last_transition_time);
    // reason and message are required fields of metav1.Condition: always written.
    o.set("reason", c.reason);
    o.set("message", c.message);
    return o;
}

json::value to_json(const std::vector<condition>& conditions) {
    json::array a;
    a.reserve(conditions.size());
    for (const condition& c : conditions)
        a.push_back(to_json(c));
    return a;
}

core::result<condition> condition_from_json(const json::value& v) {
    const json::value* type = v.at("type");
    const json::value* status = v.at("status");
    if (!type || !type->is_string() || !status || !status->is_string())
        return core::fail(json::errc::type, "condition without string type and status");
    condition c;
    c.type = *type->if_string();
    c.status = *status->if_string();
    if (const json::value* x = v.at("reason"))
        c.reason = x->string_or("");
    if (const json::value* x = v.at("message"))
        c.message = x->string_or("");
    if (const json::value* x = v.at("lastTransitionTime"))
        c.last_transition_time = x->string_or("");
    if (const json::value* x = v.at("observedGeneration"))
        c.observed_generation = static_cast<long>(x->int_or(0));
    return c;
}

core::result<std::vector<condition>> conditions_from_json(const json::value& v) {
    std::vector<condition> out;
    if (v.is_null())
        return out;
    const json::array* a = v.if_array();
    if (!a)
        return core::fail(json::errc::type, "conditions is not an array");
    out.reserve(a->size());
    for (const json::value& item : *a) {
        auto c = condition_from_json(item);
        if (!c)
            return core::fail(std::move(c).error());
        out.push_back(std::move(*c));
    }
    return out;
}

std::string now_rfc3339(std::chrono::system_clock::time_point t) {
    return core::format_rfc3339(t);
}

std::string clip_message(std::string message, std::size_t max) {
    if (message.size() <= max)
        return message;
    std::size_t cut = max >= 3 ? max - 3 : 0;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80)
        --cut; // never split a multi-byte character
    message.resize(cut);
    message += "...";
    return message;
}

} // namespace kubecoro::runtime
