#include <kubecoro/core/errc.hpp>
#include <kubecoro/metrics/metrics.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>
#include <variant>

namespace kubecoro::metrics {

struct registry::entry {
    std::string name;
    std::string help;
    kind type;
    std::variant<family<counter>, family<gauge>, family<histogram>> metrics;
};

namespace {

bool valid_name(std::string_view s, bool allow_colon) {
    auto first = [&](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || (allow_colon && c == ':');
    };
    auto rest = [&](char c) { return first(c) || std::isdigit(static_cast<unsigned char>(c)); };
    return !s.empty() && first(s[0]) && std::all_of(s.begin() + 1, s.end(), rest);
}

const char* type_name(int k) {
    static constexpr const char* names[] = {"counter", "gauge", "histogram"};
    return names[k];
}

void append_help(std::string& out, std::string_view help) {
    for (char c : help) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
}

// name{a="x",b="y",le="0.5"} (no braces when there are no labels)
void append_series(std::string& out,
                   std::string_view name,
                   const std::vector<std::string>& names,
                   const std::vector<std::string>& values,
                   std::string_view le = {}) {
    out += name;
    if (names.empty() && le.empty())
        return;
    out += '{';
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0)
            out += ',';
        out += names[i];
        out += "=\"";
        out += escape_label_value(values[i]);
        out += '"';
    }
    if (!le.empty()) {
        if (!names.empty())
            out += ',';
        out += "le=\"";
        out += le;
        out += '"';
    }
    out += '}';
}

void append_sample(std::string& out,
                   std::string_view name,
                   const std::vector<std::string>& names,
                   const std::vector<std::string>& values,
                   double v,
                   std::string_view le = {}) {
    append_series(out, name, names, values, le);
    out += ' ';
    out += format_value(v);
    out += '\n';
}

void append_header(std::string& out, std::string_view name, std::string_view help, const char* type) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_help(out, help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

void render_family(std::string& out, const std::string& name, const family<counter>& f) {
    for (const auto& [values, c] : f.children())
        append_sample(out, name, f.label_names(), values, c.value());
}

void render_family(std::string& out, const std::string& name, const family<gauge>& f) {
    for (const auto& [values, g] : f.children())
        append_sample(out, name, f.label_names(), values, g.value());
}

void render_family(std::string& out, const std::string& name, const family<histogram>& f) {
    for (const auto& [values, h] : f.children()) {
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.bucket_counts().size(); ++i) {
            cumulative += h.bucket_counts()[i];
            std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
            append_sample(
                out, name + "_bucket", f.label_names(), values, static_cast<double>(cumulative), le);
        }
        append_sample(out, name + "_sum", f.label_names(), values, h.sum());
        append_sample(out, name + "_count", f.label_names(), values, static_cast<double>(h.count()));
    }
}

void render_process(std::string& out) {
    auto stats = read_process_stats();
    if (!stats)
        return; // not Linux, or /proc unavailable: leave them out rather than report zeros
    const std::vector<std::string> none;
    auto one = [&](const char* name, const char* help, const char* type, double v) {
        append_header(out, name, help, type);
        append_sample(out, name, none, none, v);
    };
    one("process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.",
        "counter",
        stats->cpu_seconds);
    one("process_open_fds", "Number of open file descriptors.", "gauge", stats->open_fds);
    one("process_max_fds", "Maximum number of open file descriptors.", "gauge", stats->max_fds);
    one("process_virtual_memory_bytes",
        "Virtual memory size in bytes.",
        "gauge",
        stats->virtual_memory_bytes);
    one("process_resident_memory_bytes",
        "Resident memory size in bytes.",
        "gauge",
        stats->resident_memory_bytes);
    one("process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.",
        "gauge",
        stats->start_time_seconds);
}

std::string read_file(const char* path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Seconds since the epoch at boot: "btime" in /proc/stat. Constant, so read once.
double boot_time_seconds() {
    static const double btime = [] {
        std::istringstream in(read_file("/proc/stat"));
        for (std::string line; std::getline(in, line);)
            if (line.rfind("btime ", 0) == 0)
                return std::strtod(line.c_str() + 6, nullptr);
        return 0.0;
    }();
    return btime;
}

} // namespace

histogram::histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)) {
    if (!bounds_.empty() && std::isinf(bounds_.back()) && bounds_.back() > 0)
        bounds_.pop_back(); // +Inf is always there
    for (std::size_t i = 0; i < bounds_.size(); ++i)
        if (std::isnan(bounds_[i]) || (i > 0 && !(bounds_[i - 1] < bounds_[i])))
            throw std::invalid_argument("metrics: histogram bounds must increase strictly");
    counts_.assign(bounds_.size() + 1, 0);
}

void histogram::observe(double v) {
    // A bucket counts values <= its bound ("le").
    auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
    ++counts_[i];
    ++count_;
    sum_ += v;
}

std::vector<double> default_buckets() {
    return {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_buckets(double start, double factor, int count) {
    std::vector<double> b;
    for (int i = 0; i < count; ++i, start *= factor)
        b.push_back(start);
    return b;
}

registry::registry(process_metrics p)
    : process_(p) {}
registry::~registry() = default;

registry::entry& registry::find_or_add(
    std::string name, std::string help, kind k, std::vector<std::string> labels, std::vector<double> bounds) {
    if (!valid_name(name, true))
        throw std::invalid_argument("metrics: invalid metric name \"" + name + "\"");
    for (const auto& l : labels)
        if (!valid_name(l, false) || l.rfind("__", 0) == 0 || (k == kind::histogram && l == "le"))
            throw std::invalid_argument("metrics: invalid label name \"" + l + "\" for " + name);
    for (auto& e : entries_) {
        if (e->name != name)
            continue;
        bool same_labels = std::visit([&](const auto& f) { return f.label_names() == labels; }, e->metrics);
        if (e->type != k || !same_labels)
            throw std::invalid_argument("metrics: " + name +
                                        " registered twice with different types or labels");
        return *e;
    }
    auto e =
        std::make_unique<entry>(entry{std::move(name), std::move(help), k, family<counter>({}, counter{})});
    if (k == kind::gauge)
        e->metrics.emplace<family<gauge>>(std::move(labels), gauge{});
    else if (k == kind::histogram)
        e->metrics.emplace<family<histogram>>(std::move(labels), histogram(std::move(bounds)));
    else
        e->metrics.emplace<family<counter>>(std::move(labels), counter{});
    entries_.push_back(std::move(e));
    return *entries_.back();
}

counter& registry::add_counter(std::string name, std::string help) {
    return std::get<family<counter>>(
               find_or_add(std::move(name), std::move(help), kind::counter, {}, {}).metrics)
        .with({});
}

gauge& registry::add_gauge(std::string name, std::string help) {
    return std::get<family<gauge>>(find_or_add(std::move(name), std::move(help), kind::gauge, {}, {}).metrics)
        .with({});
}

histogram& registry::add_histogram(std::string name, std::string help, std::vector<double> bounds) {
    return std::get<family<histogram>>(
               find_or_add(std::move(name), std::move(help), kind::histogram, {}, std::move(bounds)).metrics)
        .with({});
}

family<counter>&
registry::add_counter_family(std::string name, std::string help, std::vector<std::string> labels) {
    return std::get<family<counter>>(
        find_or_add(std::move(name), std::move(help), kind::counter, std::move(labels), {}).metrics);
}

family<gauge>&
registry::add_gauge_family(std::string name, std::string help, std::vector<std::string> labels) {
    return std::get<family<gauge>>(
        find_or_add(std::move(name), std::move(help), kind::gauge, std::move(labels), {}).metrics);
}

family<histogram>& registry::add_histogram_family(std::string name,
                                                  std::string help,
                                                  std::vector<std::string> labels,
                                                  std::vector<double> bounds) {
    return std::get<family<histogram>>(
        find_or_add(std::move(name), std::move(help), kind::histogram, std::move(labels), std::move(bounds))
            .metrics);
}

void registry::on_collect(std::function<void()> fn) {
    collectors_.push_back(std::move(fn));
}

std::string registry::render() {
    for (auto& fn : collectors_)
        fn();
    std::string out;
    for (const auto& e : entries_) {
        bool empty = std::visit([](const auto& f) { return f.children().empty(); }, e->metrics);
        if (empty)
            continue; // a labelled family nobody used yet, as client_golang does
        append_header(out, e->name, e->help, type_name(static_cast<int>(e->type)));
        std::visit([&](const auto& f) { render_family(out, e->name, f); }, e->metrics);
    }
    if (process_ == process_metrics::on)
        render_process(out);
    return out;
}

core::result<process_stats> read_process_stats() {
    // /proc/self/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses, so
    // fields are counted from the last ')'. After it, field 3 (state) comes first.
    std::string stat = read_file("/proc/self/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos)
        return core::fail(core::errc::io, "cannot read /proc/self/stat");
    std::istringstream in(stat.substr(close + 1));
    std::vector<std::string> f{"", "", ""}; // fields 1 and 2 already consumed; index = field number
    for (std::string tok; in >> tok;)
        f.push_back(std::move(tok));
    if (f.size() <= 24)
        return core::fail(core::errc::io, "short /proc/self/stat");
    double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    auto num = [&](int i) { return std::strtod(f[static_cast<std::size_t>(i)].c_str(), nullptr); };

    process_stats s;
    s.cpu_seconds = (num(14) + num(15)) / ticks; // utime + stime
    s.virtual_memory_bytes = num(23);
    s.resident_memory_bytes = num(24) * page;
    s.start_time_seconds = boot_time_seconds() + num(22) / ticks;
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec))
        ++s.open_fds;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0)
        s.max_fds = lim.rlim_cur == RLIM_INFINITY ? std::numeric_limits<double>::infinity()
                                                  : static_cast<double>(lim.rlim_cur);
    return s;
}

std::string format_value(double v) {
    if (std::isnan(v))
        return "NaN";
    if (std::isinf(v))
        return v > 0 ? "+Inf" : "-Inf";
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, ec == std::errc() ? end : buf);
}

std::string escape_label_value(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

} // namespace kubecoro::metrics
