#include <kubecoro/client/auth.hpp>
#include <kubecoro/config/detail/file.hpp>
#include <kubecoro/config/errc.hpp>
#include <kubecoro/config/exec_credential.hpp>
#include <kubecoro/core/errc.hpp>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace kubecoro::client {
namespace {

using steady = std::chrono::steady_clock;
using wall = std::chrono::system_clock;

constexpr std::size_t max_stdout = 1024 * 1024;
constexpr std::size_t max_stderr = 64 * 1024;
constexpr std::size_t max_stderr_quoted = 200; // stderr may hold anything: quote little of it

std::string describe(const config::exec_config& exec) {
    return "exec plugin \"" + exec.command + "\"";
}

// Owns the pipes' read ends and the child until it is reaped.
struct child_process {
    pid_t pid = -1;
    int out_fd = -1;
    int err_fd = -1;
    bool reaped = false;

    child_process() = default;
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (out_fd >= 0)
            ::close(out_fd);
        if (err_fd >= 0)
            ::close(err_fd);
        // Only when the io_context is torn down mid-run: kill, and reap if it is already gone
        // (a blocking wait has no place here).
        if (pid > 0 && !reaped) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, nullptr, WNOHANG);
        }
    }
};

class spawn_resources {
public:
    spawn_resources() {
        ::posix_spawn_file_actions_init(&actions);
        ::posix_spawnattr_init(&attr);
    }
    ~spawn_resources() {
        ::posix_spawn_file_actions_destroy(&actions);
        ::posix_spawnattr_destroy(&attr);
    }
    spawn_resources(const spawn_resources&) = delete;
    spawn_resources& operator=(const spawn_resources&) = delete;

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
};

// The current environment with the plugin's variables and KUBERNETES_EXEC_INFO replacing any of
// the same name.
std::vector<std::string> plugin_environment(const config::exec_config& exec, const std::string& exec_info) {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e)
        env.emplace_back(*e);
    auto set = [&](const std::string& name, const std::string& value) {
        const std::string prefix = name + "=";
        std::erase_if(env, [&](const std::string& e) { return e.starts_with(prefix); });
        env.push_back(prefix + value);
    };
    for (const auto& var : exec.env) // a later entry of the same name wins, as in client-go
        set(var.first, var.second);
    set("KUBERNETES_EXEC_INFO", exec_info);
    return env;
}

core::result<void>
spawn(const config::exec_config& exec, const std::string& exec_info, child_process& child) {
    int out[2];
    int err[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return core::fail(core::errc::io, describe(exec) + ": pipe: " + std::strerror(errno));
    if (::pipe2(err, O_CLOEXEC) != 0) {
        const int e = errno;
        ::close(out[0]);
        ::close(out[1]);
        return core::fail(core::errc::io, describe(exec) + ": pipe: " + std::strerror(e));
    }
    child.out_fd = out[0];
    child.err_fd = err[0];

    spawn_resources r;
    ::posix_spawn_file_actions_addopen(&r.actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&r.actions, out[1], 1);
    ::posix_spawn_file_actions_adddup2(&r.actions, err[1], 2);
    // Its own process group, so a timeout kills whatever the plugin started too; default signal
    // dispositions, since servers often ignore SIGPIPE and that would be inherited.
    sigset_t none;
    sigset_t defaults;
    ::sigemptyset(&none);
    ::sigemptyset(&defaults);
    ::sigaddset(&defaults, SIGPIPE);
    ::posix_spawnattr_setpgroup(&r.attr, 0);
    ::posix_spawnattr_setsigmask(&r.attr, &none);
    ::posix_spawnattr_setsigdefault(&r.attr, &defaults);
    ::posix_spawnattr_setflags(&r.attr,
                               POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exec.command.c_str()));
    for (const auto& a : exec.args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env = plugin_environment(exec, exec_info);
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    pid_t pid = -1;
    const int rc = ::posix_spawnp(&pid, exec.command.c_str(), &r.actions, &r.attr, argv.data(), envp.data());
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
        std::string message = describe(exec) + " could not be started: " + std::strerror(rc);
        if (!exec.install_hint.empty())
            message += "\n" + exec.install_hint;
        return core::fail(config::errc::exec_failed, std::move(message));
    }
    child.pid = pid;
    return {};
}

// `out` lives in the caller's frame, which awaits this to the end.
awaitable<void> read_all(asio::posix::stream_descriptor& stream, std::string& out, std::size_t limit) {
    co_await asio::this_coro::throw_if_cancelled(false);
    char buf[4096];
    for (;;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), use_tuple);
        if (out.size() <= limit) // one byte more than the limit tells "too much"
            out.append(buf, std::min(n, limit + 1 - out.size()));
        if (ec)
            co_return; // EOF, or cancelled by the timeout
    }
}

enum class exit_state { exited, unknown, running };

// Without SIGCHLD (the application owns signals): the child closed its output, so it is exiting;
// poll briefly until the deadline.
awaitable<std::pair<exit_state, int>> wait_exit(pid_t pid, steady::time_point deadline) {
    auto delay = std::chrono::milliseconds(1);
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid)
            co_return std::pair{exit_state::exited, status};
        if (r < 0 && errno != EINTR)
            co_return std::pair{exit_state::unknown, 0}; // ECHILD: SIGCHLD ignored, the kernel reaped it
        if (steady::now() >= deadline)
            co_return std::pair{exit_state::running, 0};
        co_await sleep_for(delay);
        delay = std::min(delay * 2, std::chrono::milliseconds(50));
    }
}

std::string first_line(std::string_view text) {
    text = config::detail::trim(text);
    text = text.substr(0, text.find('\n'));
    text = config::detail::trim(text.substr(0, max_stderr_quoted));
    return std::string(text);
}

std::string describe_status(int status) {
    if (WIFEXITED(status))
        return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return "signal " + std::to_string(WTERMSIG(status));
    return "status " + std::to_string(status);
}

awaitable<core::result<config::exec_credential>>
run_plugin(config::exec_config exec, std::string exec_info, std::chrono::milliseconds timeout) {
    // Cancellation is handled below: the child must be killed and reaped either way.
    co_await asio::this_coro::throw_if_cancelled(false);
    const auto deadline = steady::now() + timeout;
    child_process child;
    if (auto r = spawn(exec, exec_info, child); !r)
        co_return core::fail(std::move(r).error());

    const auto executor = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor out(executor, std::exchange(child.out_fd, -1));
    asio::posix::stream_descriptor err(executor, std::exchange(child.err_fd, -1));
    std::string out_text;
    std::string err_text;
    bool finished_output = false;
    try {
        using namespace awaitable_operators;
        auto r = co_await ((read_all(out, out_text, max_stdout) && read_all(err, err_text, max_stderr)) ||
                           sleep_for(timeout));
        finished_output = r.index() == 0;
    } catch (const std::system_error&) {
        // a reader cancelled with the whole operation
    }
    const bool cancelled =
        (co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none;

    auto ended = std::pair{exit_state::running, 0};
    if (finished_output && !cancelled)
        ended = co_await wait_exit(child.pid, deadline);
    if (ended.first == exit_state::running) {
        ::kill(-child.pid, SIGKILL);
        ended = co_await wait_exit(child.pid, steady::now() + std::chrono::seconds(5));
    }
    child.reaped = ended.first != exit_state::running;

    if (cancelled)
        co_return core::fail(core::errc::cancelled, describe(exec) + " cancelled");
    if (!finished_output || ended.first == exit_state::running)
        co_return core::fail(core::errc::timeout,
                             describe(exec) + " timed out after " + std::to_string(timeout.count()) + " ms");
    if (ended.first == exit_state::exited && !(WIFEXITED(ended.second) && WEXITSTATUS(ended.second) == 0)) {
        std::string message = describe(exec) + " failed with " + describe_status(ended.second);
        if (const std::string line = first_line(err_text); !line.empty())
            message += ": " + line;
        co_return core::fail(config::errc::exec_failed, std::move(message));
    }
    if (out_text.size() > max_stdout)
        co_return core::fail(config::errc::exec_failed, describe(exec) + " printed more than 1 MiB");
    auto credential = config::parse_exec_credential(out_text, exec.api_version);
    if (!credential) {
        // "exec plugin: ..." from the parser: name the plugin.
        auto e = std::move(credential).error();
        constexpr std::string_view generic = "exec plugin";
        if (e.message.starts_with(generic))
            e.message.replace(0, generic.size(), describe(exec));
        co_return core::fail(std::move(e));
    }
    co_return credential;
}

// The provider's state, outside the class so the helpers below can name it.
struct provider_state {
    provider_state(asio::any_io_executor ex, config::cluster_config c, auth_config o)
        : executor(ex)
        , config(std::move(c))
        , options(o)
        , wake(ex, steady::time_point::max()) {}

    asio::any_io_executor executor;
    config::cluster_config config;
    auth_config options;

    // Token file.
    std::string file_token;
    steady::time_point file_read_at;
    bool file_stale = true;

    // Exec plugin.
    std::optional<credentials> exec_credentials;
    std::optional<wall::time_point> exec_expiry;
    bool exec_stale = true;
    bool running = false;
    std::uint64_t runs_finished = 0;
    core::result<credentials> last_run{credentials{}};
    asio::steady_timer wake; // a condition variable: cancelled when a run finishes
    asio::cancellation_signal stop;

    void finish_run(core::result<config::exec_credential> r) {
        if (r) {
            credentials c{
                std::move(r->token), std::move(r->client_certificate_data), std::move(r->client_key_data)};
            exec_credentials = c;
            exec_expiry = r->expiration;
            exec_stale = false;
            last_run = std::move(c);
        } else {
            last_run = core::fail(std::move(r).error());
        }
        running = false;
        ++runs_finished;
        wake.cancel();
    }
};

core::result<credentials> file_credentials(provider_state& st) {
    const auto now = steady::now();
    if (!st.file_stale && now - st.file_read_at < st.options.token_file_refresh)
        return credentials{st.file_token};
    auto text = config::detail::read_file(st.config.token_file);
    if (text && !config::detail::trim(*text).empty()) {
        st.file_token = std::string(config::detail::trim(*text));
        st.file_read_at = now;
        st.file_stale = false;
        return credentials{st.file_token};
    }
    // Like client-go, a failed re-read keeps the last good token: the file is being rotated.
    if (!st.file_token.empty())
        return credentials{st.file_token};
    if (!st.config.token.empty())
        return credentials{st.config.token};
    return core::fail(config::errc::unreadable,
                      text ? "token file " + st.config.token_file + " is empty"
                           : "token file " + std::move(text).error().message);
}

awaitable<void> refresh_exec(std::shared_ptr<provider_state> st) {
    auto r = co_await run_plugin(
        *st->config.exec, config::exec_info_json(*st->config.exec, st->config), st->options.exec_timeout);
    st->finish_run(std::move(r));
}

awaitable<core::result<credentials>> exec_credentials(std::shared_ptr<provider_state> st) {
    const bool fresh =
        !st->exec_stale && st->exec_credentials &&
        (!st->exec_expiry || wall::now() + st->options.refresh_before_expiry < *st->exec_expiry);
    if (fresh)
        co_return *st->exec_credentials;
    // This run's result, even when already expired: re-running at once would loop.
    const auto finished = st->runs_finished;
    if (!st->running) {
        st->running = true;
        asio::co_spawn(st->executor,
                       refresh_exec(st),
                       asio::bind_cancellation_slot(st->stop.slot(), [st](std::exception_ptr e) {
                           if (!e)
                               return;
                           try {
                               std::rethrow_exception(e);
                           } catch (const std::exception& ex) {
                               st->finish_run(core::fail(config::errc::exec_failed,
                                                         describe(*st->config.exec) + ": " + ex.what()));
                           } catch (...) {
                               st->finish_run(core::fail(config::errc::exec_failed,
                                                         describe(*st->config.exec) + ": unknown exception"));
                           }
                       }));
    }
    // co_spawn starts the run inline: one that fails before suspending has already finished.
    if (st->runs_finished == finished)
        co_await st->wake.async_wait(use_tuple);
    if (st->runs_finished == finished)
        co_return core::fail(core::errc::cancelled, describe(*st->config.exec) + ": cancelled while waiting");
    co_return st->last_run;
}

awaitable<core::result<credentials>> current_credentials(std::shared_ptr<provider_state> st) {
    if (st->config.exec)
        co_return co_await exec_credentials(std::move(st));
    if (!st->config.token_file.empty())
        co_return file_credentials(*st);
    co_return credentials{st->config.token};
}

} // namespace

struct auth_provider::state : provider_state {
    using provider_state::provider_state;
};

auth_provider::auth_provider(asio::any_io_executor executor, config::cluster_config config)
    : auth_provider(std::move(executor), std::move(config), auth_config{}) {}

auth_provider::auth_provider(asio::any_io_executor executor,
                             config::cluster_config config,
                             auth_config options)
    : state_(std::make_shared<state>(std::move(executor), std::move(config), options)) {}

auth_provider::~auth_provider() {
    if (state_->running)
        state_->stop.emit(asio::cancellation_type::terminal);
}

awaitable<core::result<credentials>> auth_provider::current() {
    return current_credentials(state_);
}

void auth_provider::invalidate() {
    state_->file_stale = true;
    state_->exec_stale = true;
}

} // namespace kubecoro::client
