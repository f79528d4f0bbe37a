#include "common/meta.hpp"

#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/apply.hpp>

#include <cctype>

namespace kubecoro::controllers {

json::value child_metadata(std::string_view name,
                           const api::object_meta& owner,
                           const label_map& labels,
                           std::string_view owner_kind) {
    api::object_meta meta;
    meta.name = std::string(name);
    meta.namespace_ = owner.namespace_;
    meta.labels = labels;
    if (!owner_kind.empty())
        meta.owner_references.push_back(
            runtime::owner_reference_to(owner, std::string(group_version), std::string(owner_kind)));
    return json::encode_meta(meta);
}

json::object object_header(std::string_view api_version, std::string_view kind, json::value metadata) {
    return json::object{{"apiVersion", api_version}, {"kind", kind}, {"metadata", std::move(metadata)}};
}

std::string selector_string(const label_map& labels) {
    std::string out;
    for (const auto& [k, v] : labels) {
        if (!out.empty())
            out += ',';
        out += k;
        out += '=';
        out += v;
    }
    return out;
}

std::optional<int> leading_integer(std::string_view s) {
    int n = 0;
    std::size_t i = 0;
    for (; i < s.size() && i < 9 && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
        n = n * 10 + (s[i] - '0');
    if (i == 0)
        return std::nullopt;
    return n;
}

} // namespace kubecoro::controllers
