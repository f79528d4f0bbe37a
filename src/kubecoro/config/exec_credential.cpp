#include <kubecoro/config/errc.hpp>
#include <kubecoro/config/exec_credential.hpp>
#include <kubecoro/core/base64.hpp>
#include <kubecoro/json/json.hpp>

#include <charconv>

namespace kubecoro::config {
namespace {
core::failure exec_error(std::string message) {
    return core::fail(errc::exec_failed, "exec plugin: " + std::move(message));
}

// Reads exactly `digits` decimal digits at `pos`.
bool read_number(std::string_view s, std::size_t& pos, std::size_t digits, int& out) {
    if (pos + digits > s.size())
        return false;
    const char* first = s.data() + pos;
    const auto [end, ec] = std::from_chars(first, first + digits, out);
    if (ec != std::errc{} || end != first + digits)
        return false;
    pos += digits;
    return true;
}

bool expect(std::string_view s, std::size_t& pos, std::string_view any_of) {
    if (pos >= s.size() || any_of.find(s[pos]) == std::string_view::npos)
        return false;
    ++pos;
    return true;
}

// A string field that may be absent; present with another type is an error.
core::result<std::string> optional_string(const json::value& status, std::string_view key) {
    const json::value* v = status.at(key);
    if (!v || v->is_null())
        return std::string{};
    if (const std::string* s = v->if_string())
        return *s;
    return exec_error("status." + std::string(key) + " is not a string");
}
} // namespace

core::result<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
    using namespace std::chrono;
    auto invalid = [&] {
        // Appended piecewise: g++ 12 -O3 warns falsely (-Wrestrict) on "literal" + std::string(...).
        std::string message = "\"";
        message.append(text).append("\" is not an RFC 3339 time");
        return core::fail(errc::malformed, std::move(message));
    };
    std::size_t pos = 0;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!read_number(text, pos, 4, y) || !expect(text, pos, "-") || !read_number(text, pos, 2, mo) ||
        !expect(text, pos, "-") || !read_number(text, pos, 2, d) || !expect(text, pos, "Tt") ||
        !read_number(text, pos, 2, h) || !expect(text, pos, ":") || !read_number(text, pos, 2, mi) ||
        !expect(text, pos, ":") || !read_number(text, pos, 2, s))
        return invalid();
    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!date.ok() || h > 23 || mi > 59 || s > 59)
        return invalid();
    nanoseconds fraction{0};
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        const std::size_t start = pos;
        std::int64_t scale = 100'000'000;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            fraction += nanoseconds{(text[pos] - '0') * scale};
            scale /= 10;
            ++pos;
        }
        if (pos == start)
            return invalid();
    }
    minutes offset{0};
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        const int sign = text[pos] == '-' ? -1 : 1;
        ++pos;
        int oh = 0, om = 0;
        if (!read_number(text, pos, 2, oh) || !expect(text, pos, ":") || !read_number(text, pos, 2, om) ||
            oh > 23 || om > 59)
            return invalid();
        offset = minutes{sign * (oh * 60 + om)};
    } else {
        return invalid();
    }
    if (pos != text.size())
        return invalid();
    const auto local = sys_days{date} + hours{h} + minutes{mi} + seconds{s} + fraction;
    return time_point_cast<system_clock::duration>(local - offset);
}

core::result<exec_credential> parse_exec_credential(std::string_view text,
                                                    std::string_view expected_api_version) {
    if (expected_api_version != exec_api_v1 && expected_api_version != exec_api_v1beta1)
        return exec_error("API version \"" + std::string(expected_api_version) + "\" is not supported");
    auto doc = json::parse(text);
    if (!doc)
        return exec_error("output is not valid JSON");
    const json::value& root = *doc;
    if (!root.is_object())
        return exec_error("output is not a JSON object");
    const std::string kind = root.at("kind") ? root.at("kind")->string_or("") : "";
    if (kind != "ExecCredential")
        return exec_error("output has kind \"" + kind + "\", want ExecCredential");
    const std::string api_version = root.at("apiVersion") ? root.at("apiVersion")->string_or("") : "";
    if (api_version != expected_api_version)
        return exec_error("configured to use API version " + std::string(expected_api_version) +
                          ", plugin returned version \"" + api_version + "\"");
    const json::value* status = root.at("status");
    if (!status || !status->is_object())
        return exec_error("output has no status");

    exec_credential out;
    auto token = optional_string(*status, "token");
    if (!token)
        return core::fail(std::move(token).error());
    out.token = std::move(*token);
    auto cert = optional_string(*status, "clientCertificateData");
    if (!cert)
        return core::fail(std::move(cert).error());
    out.client_certificate_data = std::move(*cert);
    auto key = optional_string(*status, "clientKeyData");
    if (!key)
        return core::fail(std::move(key).error());
    out.client_key_data = std::move(*key);
    if (out.client_certificate_data.empty() != out.client_key_data.empty())
        return exec_error("returned only one of clientCertificateData and clientKeyData");
    if (out.token.empty() && out.client_certificate_data.empty())
        return exec_error("returned neither a token nor a client certificate and key");

    auto expiry = optional_string(*status, "expirationTimestamp");
    if (!expiry)
        return core::fail(std::move(expiry).error());
    if (!expiry->empty()) {
        auto when = parse_rfc3339(*expiry);
        if (!when)
            return exec_error("status.expirationTimestamp: " + when.error().message);
        out.expiration = *when;
    }
    return out;
}

std::string exec_info_json(const exec_config& exec, const cluster_config& cluster) {
    json::object spec{{"interactive", false}};
    if (exec.provide_cluster_info) {
        json::object c{{"server", cluster.server}};
        if (!cluster.tls_server_name.empty())
            c.set("tls-server-name", cluster.tls_server_name);
        if (cluster.insecure_skip_tls_verify)
            c.set("insecure-skip-tls-verify", true);
        if (!cluster.ca_pem.empty())
            c.set("certificate-authority-data", core::base64_encode(cluster.ca_pem));
        spec.set("cluster", std::move(c));
    }
    const json::value info{json::object{
        {"apiVersion", exec.api_version},
        {"kind", "ExecCredential"},
        {"spec", std::move(spec)},
    }};
    return json::write(info);
}

} // namespace kubecoro::config
