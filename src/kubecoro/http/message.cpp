#include "syntax.hpp"
#include <kubecoro/http/message.hpp>

namespace kubecoro::http {

std::optional<std::string_view> find_field(const std::vector<field>& fields, std::string_view name) {
    for (const auto& f : fields) {
        if (detail::iequals(f.name, name))
            return std::string_view(f.value);
    }
    return std::nullopt;
}

std::string serialize(const request& req) {
    // Servers expect Content-Length on methods that carry a body, even an empty one.
    bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    bool add_length = (body_method || !req.body.empty()) && !find_field(req.fields, "content-length");

    std::string out;
    out.reserve(req.method.size() + req.target.size() + 64 + req.body.size());
    out.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
    for (const auto& f : req.fields)
        out.append(f.name).append(": ").append(f.value).append("\r\n");
    if (add_length)
        out.append("Content-Length: ").append(std::to_string(req.body.size())).append("\r\n");
    out.append("\r\n").append(req.body);
    return out;
}

} // namespace kubecoro::http
