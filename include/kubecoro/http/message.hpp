// HTTP/1.1 messages and the request writer. No I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::http {

struct field {
    std::string name;
    std::string value;
    bool operator==(const field&) const = default;
};

// Case-insensitive lookup of the first field called `name`.
std::optional<std::string_view> find_field(const std::vector<field>& fields, std::string_view name);

struct request {
    std::string method; // "GET", "POST", ...
    std::string target; // origin-form: "/api/v1/namespaces/x/pods?limit=10"
    std::vector<field> fields;
    std::string body;
};

// Writes the request line, the fields, Content-Length (when the method carries a body or the body is
// not empty) and the body. The caller supplies Host and any other fields.
std::string serialize(const request& req);

struct response_head {
    int status = 0;
    std::string reason;
    std::vector<field> fields;
    std::optional<std::string_view> find(std::string_view name) const { return find_field(fields, name); }
};

} // namespace kubecoro::http
