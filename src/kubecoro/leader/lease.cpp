#include <kubecoro/core/time.hpp>
#include <kubecoro/leader/errc.hpp>
#include <kubecoro/leader/lease.hpp>

#include <cstdint>
#include <cstdio>
#include <limits>
#include <optional>

namespace kubecoro::leader {
namespace {

using std::chrono::system_clock;

// Reads exactly `digits` decimal digits at text[pos].
bool read_number(std::string_view text, std::size_t pos, std::size_t digits, int& out) {
    if (pos + digits > text.size())
        return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + digits; ++i) {
        char c = text[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

bool expect(std::string_view text, std::size_t pos, char c) {
    return pos < text.size() && text[pos] == c;
}

core::failure bad_time(std::string_view text) {
    return core::fail(errc::bad_lease,
                      "not an RFC 3339 timestamp: \"" + std::string(text.substr(0, 64)) + "\"");
}

core::failure bad_field(std::string_view field, std::string_view want) {
    return core::fail(errc::bad_lease, "Lease " + std::string(field) + " is not " + std::string(want));
}

// An optional integer field that fits an int.
core::result<int> int_field(const json::value& lease, std::string_view section, std::string_view key) {
    const json::value* v = lease.at(section, key);
    if (!v || v->is_null())
        return 0;
    const std::int64_t* i = v->if_int();
    if (!i || *i < std::numeric_limits<int>::min() || *i > std::numeric_limits<int>::max())
        return bad_field(std::string(section) + "." + std::string(key), "an integer");
    return static_cast<int>(*i);
}

core::result<std::string>
string_field(const json::value& lease, std::string_view section, std::string_view key) {
    const json::value* v = lease.at(section, key);
    if (!v || v->is_null())
        return std::string();
    const std::string* s = v->if_string();
    if (!s)
        return bad_field(std::string(section) + "." + std::string(key), "a string");
    return *s;
}

core::result<std::optional<system_clock::time_point>> time_field(const json::value& lease,
                                                                 std::string_view key) {
    auto s = string_field(lease, "spec", key);
    if (!s)
        return core::fail(std::move(s).error());
    if (s->empty())
        return std::optional<system_clock::time_point>();
    auto t = parse_micro_time(*s);
    if (!t) {
        auto e = std::move(t).error();
        e.message = "Lease spec." + std::string(key) + ": " + e.message;
        return core::fail(std::move(e));
    }
    return std::optional<system_clock::time_point>(*t);
}

} // namespace

api::resource lease_resource() {
    return api::resource{"coordination.k8s.io", "v1", "leases", "Lease", api::scope::namespaced};
}

std::string format_micro_time(system_clock::time_point t) {
    return core::format_rfc3339(t, core::time_precision::microseconds);
}

core::result<system_clock::time_point> parse_micro_time(std::string_view text) {
    using namespace std::chrono;
    // 2026-11-21T23:20:27[.123456](Z|+01:00)
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    if (!read_number(text, 0, 4, y) || !expect(text, 4, '-') || !read_number(text, 5, 2, mo) ||
        !expect(text, 7, '-') || !read_number(text, 8, 2, d) ||
        !(expect(text, 10, 'T') || expect(text, 10, 't')) || !read_number(text, 11, 2, h) ||
        !expect(text, 13, ':') || !read_number(text, 14, 2, mi) || !expect(text, 16, ':') ||
        !read_number(text, 17, 2, s))
        return bad_time(text);
    year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    // The years a system_clock of nanoseconds can represent.
    if (!ymd.ok() || y < 1678 || y > 2261 || h > 23 || mi > 59 || s > 59)
        return bad_time(text);
    std::size_t pos = 19;
    nanoseconds fraction{0};
    if (expect(text, pos, '.')) {
        ++pos;
        std::size_t digits = 0;
        std::int64_t ns = 0;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (digits < 9)
                ns = ns * 10 + (text[pos] - '0');
            ++digits;
            ++pos;
        }
        if (digits == 0)
            return bad_time(text);
        for (std::size_t i = digits; i < 9; ++i)
            ns *= 10;
        fraction = nanoseconds(ns);
    }
    minutes offset{0};
    if (expect(text, pos, 'Z') || expect(text, pos, 'z')) {
        ++pos;
    } else if (expect(text, pos, '+') || expect(text, pos, '-')) {
        int oh = 0, om = 0;
        if (!read_number(text, pos + 1, 2, oh) || !expect(text, pos + 3, ':') ||
            !read_number(text, pos + 4, 2, om) || oh > 23 || om > 59)
            return bad_time(text);
        offset = hours(oh) + minutes(om);
        if (text[pos] == '-')
            offset = -offset;
        pos += 6;
    } else {
        return bad_time(text);
    }
    if (pos != text.size())
        return bad_time(text);
    auto local = sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + fraction;
    return time_point_cast<system_clock::duration>(local - offset);
}

json::value lease_to_json(const lease_record& record, std::string_view ns, std::string_view name) {
    json::object meta{{"name", name}, {"namespace", ns}};
    if (!record.resource_version.empty())
        meta.set("resourceVersion", record.resource_version);
    json::object spec{{"holderIdentity", record.holder_identity},
                      {"leaseDurationSeconds", record.lease_duration_seconds}};
    if (record.acquire_time)
        spec.set("acquireTime", format_micro_time(*record.acquire_time));
    if (record.renew_time)
        spec.set("renewTime", format_micro_time(*record.renew_time));
    spec.set("leaseTransitions", record.lease_transitions);
    return json::object{{"apiVersion", "coordination.k8s.io/v1"},
                        {"kind", "Lease"},
                        {"metadata", std::move(meta)},
                        {"spec", std::move(spec)}};
}

core::result<lease_record> lease_from_json(const json::value& lease) {
    if (!lease.is_object())
        return core::fail(errc::bad_lease, "Lease is not a JSON object");
    lease_record r;
    auto holder = string_field(lease, "spec", "holderIdentity");
    if (!holder)
        return core::fail(std::move(holder).error());
    r.holder_identity = std::move(*holder);
    auto duration = int_field(lease, "spec", "leaseDurationSeconds");
    if (!duration)
        return core::fail(std::move(duration).error());
    r.lease_duration_seconds = *duration;
    auto transitions = int_field(lease, "spec", "leaseTransitions");
    if (!transitions)
        return core::fail(std::move(transitions).error());
    r.lease_transitions = *transitions;
    auto acquired = time_field(lease, "acquireTime");
    if (!acquired)
        return core::fail(std::move(acquired).error());
    r.acquire_time = *acquired;
    auto renewed = time_field(lease, "renewTime");
    if (!renewed)
        return core::fail(std::move(renewed).error());
    r.renew_time = *renewed;
    auto rv = string_field(lease, "metadata", "resourceVersion");
    if (!rv)
        return core::fail(std::move(rv).error());
    r.resource_version = std::move(*rv);
    return r;
}

} // namespace kubecoro::leader
