// Reading with simdjson: the only file that includes it.
#include "read.hpp"

#include <kubecoro/json/json.hpp>

#include <simdjson.h>

#include <memory>
#include <span>

namespace kubecoro::json {
namespace {

// Deeper than any Kubernetes object (CRD schemas nest a few dozen levels), shallow enough that
// the recursive tree building and destruction cannot exhaust the stack.
constexpr std::size_t max_depth = 128;

// Documents above this size parse with a parser of their own, so that the thread's reusable
// parser does not keep a large list page's buffers (about 10 bytes per byte of input) alive
// forever; watch events and single objects are far smaller (a StatefulSet's about 8 KB). At 1 MiB,
// the list pages of a restart on 1000 Databases left it 3 MiB larger for good.
constexpr std::size_t reusable_capacity = std::size_t{64} << 10;

// A path of members the tree building leaves out, e.g. {"items", "*", "metadata", "managedFields"}
// ("*": any array item). Skipped subtrees are never built: cheaper than building and erasing.
using skip_path = std::span<const std::string_view>;

// What is left of `skip` below the member `key` (below an array item for "*"); empty when
// nothing below is skipped.
skip_path descend(skip_path skip, std::string_view key) {
    if (skip.size() < 2 || (skip.front() != key && skip.front() != "*"))
        return {};
    return skip.subspan(1);
}

// Builds the owned tree; false when the nesting exceeds max_depth.
bool build(simdjson::dom::element e, value& out, std::size_t depth, skip_path skip) {
    using simdjson::dom::element_type;
    switch (e.type()) {
    case element_type::OBJECT: {
        if (depth >= max_depth)
            return false;
        simdjson::dom::object o = e.get_object().value_unsafe();
        std::vector<member> members;
        members.reserve(o.size());
        for (simdjson::dom::key_value_pair kv : o) {
            if (skip.size() == 1 && kv.key == skip.front())
                continue;
            value& v = members.emplace_back(std::string(kv.key), value()).second;
            if (!build(kv.value, v, depth + 1, descend(skip, kv.key)))
                return false;
        }
        out = value(object(std::move(members)));
        return true;
    }
    case element_type::ARRAY: {
        if (depth >= max_depth)
            return false;
        simdjson::dom::array a = e.get_array().value_unsafe();
        array items;
        items.reserve(a.size());
        skip_path below = descend(skip, "*");
        for (simdjson::dom::element x : a)
            if (!build(x, items.emplace_back(), depth + 1, below))
                return false;
        out = value(std::move(items));
        return true;
    }
    case element_type::INT64:
        out = value(e.get_int64().value_unsafe());
        return true;
    // Only integers above INT64_MAX are UINT64: kept as the nearest double rather than rejected.
    case element_type::UINT64:
        out = value(static_cast<double>(e.get_uint64().value_unsafe()));
        return true;
    case element_type::DOUBLE:
        out = value(e.get_double().value_unsafe());
        return true;
    case element_type::STRING:
        out = value(e.get_string().value_unsafe());
        return true;
    case element_type::BOOL:
        out = value(e.get_bool().value_unsafe());
        return true;
    case element_type::NULL_VALUE:
        out = value();
        return true;
    }
    return true;
}

core::failure too_deep() {
    return core::fail(errc::too_deep, "json: nesting deeper than " + std::to_string(max_depth) + " levels");
}

// The root's items one by one (see parse_items), or the whole root when `each` is empty.
core::result<value> build_root(simdjson::dom::parser& parser,
                               std::string_view text,
                               skip_path skip,
                               const std::function<void(value)>* each) {
    simdjson::dom::element root;
    if (auto error = parser.parse(text.data(), text.size()).get(root)) {
        auto code = error == simdjson::DEPTH_ERROR ? errc::too_deep : errc::syntax;
        return core::fail(code,
                          std::string("json: ") + simdjson::error_message(error) + " (input of " +
                              std::to_string(text.size()) + " bytes)");
    }
    value out;
    if (!each || !root.is_object()) {
        if (!build(root, out, 0, skip))
            return too_deep();
        return out;
    }
    object members;
    simdjson::dom::object o = root.get_object().value_unsafe();
    for (simdjson::dom::key_value_pair kv : o) {
        skip_path below = descend(skip, kv.key);
        if (kv.key == "items" && kv.value.is_array()) {
            skip_path item_skip = descend(below, "*");
            simdjson::dom::array a = kv.value.get_array().value_unsafe();
            for (simdjson::dom::element x : a) {
                value item;
                if (!build(x, item, 2, item_skip))
                    return too_deep();
                (*each)(std::move(item));
            }
            continue;
        }
        value v;
        if (!build(kv.value, v, 1, below))
            return too_deep();
        members.set(std::string(kv.key), std::move(v));
    }
    return value(std::move(members));
}

core::result<value>
parse_with(std::string_view text, skip_path skip, const std::function<void(value)>* each) {
    // simdjson reports allocation failure as an error code, but a std::bad_alloc from our own
    // tree building must not escape either: parse never throws.
    try {
        if (text.size() > reusable_capacity) {
            simdjson::dom::parser parser;
            return build_root(parser, text, skip, each);
        }
        thread_local simdjson::dom::parser parser;
        return build_root(parser, text, skip, each);
    } catch (const std::bad_alloc&) {
        return core::fail(std::make_error_code(std::errc::not_enough_memory), "json: out of memory");
    }
}

} // namespace

core::result<value> parse_skipping(std::string_view text, std::span<const std::string_view> skip) {
    return parse_with(text, skip, nullptr);
}

core::result<value> parse_items(std::string_view text,
                                std::span<const std::string_view> skip,
                                const std::function<void(value)>& each) {
    return parse_with(text, skip, &each);
}

core::result<value> parse(std::string_view text) {
    return parse_skipping(text, {});
}

} // namespace kubecoro::json
