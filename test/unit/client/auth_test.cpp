#include "unit/config/support.hpp"
#include <kubecoro/client/auth.hpp>
#include <kubecoro/config/errc.hpp>
#include <kubecoro/core/errc.hpp>
#include <kubecoro/core/time.hpp>

#include <doctest/doctest.h>

#include <fstream>

using namespace kubecoro;
using namespace std::chrono_literals;
using test::temp_dir;

namespace {
using outcome = std::optional<core::result<client::credentials>>;

awaitable<void> store(awaitable<core::result<client::credentials>> op, outcome* out) {
    out->emplace(co_await std::move(op));
}

// Runs the io_context until it has no work left (bounded), and checks that nothing was left behind.
void drain(asio::io_context& ctx) {
    ctx.run_for(10s);
    CHECK(ctx.stopped());
    ctx.restart();
}

core::result<client::credentials> current(asio::io_context& ctx, client::auth_provider& auth) {
    outcome out;
    asio::co_spawn(ctx, store(auth.current(), &out), [](std::exception_ptr e) {
        if (e)
            std::rethrow_exception(e);
    });
    drain(ctx);
    REQUIRE(out.has_value());
    return std::move(*out);
}

std::size_t count_lines(const std::string& path) {
    std::ifstream in(path);
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);)
        ++n;
    return n;
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    return core::format_rfc3339(t);
}

// A plugin that counts its runs in $DIR/count, records its environment, and prints a v1
// ExecCredential whose token is "token-<run>", expiring at `expiry` (omitted when empty).
config::cluster_config
exec_cluster(const temp_dir& dir, const std::string& expiry, const std::string& extra = "") {
    const std::string status_expiry = expiry.empty() ? "" : R"(,"expirationTimestamp":")" + expiry + "\"";
    const std::string script =
        "#!/bin/sh\n"
        "echo run >> \"$DIR/count\"\n"
        "printf '%s' \"$KUBERNETES_EXEC_INFO\" > \"$DIR/info\"\n"
        "echo \"$REGION $KUBECORO_TEST_INHERITED $1\" > \"$DIR/env\"\n" +
        extra + "n=$(wc -l < \"$DIR/count\" | tr -d ' ')\n" +
        R"(echo '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",')"
        "\n" +
        R"(echo '"status":{"token":"token-'$n'")" + status_expiry + "}}'\n";
    config::cluster_config c{.server = "https://k:6443"};
    c.exec = config::exec_config{.api_version = "client.authentication.k8s.io/v1",
                                 .command = dir.write("plugin.sh", script, true),
                                 .args = {"arg-1"},
                                 .env = {{"DIR", dir.path().string()}, {"REGION", "eu-west-1"}}};
    return c;
}

config::cluster_config failing_plugin(const temp_dir& dir, const std::string& body) {
    config::cluster_config c{.server = "https://k:6443"};
    c.exec = config::exec_config{.api_version = "client.authentication.k8s.io/v1",
                                 .command = dir.write("plugin.sh", "#!/bin/sh\n" + body, true)};
    return c;
}
} // namespace

TEST_CASE("an exec plugin's token is cached until invalidate()") {
    temp_dir dir;
    test::env_var inherited("KUBECORO_TEST_INHERITED", "inherited");
    asio::io_context ctx;
    client::auth_provider auth(ctx.get_executor(), exec_cluster(dir, ""));

    auto first = current(ctx, auth);
    REQUIRE(first);
    CHECK(first->bearer_token == "token-1");
    CHECK(first->client_cert_pem.empty());
    CHECK(test::read_text(dir / "env") == "eu-west-1 inherited arg-1\n");
    CHECK(
        test::read_text(dir / "info") ==
        R"({"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","spec":{"interactive":false}})");

    auto second = current(ctx, auth);
    REQUIRE(second);
    CHECK(second->bearer_token == "token-1");
    CHECK(count_lines(dir / "count") == 1);

    auth.invalidate();
    auto third = current(ctx, auth);
    REQUIRE(third);
    CHECK(third->bearer_token == "token-2");
    CHECK(count_lines(dir / "count") == 2);
}

TEST_CASE("an exec credential is re-run once expired or about to expire") {
    temp_dir dir;
    asio::io_context ctx;
    const auto now = std::chrono::system_clock::now();

    SUBCASE("expired") {
        client::auth_provider auth(ctx.get_executor(), exec_cluster(dir, "2020-01-01T00:00:00Z"));
        CHECK(current(ctx, auth)->bearer_token == "token-1"); // still handed out once
        CHECK(current(ctx, auth)->bearer_token == "token-2");
    }
    SUBCASE("within refresh_before_expiry") {
        client::auth_provider auth(ctx.get_executor(),
                                   exec_cluster(dir, rfc3339(now + 30s)),
                                   client::auth_config{.refresh_before_expiry = 60s});
        CHECK(current(ctx, auth)->bearer_token == "token-1");
        CHECK(current(ctx, auth)->bearer_token == "token-2");
    }
    SUBCASE("valid for an hour") {
        client::auth_provider auth(ctx.get_executor(), exec_cluster(dir, rfc3339(now + 1h)));
        CHECK(current(ctx, auth)->bearer_token == "token-1");
        CHECK(current(ctx, auth)->bearer_token == "token-1");
    }
}

TEST_CASE("concurrent callers share one plugin run") {
    temp_dir dir;
    asio::io_context ctx;
    client::auth_provider auth(ctx.get_executor(), exec_cluster(dir, "", "sleep 0.3\n"));
    outcome results[3];
    for (auto& r : results)
        asio::co_spawn(ctx, store(auth.current(), &r), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    drain(ctx);
    for (auto& r : results) {
        REQUIRE(r.has_value());
        REQUIRE(*r);
        CHECK((*r)->bearer_token == "token-1");
    }
    CHECK(count_lines(dir / "count") == 1);
}

TEST_CASE("a caller that gives up does not stop the shared run") {
    temp_dir dir;
    asio::io_context ctx;
    client::auth_provider auth(ctx.get_executor(), exec_cluster(dir, "", "sleep 0.3\n"));
    outcome out;
    asio::cancellation_signal give_up;
    asio::co_spawn(ctx,
                   store(auth.current(), &out),
                   asio::bind_cancellation_slot(give_up.slot(), [](std::exception_ptr e) {
                       if (e)
                           std::rethrow_exception(e);
                   }));
    ctx.run_for(50ms);
    give_up.emit(asio::cancellation_type::terminal);
    drain(ctx); // the plugin still runs to the end
    REQUIRE(out.has_value());
    REQUIRE_FALSE(*out);
    CHECK(out->error().code == core::errc::cancelled);

    CHECK(current(ctx, auth)->bearer_token == "token-1");
    CHECK(count_lines(dir / "count") == 1);
}

TEST_CASE("a failing plugin: exit status and the first line of stderr") {
    temp_dir dir;
    asio::io_context ctx;
    client::auth_provider auth(ctx.get_executor(),
                               failing_plugin(dir,
                                              "echo '  error: refresh token expired  ' >&2\n"
                                              "echo 'second line' >&2\nexit 3\n"));
    auto r = current(ctx, auth);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == config::errc::exec_failed);
    CHECK(r.error().message == "exec plugin \"" + (dir / "plugin.sh") +
                                   "\" failed with exit status 3: error: refresh token expired");

    client::auth_provider chatty(ctx.get_executor(),
                                 failing_plugin(dir, "head -c 5000 /dev/zero | tr '\\0' x >&2\nexit 1\n"));
    auto long_line = current(ctx, chatty);
    REQUIRE_FALSE(long_line);
    CHECK(long_line.error().message.ends_with(": " + std::string(200, 'x')));
}

TEST_CASE("a plugin printing something that is not an ExecCredential") {
    temp_dir dir;
    asio::io_context ctx;
    client::auth_provider auth(ctx.get_executor(), failing_plugin(dir, "echo '{\"token\": secret'\n"));
    auto r = current(ctx, auth);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == config::errc::exec_failed);
    CHECK(r.error().message == "exec plugin \"" + (dir / "plugin.sh") + "\": output is not valid JSON");
    CHECK(r.error().message.find("secret") == std::string::npos);
}

TEST_CASE("a plugin that cannot be started shows the install hint") {
    asio::io_context ctx;
    config::cluster_config c{.server = "https://k"};
    c.exec = config::exec_config{.api_version = "client.authentication.k8s.io/v1beta1",
                                 .command = "kubecoro-no-such-plugin",
                                 .install_hint = "Install it from example.com"};
    client::auth_provider auth(ctx.get_executor(), c);
    auto r = current(ctx, auth);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == config::errc::exec_failed);
    CHECK(r.error().message ==
          "exec plugin \"kubecoro-no-such-plugin\" could not be started: No such file or directory\n"
          "Install it from example.com");
}

TEST_CASE("a plugin that hangs is killed at the timeout, with what it started") {
    temp_dir dir;
    asio::io_context ctx;
    client::auth_provider auth(ctx.get_executor(),
                               failing_plugin(dir, "sleep 30 &\necho $! > \"$0.child\"\nwait\n"),
                               client::auth_config{.exec_timeout = 300ms});
    const auto start = std::chrono::steady_clock::now();
    auto r = current(ctx, auth);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == core::errc::timeout);
    CHECK(r.error().message.find("timed out after 300 ms") != std::string::npos);
    const pid_t sleeper = std::stoi(test::read_text(dir / "plugin.sh.child"));
    // The whole process group got SIGKILL. Gone, or a zombie: in a container nobody may reap it.
    auto gone = [&] {
        const std::string stat = test::read_text("/proc/" + std::to_string(sleeper) + "/stat");
        const auto state = stat.find(") ");
        return state == std::string::npos || stat[state + 2] == 'Z';
    };
    bool killed = false;
    for (int i = 0; i < 100 && !killed; ++i) {
        killed = gone();
        if (!killed)
            ::usleep(10'000);
    }
    CHECK(killed);
}

TEST_CASE("destroying the provider kills a running plugin and releases its callers") {
    temp_dir dir;
    asio::io_context ctx;
    outcome out;
    {
        client::auth_provider auth(ctx.get_executor(), failing_plugin(dir, "exec sleep 30\n"));
        asio::co_spawn(ctx, store(auth.current(), &out), [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
        ctx.run_for(100ms);
        CHECK_FALSE(out.has_value());
    }
    const auto start = std::chrono::steady_clock::now();
    drain(ctx);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    REQUIRE(out.has_value());
    REQUIRE_FALSE(*out);
    CHECK(out->error().code == core::errc::cancelled);
}

TEST_CASE("a token file is re-read after invalidate() and when older than the refresh period") {
    temp_dir dir;
    asio::io_context ctx;
    config::cluster_config c{.server = "https://k"};
    c.token_file = dir.write("token", "first\n");

    client::auth_provider auth(ctx.get_executor(), c);
    CHECK(current(ctx, auth)->bearer_token == "first");
    dir.write("token", "second\n");
    CHECK(current(ctx, auth)->bearer_token == "first"); // within the minute
    auth.invalidate();
    CHECK(current(ctx, auth)->bearer_token == "second");

    client::auth_provider eager(ctx.get_executor(), c, client::auth_config{.token_file_refresh = 0ms});
    CHECK(current(ctx, eager)->bearer_token == "second");
    dir.write("token", "third");
    CHECK(current(ctx, eager)->bearer_token == "third");
    // A rotation in progress (file briefly missing) keeps the last good token.
    std::filesystem::remove(dir / "token");
    CHECK(current(ctx, eager)->bearer_token == "third");
}

TEST_CASE("a missing token file: the static token, else an error") {
    temp_dir dir;
    asio::io_context ctx;
    config::cluster_config c{.server = "https://k"};
    c.token_file = dir / "absent";
    client::auth_provider no_fallback(ctx.get_executor(), c);
    auto r = current(ctx, no_fallback);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == config::errc::unreadable);
    CHECK(r.error().message == "token file " + (dir / "absent") + ": No such file or directory");

    c.token = "static";
    client::auth_provider fallback(ctx.get_executor(), c);
    CHECK(current(ctx, fallback)->bearer_token == "static");
}

TEST_CASE("a static token is handed out as is") {
    asio::io_context ctx;
    config::cluster_config c{.server = "https://k"};
    c.token = "abc";
    client::auth_provider auth(ctx.get_executor(), c);
    CHECK(current(ctx, auth)->bearer_token == "abc");
    auth.invalidate();
    CHECK(current(ctx, auth)->bearer_token == "abc");

    client::auth_provider anonymous(ctx.get_executor(), config::cluster_config{.server = "https://k"});
    auto none = current(ctx, anonymous);
    REQUIRE(none);
    CHECK(none->bearer_token.empty());
}
