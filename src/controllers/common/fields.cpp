#include "common/fields.hpp"

#include <kubecoro/config/exec_credential.hpp>

namespace kubecoro::controllers {

std::string string_at(const json::value* v) {
    const std::string* s = v ? v->if_string() : nullptr;
    return s ? *s : std::string();
}

int int_at(const json::value* v) {
    return v ? static_cast<int>(v->int_or(0)) : 0;
}

std::optional<std::chrono::system_clock::time_point> parse_time(const std::string& t) {
    if (t.empty())
        return std::nullopt;
    auto parsed = config::parse_rfc3339(t);
    return parsed ? std::optional(*parsed) : std::nullopt;
}

} // namespace kubecoro::controllers
