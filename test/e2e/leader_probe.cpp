// A tiny driver for test/e2e/leader_test.sh: runs one leader::elector against the cluster in
// $KUBECONFIG and reports on stdout, one line each:
//   LEADER <identity>   once it leads (it keeps renewing afterwards)
//   LOST                leadership lost: exits 1 at once
//   RELEASED            after SIGTERM/SIGINT while leading: the lease was released, exits 0
//   STOPPED             after SIGTERM/SIGINT before leading, exits 0
//   FAILED <message>    anything else, exits 2
#include <kubecoro/client/client.hpp>
#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/core/asio.hpp>
#include <kubecoro/leader/elector.hpp>
#include <kubecoro/log/log.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace kubecoro;

constexpr std::string_view usage =
    "usage: leader_probe [--identity ID] [--lease NAME] [--namespace NS] [--lease-duration S]\n"
    "                    [--renew-deadline S] [--retry-period S] [--log-level LEVEL]\n"
    "Durations in (fractional) seconds; defaults 15, 10, 2. Kubeconfig from $KUBECONFIG.\n";

void say(const std::string& line) {
    std::fputs((line + "\n").c_str(), stdout);
    std::fflush(stdout);
}

std::chrono::steady_clock::duration seconds(const std::string& flag, const std::string& text) {
    std::size_t used = 0;
    double s = std::stod(text, &used);
    if (used != text.size() || !(s > 0))
        throw std::invalid_argument(flag + ": not a positive number of seconds: " + text);
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

struct probe_options {
    leader::elector_config elector{.namespace_ = "default", .name = "kubecoro-leader-e2e"};
    std::string log_level = "info";
};

probe_options parse(const std::vector<std::string>& args) {
    probe_options o;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (i + 1 >= args.size())
            throw std::invalid_argument(flag + ": missing value");
        const std::string& v = args[++i];
        if (flag == "--identity")
            o.elector.identity = v;
        else if (flag == "--lease")
            o.elector.name = v;
        else if (flag == "--namespace")
            o.elector.namespace_ = v;
        else if (flag == "--lease-duration")
            o.elector.lease_duration = seconds(flag, v);
        else if (flag == "--renew-deadline")
            o.elector.renew_deadline = seconds(flag, v);
        else if (flag == "--retry-period")
            o.elector.retry_period = seconds(flag, v);
        else if (flag == "--log-level")
            o.log_level = v;
        else
            throw std::invalid_argument("unknown flag " + flag);
    }
    return o;
}

awaitable<int> next_signal(asio::signal_set& signals) {
    auto [ec, sig] = co_await signals.async_wait(use_tuple);
    co_return ec ? 0 : sig;
}

// The manager's sequence: acquire, hold until lost (exit 1) or a signal (release, exit 0).
awaitable<int> run(leader::elector& e, asio::signal_set& signals) {
    using namespace awaitable_operators;
    auto acquired = co_await (e.acquire() || next_signal(signals));
    if (acquired.index() == 1) {
        co_await e.release();
        say("STOPPED");
        co_return 0;
    }
    if (auto& r = std::get<0>(acquired); !r) {
        say("FAILED " + r.error().message);
        co_return 2;
    }
    say("LEADER " + e.identity());
    auto held = co_await (e.hold() || next_signal(signals));
    if (held.index() == 0) {
        auto& r = std::get<0>(held);
        say(r ? std::string("FAILED hold() returned while leading") : "LOST");
        co_return r ? 2 : 1;
    }
    co_await e.release();
    say("RELEASED");
    co_return 0;
}

} // namespace

int main(int argc, char** argv) {
    probe_options opts;
    try {
        opts = parse(std::vector<std::string>(argv + 1, argv + argc));
    } catch (const std::exception& ex) {
        std::fprintf(
            stderr, "leader_probe: %s\n%.*s", ex.what(), static_cast<int>(usage.size()), usage.data());
        return 2;
    }
    auto level = log::parse_level(opts.log_level);
    if (!level) {
        say("FAILED " + level.error().message);
        return 2;
    }
    log::logger logger(log::logger_config{*level, log::format::text, {}, {}});

    asio::io_context io;
    auto cfg = config::load({});
    if (!cfg) {
        say("FAILED " + cfg.error().message);
        return 2;
    }
    auto client = client::client::create(io.get_executor(), std::move(*cfg));
    if (!client) {
        say("FAILED " + client.error().message);
        return 2;
    }
    auto elector = leader::elector::create(*client, opts.elector, logger);
    if (!elector) {
        say("FAILED " + elector.error().message);
        return 2;
    }
    asio::signal_set signals(io, SIGTERM, SIGINT);
    std::optional<int> exit_code;
    asio::co_spawn(io, run(**elector, signals), [&](std::exception_ptr ep, int code) {
        if (ep) {
            try {
                std::rethrow_exception(ep);
            } catch (const std::exception& ex) {
                say(std::string("FAILED ") + ex.what());
            }
            code = 2;
        }
        exit_code = code;
        io.stop();
    });
    io.run();
    return exit_code.value_or(2);
}
