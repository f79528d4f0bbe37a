#include <kubecoro/core/errc.hpp>
#include <kubecoro/manager/options.hpp>
#include <kubecoro/manager/registry.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <sstream>

namespace kubecoro::manager {
namespace {

core::failure bad_flag(const std::string& flag, const std::string& why) {
    return core::fail(core::errc::invalid_argument, "flag --" + flag + ": " + why);
}

std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    std::string item;
    std::istringstream in(s);
    while (std::getline(in, item, ','))
        if (!item.empty())
            out.push_back(item);
    return out;
}

bool is_dns_label(const std::string& s) {
    if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-')
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

std::optional<double> to_double(const std::string& s) {
    if (s.empty())
        return std::nullopt;
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(s.c_str(), &end);
    if (errno != 0 || *end != '\0')
        return std::nullopt;
    return v;
}

std::optional<long> to_long(const std::string& s) {
    if (s.empty())
        return std::nullopt;
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(s.c_str(), &end, 10);
    if (errno != 0 || *end != '\0')
        return std::nullopt;
    return v;
}

std::optional<bool> to_bool(const std::string& s) {
    if (s == "true" || s == "1")
        return true;
    if (s == "false" || s == "0")
        return false;
    return std::nullopt;
}

using setter = std::function<core::result<void>(const std::string& flag, const std::string& value)>;

struct flag_spec {
    bool is_bool = false;
    setter set;
};

std::map<std::string, flag_spec> run_flags(options& o) {
    auto text = [](std::string& target) {
        return flag_spec{false, [&target](const std::string&, const std::string& v) -> core::result<void> {
                             target = v;
                             return {};
                         }};
    };
    auto duration = [](std::chrono::milliseconds& target) {
        return flag_spec{false, [&target](const std::string& f, const std::string& v) -> core::result<void> {
                             auto d = parse_duration(v);
                             if (!d)
                                 return bad_flag(f, d.error().message);
                             target = *d;
                             return {};
                         }};
    };
    std::map<std::string, flag_spec> flags;
    flags["kubeconfig"] = text(o.kubeconfig);
    flags["context"] = text(o.context);
    flags["namespace"] = {
        false, [&o](const std::string& f, const std::string& v) -> core::result<void> {
            auto list = split_list(v);
            if (list.empty() && !v.empty())
                return bad_flag(f,
                                "no namespace in \"" + v +
                                    "\" (leave the flag out, or empty, to watch all namespaces)");
            for (const auto& ns : list)
                if (!is_dns_label(ns))
                    return bad_flag(f,
                                    "\"" + ns +
                                        "\" is not a namespace name (lower-case letters, digits "
                                        "and '-', at most 63)");
            o.namespaces = list;
            return {};
        }};
    flags["kube-api-qps"] = {false, [&o](const std::string& f, const std::string& v) -> core::result<void> {
                                 auto d = to_double(v);
                                 if (!d || *d < 0)
                                     return bad_flag(f, "want a number >= 0, got \"" + v + "\"");
                                 o.kube_api_qps = *d;
                                 return {};
                             }};
    flags["kube-api-burst"] = {false, [&o](const std::string& f, const std::string& v) -> core::result<void> {
                                   auto n = to_long(v);
                                   if (!n || *n < 0 || *n > 1000000)
                                       return bad_flag(f, "want a whole number >= 0, got \"" + v + "\"");
                                   o.kube_api_burst = static_cast<int>(*n);
                                   return {};
                               }};
    flags["log-level"] = {false, [&o](const std::string& f, const std::string& v) -> core::result<void> {
                              if (v != "debug" && v != "info" && v != "warn" && v != "error")
                                  return bad_flag(f, "want debug, info, warn or error, got \"" + v + "\"");
                              o.log_level = v;
                              return {};
                          }};
    flags["log-format"] = {false, [&o](const std::string& f, const std::string& v) -> core::result<void> {
                               if (v == "json")
                                   o.log_format = log_encoding::json;
                               else if (v == "text")
                                   o.log_format = log_encoding::text;
                               else
                                   return bad_flag(f, "want json or text, got \"" + v + "\"");
                               return {};
                           }};
    flags["health-probe-bind-address"] = text(o.health_probe_bind_address);
    flags["metrics-bind-address"] = text(o.metrics_bind_address);
    flags["leader-elect"] = {true, [&o](const std::string& f, const std::string& v) -> core::result<void> {
                                 auto b = to_bool(v);
                                 if (!b)
                                     return bad_flag(f, "want true or false, got \"" + v + "\"");
                                 o.leader_elect = *b;
                                 return {};
                             }};
    flags["leader-election-namespace"] = text(o.leader_election_namespace);
    flags["leader-election-id"] = text(o.leader_election_id);
    flags["max-concurrent-reconciles"] = {
        false, [&o](const std::string& f, const std::string& v) -> core::result<void> {
            auto n = to_long(v);
            if (!n || *n < 1 || *n > 1024)
                return bad_flag(f, "want a whole number from 1 to 1024, got \"" + v + "\"");
            o.max_concurrent_reconciles = static_cast<int>(*n);
            return {};
        }};
    flags["resync-period"] = duration(o.resync_period);
    flags["shutdown-timeout"] = duration(o.shutdown_timeout);
    flags["watch-idle-timeout"] = duration(o.watch_idle_timeout);
    flags["webhook-bind-address"] = text(o.webhook_bind_address);
    flags["webhook-secret"] = text(o.webhook_secret);
    flags["webhook-service"] = text(o.webhook_service);
    flags["webhook-configuration"] = text(o.webhook_configuration);
    flags["webhook-cert-validity"] = {false,
                                      [&o](const std::string& f, const std::string& v) -> core::result<void> {
                                          auto d = parse_duration(v);
                                          if (!d)
                                              return bad_flag(f, d.error().message);
                                          if (*d < std::chrono::seconds(10))
                                              return bad_flag(f, "want at least 10s, got \"" + v + "\"");
                                          o.webhook_cert_validity = *d;
                                          return {};
                                      }};
    flags["controllers"] = {false, [&o](const std::string& f, const std::string& v) -> core::result<void> {
                                auto list = split_list(v);
                                const auto& known = registered_controllers();
                                for (const auto& c : list)
                                    if (!known.contains(c)) {
                                        std::string names;
                                        for (const auto& [name, factory] : known)
                                            names += (names.empty() ? "" : ", ") + name;
                                        return bad_flag(f,
                                                        "unknown controller \"" + c + "\" (" + names + ")");
                                    }
                                if (list.empty())
                                    return bad_flag(f, "name at least one controller");
                                o.controllers = list;
                                return {};
                            }};
    return flags;
}

std::map<std::string, flag_spec> manifests_flags(manifests_options& o) {
    std::map<std::string, flag_spec> flags;
    flags["image"] = {false, [&o](const std::string&, const std::string& v) -> core::result<void> {
                          o.image = v;
                          return {};
                      }};
    flags["namespace"] = {false, [&o](const std::string&, const std::string& v) -> core::result<void> {
                              o.namespace_ = v;
                              return {};
                          }};
    return flags;
}

core::result<void> parse_flags(std::map<std::string, flag_spec>& flags,
                               const std::vector<std::string>& args,
                               std::size_t start,
                               bool& help) {
    for (std::size_t i = start; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "-h" || arg == "--help" || arg == "-help") {
            help = true;
            continue;
        }
        if (arg.rfind("-", 0) != 0)
            return core::fail(core::errc::invalid_argument,
                              "unexpected argument \"" + arg + "\" (see --help)");
        std::string name = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
        std::optional<std::string> value;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        }
        auto it = flags.find(name);
        if (it == flags.end())
            return core::fail(core::errc::invalid_argument, "unknown flag --" + name + " (see --help)");
        if (!value) {
            if (it->second.is_bool)
                value = "true";
            else if (i + 1 < args.size())
                value = args[++i];
            else
                return bad_flag(name, "needs a value");
        }
        if (auto r = it->second.set(name, *value); !r)
            return core::fail(r.error());
    }
    return {};
}

} // namespace

core::result<std::chrono::milliseconds> parse_duration(const std::string& text) {
    if (text.empty())
        return core::fail(core::errc::invalid_argument, "empty duration");
    if (text == "0")
        return std::chrono::milliseconds(0);
    double total_ms = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t start = i;
        while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
            ++i;
        const std::string digits = text.substr(start, i - start);
        if (digits.empty() || digits == "." || std::count(digits.begin(), digits.end(), '.') > 1)
            return core::fail(core::errc::invalid_argument,
                              "invalid duration \"" + text + "\" (e.g. 30s, 10m, 1h30m, 1.5h)");
        double number = std::strtod(digits.c_str(), nullptr);
        std::size_t unit_start = i;
        while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i])))
            ++i;
        std::string unit = text.substr(unit_start, i - unit_start);
        double scale = 0;
        if (unit == "ms")
            scale = 1;
        else if (unit == "s")
            scale = 1000;
        else if (unit == "m")
            scale = 60 * 1000;
        else if (unit == "h")
            scale = 3600 * 1000;
        else
            return core::fail(core::errc::invalid_argument,
                              "invalid duration \"" + text + "\": unit must be ms, s, m or h");
        total_ms += number * scale;
        // Go's limit (an int64 of nanoseconds): what kubectl and client-go would accept.
        if (total_ms > 9'223'372'036'854.0)
            return core::fail(core::errc::invalid_argument,
                              "duration \"" + text + "\" is too long (at most 2562047h)");
    }
    return std::chrono::milliseconds(static_cast<long long>(total_ms));
}

std::optional<std::string> from_process_environment(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
}

std::string environment_name(const std::string& flag) {
    std::string out = "KUBECORO_";
    for (char c : flag)
        out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

core::result<invocation> parse_command_line(const std::vector<std::string>& args) {
    return parse_command_line(args, from_process_environment);
}

core::result<invocation> parse_command_line(const std::vector<std::string>& args, const environment& env) {
    invocation inv;
    bool help = false;
    std::size_t start = 0;
    if (!args.empty() && args[0] == "version") {
        inv.cmd = command::version;
        return inv;
    }
    if (!args.empty() && args[0] == "manifests") {
        inv.cmd = command::manifests;
        auto flags = manifests_flags(inv.manifests);
        if (auto r = parse_flags(flags, args, 1, help); !r)
            return core::fail(r.error());
        if (help)
            inv.cmd = command::help;
        return inv;
    }
    if (!args.empty() && args[0] == "run")
        start = 1;
    auto flags = run_flags(inv.run);
    // Flags from the environment first (the command line wins): KUBECORO_<FLAG>, and
    // WATCH_NAMESPACE for --namespace as Operator SDK deployments set it.
    for (auto& [name, spec] : flags) {
        std::string var = environment_name(name);
        auto value = env(var);
        if (!value && name == "namespace") {
            var = "WATCH_NAMESPACE";
            value = env(var);
        }
        if (!value)
            continue;
        if (auto r = spec.set(name + " (from $" + var + ")", *value); !r)
            return core::fail(r.error());
    }
    flags["version"] = {true, [&inv](const std::string&, const std::string&) -> core::result<void> {
                            inv.cmd = command::version;
                            return {};
                        }};
    if (auto r = parse_flags(flags, args, start, help); !r)
        return core::fail(r.error());
    if (help)
        inv.cmd = command::help;
    return inv;
}

std::string usage() {
    return R"(kubecoro: a Kubernetes operator for Database and HelloWorld resources.

Usage:
  kubecoro [run] [flags]      run the operator (default)
  kubecoro version            print version, git commit and build type
  kubecoro manifests [--image IMAGE] [--namespace NS]
                              print the install set (CRDs, RBAC, Deployment) as YAML
  kubecoro kubectl COMMAND    the kubectl plugin (status, connect, backup, restore, report);
                              also run as kubectl-kubecoro, i.e. `kubectl kubecoro COMMAND`

Flags:
  --kubeconfig PATH                   kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --context NAME                      kubeconfig context (default: current-context)
  --namespace NS[,NS...]              namespaces to watch (default or empty: all)
  --kube-api-qps N                    client requests per second, 0 = unlimited (default 50)
  --kube-api-burst N                  client burst (default 100)
  --log-level LEVEL                   debug, info, warn, error (default info)
  --log-format FORMAT                 json or text (default: json unless stderr is a terminal)
  --health-probe-bind-address ADDR    /healthz and /readyz (default :8081)
  --metrics-bind-address ADDR         /metrics, 0 to disable (default :8080)
  --leader-elect                      elect a leader on a Lease before reconciling
  --leader-election-namespace NS      the Lease's namespace (default: the operator's namespace)
  --leader-election-id NAME           the Lease's name (default kubecoro-leader)
  --max-concurrent-reconciles N       reconciles in flight per controller (default 4)
  --resync-period DURATION            drift-repair period per object (default 10m)
  --shutdown-timeout DURATION         how long in-flight reconciles may finish (default 30s)
  --watch-idle-timeout DURATION       reconnect a watch that receives nothing this long (default 70s)
  --controllers LIST                  the controllers to run: database, helloworld (default all)
  --webhook-bind-address ADDR         the admission webhook (HTTPS); 0 to disable (default :9443
                                      in a cluster, off outside one)
  --webhook-secret NAME               Secret with its certificate, in the operator's namespace
                                      (default kubecoro-webhook-cert; created when absent)
  --webhook-service NAME              the webhook's Service, named in the certificate
                                      (default kubecoro-webhook)
  --webhook-configuration NAME        ValidatingWebhookConfiguration whose caBundle is kept
                                      current; empty for none (default kubecoro)
  --webhook-cert-validity DURATION    of a certificate issued here; renewed with a third left
                                      (default 8760h)
  --version                           same as the version command
  -h, --help                          this text

Each flag of the run command may also be set in the environment as KUBECORO_<FLAG>
(KUBECORO_KUBE_API_QPS=20 for --kube-api-qps=20), and --namespace as WATCH_NAMESPACE (as
Operator SDK deployments set it); the command line wins. Durations: 500ms, 30s, 10m, 1h30m, 1.5h.
)";
}

} // namespace kubecoro::manager
