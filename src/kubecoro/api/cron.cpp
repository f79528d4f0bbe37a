#include <kubecoro/api/cron.hpp>
#include <kubecoro/core/errc.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::api {

namespace {

struct field_spec {
    const char* name;
    int min;
    int max;
    const std::array<std::string_view, 12>* names; // names[i] means min + i
};

constexpr std::array<std::string_view, 12> month_names{
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> day_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Kubernetes validates with robfig/cron v3, whose day-of-week range is 0-6 (7 is rejected).
constexpr std::array<field_spec, 5> fields{{
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day-of-month", 1, 31, nullptr},
    {"month", 1, 12, &month_names},
    {"day-of-week", 0, 6, &day_names},
}};

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
char lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// A non-negative decimal number, saturated so that huge inputs still compare as "too big".
std::optional<int> parse_number(std::string_view s) {
    if (s.empty())
        return std::nullopt;
    int v = 0;
    for (char c : s) {
        if (!is_digit(c))
            return std::nullopt;
        v = std::min(1000000, v * 10 + (c - '0'));
    }
    return v;
}

using problem = std::optional<std::string>;

std::string quoted(std::string_view s) {
    std::string q;
    q.reserve(s.size() + 2);
    q.append(1, '"').append(s).append(1, '"');
    return q;
}

problem parse_value(std::string_view s, const field_spec& f, int& out) {
    if (f.names && s.size() == 3) {
        std::string l{lower(s[0]), lower(s[1]), lower(s[2])};
        for (std::size_t i = 0; i < f.names->size(); ++i) {
            if ((*f.names)[i] == l) {
                out = f.min + static_cast<int>(i);
                return std::nullopt;
            }
        }
    }
    auto n = parse_number(s);
    if (!n)
        return quoted(s) + (f.names ? " is not a number or a name" : " is not a number");
    out = *n;
    return std::nullopt;
}

problem check_item(std::string_view item, const field_spec& f) {
    if (item.empty())
        return std::string("empty list element");
    auto slash = item.find('/');
    auto range = item.substr(0, slash);
    int start = f.min;
    int end = f.max;
    bool single = false;
    if (range != "*" && range != "?") {
        auto dash = range.find('-');
        if (auto p = parse_value(range.substr(0, dash), f, start))
            return p;
        if (dash == std::string_view::npos) {
            single = true;
            end = start;
        } else if (auto q = parse_value(range.substr(dash + 1), f, end)) {
            return q;
        }
    }
    if (slash != std::string_view::npos) {
        auto step_text = item.substr(slash + 1);
        auto step = parse_number(step_text);
        if (!step || *step == 0)
            return "step " + quoted(step_text) + " is not a positive number";
        if (single)
            end = f.max; // "a/n" means a through the maximum
    }
    if (start < f.min)
        return std::to_string(start) + " is below the minimum " + std::to_string(f.min);
    if (end > f.max)
        return std::to_string(end) + " is above the maximum " + std::to_string(f.max);
    if (start > end)
        return "range start " + std::to_string(start) + " is after its end " + std::to_string(end);
    return std::nullopt;
}

problem check_field(std::string_view text, const field_spec& f) {
    while (true) {
        auto comma = text.find(',');
        if (auto p = check_item(text.substr(0, comma), f))
            return p;
        if (comma == std::string_view::npos)
            return std::nullopt;
        text.remove_prefix(comma + 1);
    }
}

// Go's time.ParseDuration: [sign] ("0" | (number unit)+), unit one of ns us µs μs ms s m h; the
// duration in nanoseconds.
std::optional<double> go_duration_ns(std::string_view s) {
    double sign = 1;
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
        sign = s[0] == '-' ? -1 : 1;
        s.remove_prefix(1);
    }
    if (s == "0")
        return 0.0;
    if (s.empty())
        return std::nullopt;
    double total_ns = 0;
    while (!s.empty()) {
        std::size_t i = 0;
        double value = 0;
        bool digits = false;
        for (; i < s.size() && is_digit(s[i]); ++i, digits = true)
            value = value * 10 + (s[i] - '0');
        if (i < s.size() && s[i] == '.') {
            double scale = 0.1;
            for (++i; i < s.size() && is_digit(s[i]); ++i, digits = true, scale /= 10)
                value += (s[i] - '0') * scale;
        }
        if (!digits)
            return std::nullopt;
        auto unit_end = i;
        while (unit_end < s.size() && !is_digit(s[unit_end]) && s[unit_end] != '.')
            ++unit_end;
        auto unit = s.substr(i, unit_end - i);
        double ns = 0;
        if (unit == "ns")
            ns = 1;
        else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs")
            ns = 1e3;
        else if (unit == "ms")
            ns = 1e6;
        else if (unit == "s")
            ns = 1e9;
        else if (unit == "m")
            ns = 60e9;
        else if (unit == "h")
            ns = 3600e9;
        else
            return std::nullopt;
        total_ns += value * ns;
        s.remove_prefix(unit_end);
    }
    return sign * total_ns;
}

bool is_go_duration(std::string_view s) {
    auto ns = go_duration_ns(s);
    return ns && *ns <= 9223372036854775807.0 && *ns >= -9223372036854775807.0;
}

// The values a field matches as bits (bit v for value v), and whether it was "*" or "?" (robfig's
// star bit, which "*/n" with n > 1 clears).
struct field_bits {
    std::uint64_t bits = 0;
    bool star = false;
};

// Expands a field validate_cron accepted.
field_bits expand_field(std::string_view text, const field_spec& f) {
    field_bits out;
    while (true) {
        auto comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        auto slash = item.find('/');
        auto range = item.substr(0, slash);
        int start = f.min, end = f.max, step = 1;
        bool star = range == "*" || range == "?";
        bool single = false;
        if (!star) {
            auto dash = range.find('-');
            (void)parse_value(range.substr(0, dash), f, start);
            end = start;
            single = dash == std::string_view::npos;
            if (!single)
                (void)parse_value(range.substr(dash + 1), f, end);
        }
        if (slash != std::string_view::npos) {
            step = parse_number(item.substr(slash + 1)).value_or(1);
            if (single)
                end = f.max;
        }
        if (star && step == 1)
            out.star = true;
        for (int v = start; v <= end; v += step)
            out.bits |= std::uint64_t{1} << v;
        if (comma == std::string_view::npos)
            return out;
        text.remove_prefix(comma + 1);
    }
}

} // namespace

core::result<void> validate_cron(std::string_view schedule) {
    auto bad = [schedule](const std::string& why) {
        constexpr std::size_t shown = 100;
        std::string s(schedule.substr(0, shown));
        if (schedule.size() > shown)
            s += "...";
        return core::fail(core::errc::invalid_argument, "invalid cron schedule " + quoted(s) + ": " + why);
    };
    if (schedule.empty())
        return bad("empty schedule");
    if (schedule.find("TZ") != std::string_view::npos)
        return bad("TZ and CRON_TZ are not allowed in the schedule; use the timeZone field");
    if (schedule.front() == '@') {
        for (std::string_view macro :
             {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}) {
            if (schedule == macro)
                return {};
        }
        constexpr std::string_view every = "@every ";
        if (schedule.substr(0, every.size()) == every) {
            if (is_go_duration(schedule.substr(every.size())))
                return {};
            return bad("@every needs a duration such as 1h30m");
        }
        return bad(
            "unknown macro (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or "
            "@every <duration>)");
    }

    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < schedule.size()) {
        while (i < schedule.size() && is_space(schedule[i]))
            ++i;
        auto begin = i;
        while (i < schedule.size() && !is_space(schedule[i]))
            ++i;
        if (i > begin)
            parts.push_back(schedule.substr(begin, i - begin));
    }
    if (parts.size() != fields.size())
        return bad("expected 5 fields (minute hour day-of-month month day-of-week), found " +
                   std::to_string(parts.size()));
    for (std::size_t f = 0; f < fields.size(); ++f) {
        if (auto p = check_field(parts[f], fields[f]))
            return bad(std::string(fields[f].name) + " field " + quoted(parts[f]) + ": " + *p);
    }
    return {};
}

std::optional<std::chrono::system_clock::time_point> next_run(std::string_view schedule,
                                                              std::chrono::system_clock::time_point after) {
    using namespace std::chrono;
    if (!validate_cron(schedule))
        return std::nullopt;
    constexpr std::string_view every = "@every ";
    if (schedule.substr(0, every.size()) == every) {
        double ns = go_duration_ns(schedule.substr(every.size())).value_or(0);
        // robfig rounds up to a second at least.
        return after +
               std::max(seconds(1), duration_cast<seconds>(nanoseconds(static_cast<std::int64_t>(ns))));
    }
    std::string_view expr = schedule;
    if (schedule == "@yearly" || schedule == "@annually")
        expr = "0 0 1 1 *";
    else if (schedule == "@monthly")
        expr = "0 0 1 * *";
    else if (schedule == "@weekly")
        expr = "0 0 * * 0";
    else if (schedule == "@daily" || schedule == "@midnight")
        expr = "0 0 * * *";
    else if (schedule == "@hourly")
        expr = "0 * * * *";
    std::array<field_bits, 5> f{};
    std::size_t i = 0;
    for (std::size_t n = 0; n < fields.size(); ++n) {
        while (i < expr.size() && is_space(expr[i]))
            ++i;
        auto begin = i;
        while (i < expr.size() && !is_space(expr[i]))
            ++i;
        f[n] = expand_field(expr.substr(begin, i - begin), fields[n]);
    }
    auto has = [](const field_bits& b, unsigned v) { return (b.bits >> v) & 1; };

    auto t = floor<minutes>(after) + minutes(1);
    const auto limit = t + days(366 * 8);
    while (t < limit) {
        const auto day = floor<days>(t);
        const year_month_day date{day};
        if (!has(f[3], static_cast<unsigned>(date.month()))) {
            const year_month_day first{date.year(), date.month(), std::chrono::day{1}};
            t = sys_days{first + months(1)};
            continue;
        }
        const bool dom = has(f[2], static_cast<unsigned>(date.day()));
        const bool dow = has(f[4], weekday{day}.c_encoding());
        const bool day_ok = (f[2].star || f[4].star) ? (dom && dow) : (dom || dow);
        if (!day_ok) {
            t = day + days(1);
            continue;
        }
        const hh_mm_ss clock{t - day};
        if (!has(f[1], static_cast<unsigned>(clock.hours().count()))) {
            t = day + clock.hours() + hours(1);
            continue;
        }
        if (!has(f[0], static_cast<unsigned>(clock.minutes().count()))) {
            t += minutes(1);
            continue;
        }
        return time_point_cast<system_clock::duration>(t);
    }
    return std::nullopt;
}

} // namespace kubecoro::api
