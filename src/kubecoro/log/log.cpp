#include <kubecoro/core/errc.hpp>
#include <kubecoro/core/time.hpp>
#include <kubecoro/log/log.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <unistd.h>

namespace kubecoro::log {

struct logger::shared_state {
    std::atomic<level> min_level;
    log::format format;
    sink out;
    std::function<std::chrono::system_clock::time_point()> clock;
};

namespace {

char lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

// Position of `needle` (lower case) in `hay`, ignoring case; npos when absent.
std::size_t ifind(std::string_view hay, std::string_view needle, std::size_t from = 0) {
    for (std::size_t i = from; i + needle.size() <= hay.size(); ++i)
        if (iequals(hay.substr(i, needle.size()), needle))
            return i;
    return std::string_view::npos;
}

// RFC 6750 b64token characters (JWTs and opaque service-account tokens alike).
bool is_token_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size())
        return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((byte(i + k) & 0xC0) != 0x80)
            return 0;
    // Reject overlong forms, surrogates and code points past U+10FFFF.
    if (n == 2 && c < 0xC2)
        return 0;
    if (n == 3 && ((c == 0xE0 && byte(i + 1) < 0xA0) || (c == 0xED && byte(i + 1) >= 0xA0)))
        return 0;
    if (n == 4 && ((c == 0xF0 && byte(i + 1) < 0x90) || c > 0xF4 || (c == 0xF4 && byte(i + 1) >= 0x90)))
        return 0;
    return n;
}

constexpr char hex_digits[] = "0123456789abcdef";

// Appends `s` escaped for a JSON string (without quotes). Valid UTF-8 passes through; invalid
// bytes become U+FFFD so every line stays valid JSON.
void escape_json(std::string& out, std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            std::size_t n = utf8_length(s, i);
            if (n == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex_digits[c >> 4];
                out += hex_digits[c & 0xF];
            } else {
                out += static_cast<char>(c);
            }
        }
        ++i;
    }
}

// Text format: control characters escaped so an entry stays on one line.
void escape_text(std::string& out, std::string_view s, bool quoted) {
    for (std::size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            std::size_t n = utf8_length(s, i);
            out.append(n == 0 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, n));
            i += n == 0 ? 1 : n;
            continue;
        }
        if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (c < 0x20 || c == 0x7F) {
            out += "\\x";
            out += hex_digits[c >> 4];
            out += hex_digits[c & 0xF];
        } else if (quoted && (c == '"' || c == '\\')) {
            out += '\\';
            out += static_cast<char>(c);
        } else {
            out += static_cast<char>(c);
        }
        ++i;
    }
}

bool needs_quotes(std::string_view s) {
    return s.empty() || std::any_of(s.begin(), s.end(), [](char ch) {
               auto c = static_cast<unsigned char>(ch);
               return c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7F;
           });
}

void append_text_string(std::string& out, std::string_view s) {
    bool q = needs_quotes(s);
    if (q)
        out += '"';
    escape_text(out, s, q);
    if (q)
        out += '"';
}

template <class T>
void append_number(std::string& out, T v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, ec == std::errc() ? end : buf);
}

// A string value after redaction: the bearer scan only allocates when it finds something.
struct string_value {
    std::string_view view;
    std::string owned;
};

string_value redacted_string(std::string_view s) {
    if (ifind(s, "bearer") == std::string_view::npos)
        return {s, {}};
    string_value v{{}, redact(s)};
    v.view = v.owned;
    return v;
}

void append_field(std::string& out, format fmt, const field& f) {
    if (fmt == format::json) {
        out += ",\"";
        escape_json(out, f.key);
        out += "\":";
    } else {
        out += ' ';
        escape_text(out, f.key, false);
        out += '=';
    }
    if (is_sensitive_key(f.key)) {
        out += fmt == format::json ? "\"[redacted]\"" : "[redacted]";
        return;
    }
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::string_view>) {
                string_value s = redacted_string(v);
                if (fmt == format::json) {
                    out += '"';
                    escape_json(out, s.view);
                    out += '"';
                } else {
                    append_text_string(out, s.view);
                }
            } else if constexpr (std::is_same_v<T, bool>) {
                out += v ? "true" : "false";
            } else if constexpr (std::is_same_v<T, double>) {
                if (std::isfinite(v))
                    append_number(out, v);
                else // JSON has no NaN or infinities: quote them
                    out += fmt == format::json ? (std::isnan(v) ? "\"NaN\""
                                                  : v > 0       ? "\"+Inf\""
                                                                : "\"-Inf\"")
                                               : (std::isnan(v) ? "NaN"
                                                  : v > 0       ? "+Inf"
                                                                : "-Inf");
            } else {
                append_number(out, v);
            }
        },
        f.value);
}

std::string_view upper_name(level l) {
    switch (l) {
    case level::debug:
        return "DEBUG";
    case level::info:
        return "INFO ";
    case level::warn:
        return "WARN ";
    case level::error:
        return "ERROR";
    }
    return "?    ";
}

} // namespace

core::result<level> parse_level(std::string_view s) {
    if (iequals(s, "debug"))
        return level::debug;
    if (iequals(s, "info"))
        return level::info;
    if (iequals(s, "warn") || iequals(s, "warning"))
        return level::warn;
    if (iequals(s, "error"))
        return level::error;
    return core::fail(core::errc::invalid_argument,
                      "unknown log level \"" + std::string(s) + "\" (want debug, info, warn or error)");
}

std::string_view to_string(level l) {
    switch (l) {
    case level::debug:
        return "debug";
    case level::info:
        return "info";
    case level::warn:
        return "warn";
    case level::error:
        return "error";
    }
    return "unknown";
}

core::result<format> parse_format(std::string_view s) {
    if (iequals(s, "json"))
        return format::json;
    if (iequals(s, "text"))
        return format::text;
    return core::fail(core::errc::invalid_argument,
                      "unknown log format \"" + std::string(s) + "\" (want json or text)");
}

format default_format() {
    return ::isatty(STDERR_FILENO) ? format::text : format::json;
}

sink stderr_sink() {
    return [](std::string_view line) {
        // One write() per line; the loop only handles the rare partial write or signal.
        while (!line.empty()) {
            ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return;
            line.remove_prefix(static_cast<std::size_t>(n));
        }
    };
}

logger::logger()
    : logger(logger_config{level::info, default_format(), {}, {}}) {}

logger::logger(logger_config cfg)
    : shared_(std::make_shared<shared_state>()) {
    shared_->min_level.store(cfg.min_level, std::memory_order_relaxed);
    shared_->format = cfg.format;
    shared_->out = cfg.out ? std::move(cfg.out) : stderr_sink();
    shared_->clock = cfg.clock ? std::move(cfg.clock) : [] { return std::chrono::system_clock::now(); };
}

logger::logger(std::shared_ptr<shared_state> shared, std::string name, std::string context)
    : shared_(std::move(shared))
    , name_(std::move(name))
    , context_(std::move(context)) {}

logger logger::named(std::string_view name) const {
    std::string full = name_;
    if (!full.empty() && !name.empty())
        full += '.';
    full += name;
    return logger(shared_, std::move(full), context_);
}

logger logger::with(std::initializer_list<field> fields) const {
    std::string context = context_;
    for (const field& f : fields)
        append_field(context, shared_->format, f);
    return logger(shared_, name_, std::move(context));
}

bool logger::enabled(level l) const {
    return l >= shared_->min_level.load(std::memory_order_relaxed);
}
void logger::set_level(level l) {
    shared_->min_level.store(l, std::memory_order_relaxed);
}
level logger::get_level() const {
    return shared_->min_level.load(std::memory_order_relaxed);
}

std::string logger::render(level l, std::string_view msg, std::span<const field> fields) const {
    std::string line;
    line.reserve(128 + msg.size() + context_.size() + 32 * fields.size());
    string_value m = redacted_string(msg);
    auto ts = shared_->clock();
    if (shared_->format == format::json) {
        line += "{\"ts\":\"";
        line += core::format_rfc3339(ts, core::time_precision::milliseconds);
        line += "\",\"level\":\"";
        line += to_string(l);
        line += '"';
        if (!name_.empty()) {
            line += ",\"logger\":\"";
            escape_json(line, name_);
            line += '"';
        }
        line += ",\"msg\":\"";
        escape_json(line, m.view);
        line += '"';
        line += context_;
        for (const field& f : fields)
            append_field(line, format::json, f);
        line += "}\n";
    } else {
        line += core::format_rfc3339(ts, core::time_precision::milliseconds);
        line += ' ';
        line += upper_name(l);
        line += ' ';
        if (!name_.empty()) {
            escape_text(line, name_, false);
            line += ": ";
        }
        escape_text(line, m.view, false);
        line += context_;
        for (const field& f : fields)
            append_field(line, format::text, f);
        line += '\n';
    }
    return line;
}

void logger::log(level l, std::string_view msg, std::span<const field> fields) const {
    if (!enabled(l))
        return;
    shared_->out(render(l, msg, fields));
}

namespace {
logger& default_instance() {
    static logger instance;
    return instance;
}
} // namespace

const logger& default_logger() {
    return default_instance();
}
void set_default_logger(logger l) {
    default_instance() = std::move(l);
}

std::string redact(std::string_view text) {
    std::string out;
    std::size_t done = 0;
    for (std::size_t at = ifind(text, "bearer"); at != std::string_view::npos;
         at = ifind(text, "bearer", at)) {
        std::size_t start = at + 6;
        std::size_t tok = start;
        while (tok < text.size() && (text[tok] == ' ' || text[tok] == '\t'))
            ++tok;
        std::size_t end = tok;
        while (end < text.size() && is_token_char(text[end]))
            ++end;
        // Only "bearer" as a word followed by blanks and a token; "bearers" or "Bearer:" pass.
        bool word_start = at == 0 || !is_token_char(text[at - 1]);
        if (!word_start || tok == start || end == tok) {
            at = start;
            continue;
        }
        out.append(text.substr(done, start - done));
        out += ' ';
        out += redacted;
        done = end;
        at = end;
    }
    out.append(text.substr(done));
    return out;
}

bool is_sensitive_key(std::string_view key) {
    static constexpr std::string_view words[] = {
        "password",
        "passwd",
        "token",
        "secret",
        "credential",
        "authorization",
        "key-data",
        "key_data",
        "keydata",
        "private-key",
        "private_key",
        "privatekey",
        "api-key",
        "api_key",
        "apikey",
    };
    return std::any_of(std::begin(words), std::end(words), [&](std::string_view w) {
        return ifind(key, w) != std::string_view::npos;
    });
}

} // namespace kubecoro::log
