// Structured logging: one line per entry, JSON (for log collectors) or text (for terminals),
// written to stderr with a single write() per line. Fields whose key looks sensitive and bearer
// tokens anywhere in a message or string value are redacted before anything is written.
#pragma once

#include <kubecoro/core/result.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

namespace kubecoro::log {

enum class level : std::uint8_t { debug, info, warn, error };
enum class format { json, text };

// "debug", "info", "warn" (or "warning"), "error", case-insensitive.
core::result<level> parse_level(std::string_view s);
std::string_view to_string(level l);
// "json" or "text".
core::result<format> parse_format(std::string_view s);
// JSON unless stderr is a terminal.
format default_format();

// Receives each finished line, ending in '\n'.
using sink = std::function<void(std::string_view line)>;
// Writes each line to fd 2 with one write() call (so lines from several threads do not interleave).
sink stderr_sink();

// A key and a value; values are viewed, not copied: a field lives only for the call it is passed to.
struct field {
    using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

    field(std::string_view k, std::string_view v)
        : key(k)
        , value(v) {}
    field(std::string_view k, const char* v)
        : key(k)
        , value(std::string_view(v)) {}
    field(std::string_view k, const std::string& v)
        : key(k)
        , value(std::string_view(v)) {}
    field(std::string_view k, bool v)
        : key(k)
        , value(v) {}
    template <std::signed_integral T>
    requires(!std::same_as<T, bool>) field(std::string_view k, T v)
        : key(k)
        , value(static_cast<std::int64_t>(v)) {}
    template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>) field(std::string_view k, T v)
        : key(k)
        , value(static_cast<std::uint64_t>(v)) {}
    field(std::string_view k, double v)
        : key(k)
        , value(v) {}
    // Durations as seconds (a double), the unit Prometheus and Go's slog use for them.
    template <class Rep, class Period>
    field(std::string_view k, std::chrono::duration<Rep, Period> d)
        : key(k)
        , value(std::chrono::duration<double>(d).count()) {}
    // An error by its message.
    field(std::string_view k, const core::error& e)
        : key(k)
        , value(std::string_view(e.message)) {}

    std::string_view key;
    value_type value;
};

struct logger_config {
    level min_level = level::info;
    log::format format = log::format::json;
    sink out;                                                     // empty: stderr_sink()
    std::function<std::chrono::system_clock::time_point()> clock; // empty: system_clock::now
};

// Cheap to copy; copies made with named() and with() share the sink and the level.
class logger {
public:
    // info level, default_format(), stderr.
    logger();
    explicit logger(logger_config cfg);

    // A child whose name is "<this name>.<name>" (or just name at the root).
    logger named(std::string_view name) const;
    // A child that adds these fields to every line (rendered once, here).
    logger with(std::initializer_list<field> fields) const;

    bool enabled(level l) const;
    // Changes the level of this logger and of every logger sharing its sink.
    void set_level(level l);
    level get_level() const;
    const std::string& name() const { return name_; }

    void log(level l, std::string_view msg, std::span<const field> fields) const;
    void log(level l, std::string_view msg, std::initializer_list<field> fields = {}) const {
        log(l, msg, std::span<const field>(fields.begin(), fields.size()));
    }
    void debug(std::string_view msg, std::initializer_list<field> fields = {}) const {
        log(level::debug, msg, fields);
    }
    void info(std::string_view msg, std::initializer_list<field> fields = {}) const {
        log(level::info, msg, fields);
    }
    void warn(std::string_view msg, std::initializer_list<field> fields = {}) const {
        log(level::warn, msg, fields);
    }
    void error(std::string_view msg, std::initializer_list<field> fields = {}) const {
        log(level::error, msg, fields);
    }

    // The full line log() would write, without the level check (for tests and other sinks).
    std::string render(level l, std::string_view msg, std::span<const field> fields) const;

    struct shared_state;

private:
    logger(std::shared_ptr<shared_state> shared, std::string name, std::string context);

    std::shared_ptr<shared_state> shared_;
    std::string name_;
    std::string context_; // fields from with(), already encoded for the format
};

// The process-wide logger, for code without one of its own. Replace it once at startup (not
// thread-safe against concurrent logging).
const logger& default_logger();
void set_default_logger(logger l);

// "Bearer <token>" (any case) -> "Bearer [redacted]".
std::string redact(std::string_view text);
// Whether a field with this key has its value replaced by "[redacted]": keys naming passwords,
// tokens, secrets, credentials, authorization headers or key data (e.g. "client-key-data").
bool is_sensitive_key(std::string_view key);

inline constexpr std::string_view redacted = "[redacted]";

} // namespace kubecoro::log
