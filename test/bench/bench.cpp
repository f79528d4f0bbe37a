#include "bench.hpp"

#include <kubecoro/config/cluster_config.hpp>

#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/resource.h>
#include <vector>

namespace kubecoro::bench {

const api::resource& custom_resource(kind k) {
    static const api::resource databases{"kubecoro.dev", "v1alpha1", "databases", "Database"};
    static const api::resource helloworlds{"kubecoro.dev", "v1alpha1", "helloworlds", "HelloWorld"};
    return k == kind::database ? databases : helloworlds;
}

std::string object_name(kind k, int i) {
    char name[32];
    std::snprintf(name, sizeof name, "%s-%05d", k == kind::database ? "db" : "hw", i);
    return name;
}

json::value generated_object(kind k, const std::string& ns, int i) {
    const api::resource& r = custom_resource(k);
    json::object metadata{{"name", object_name(k, i)}, {"namespace", ns}};
    json::object spec;
    if (k == kind::database) {
        static constexpr std::string_view engines[] = {"postgresql", "mysql", "mariadb"};
        static constexpr std::string_view versions[] = {"16", "8.4", "11.4"};
        spec = json::object{{"engine", engines[i % 3]}, {"version", versions[i % 3]}, {"storage", "1Gi"}};
    } else {
        spec = json::object{{"message", "hello-" + std::to_string(i)}};
    }
    return json::object{
        {"apiVersion", r.api_version()},
        {"kind", r.kind},
        {"metadata", std::move(metadata)},
        {"spec", std::move(spec)},
    };
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double own_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto s = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return s(u.ru_utime) + s(u.ru_stime);
}

} // namespace kubecoro::bench

namespace {

using namespace kubecoro;

constexpr std::string_view usage =
    "usage: kubecoro_bench converge|floor --kind database|helloworld --namespace NS --count N\n"
    "                      [--concurrency K] [--timeout SECONDS]\n"
    "Kubeconfig from $KUBECONFIG. Prints key=value lines.\n";

struct command_line {
    std::string scenario;
    bench::bench_config config;
};

int positive(const std::string& flag, const std::string& v) {
    std::size_t used = 0;
    int n = std::stoi(v, &used);
    if (used != v.size() || n <= 0)
        throw std::invalid_argument(flag + ": not a positive number: " + v);
    return n;
}

command_line parse(const std::vector<std::string>& args) {
    if (args.empty() || (args[0] != "converge" && args[0] != "floor"))
        throw std::invalid_argument("missing scenario (converge or floor)");
    command_line cl{args[0], {}};
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (i + 1 >= args.size())
            throw std::invalid_argument(flag + ": missing value");
        const std::string& v = args[++i];
        if (flag == "--kind" && (v == "database" || v == "helloworld"))
            cl.config.kind = v == "database" ? bench::kind::database : bench::kind::helloworld;
        else if (flag == "--namespace")
            cl.config.namespace_ = v;
        else if (flag == "--count")
            cl.config.count = positive(flag, v);
        else if (flag == "--concurrency")
            cl.config.concurrency = positive(flag, v);
        else if (flag == "--timeout")
            cl.config.timeout = std::chrono::seconds(positive(flag, v));
        else
            throw std::invalid_argument("unknown flag or value: " + flag + " " + v);
    }
    if (cl.config.namespace_.empty())
        throw std::invalid_argument("--namespace is required");
    return cl;
}

} // namespace

int main(int argc, char** argv) {
    command_line cl;
    try {
        cl = parse(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& ex) {
        std::fprintf(
            stderr, "kubecoro_bench: %s\n%.*s", ex.what(), static_cast<int>(usage.size()), usage.data());
        return 2;
    }
    asio::io_context io;
    config::load_options from_environment;
    auto cfg = config::load(from_environment);
    if (!cfg) {
        std::fprintf(stderr, "kubecoro_bench: %s\n", cfg.error().message.c_str());
        return 2;
    }
    auto counts = std::make_shared<bench::request_counts>();
    client::client_options options;
    options.qps = 0; // as fast as the API server answers
    options.user_agent = "kubecoro-bench";
    options.on_request = [counts](std::string_view method, int code) {
        ++counts->by_method[std::string(method)];
        if (code == 0 || code >= 400)
            ++counts->failed;
    };
    auto c = client::client::create(io.get_executor(), std::move(*cfg), options);
    if (!c) {
        std::fprintf(stderr, "kubecoro_bench: %s\n", c.error().message.c_str());
        return 2;
    }
    std::optional<int> exit_code;
    auto done = [&](std::exception_ptr ep, int code) {
        if (ep) {
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& ex) {
                std::fprintf(stderr, "kubecoro_bench: %s\n", ex.what());
            }
            code = 2;
        }
        exit_code = code;
        io.stop();
    };
    if (cl.scenario == "converge")
        asio::co_spawn(io, bench::run_converge(*c, cl.config), done);
    else
        asio::co_spawn(io, bench::run_floor(*c, cl.config, counts), done);
    io.run();
    std::fflush(stdout);
    return exit_code.value_or(2);
}
