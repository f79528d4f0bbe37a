// Test-only helpers: certificates made at test time, an in-process HTTPS server (cpp-httplib on its
// own thread: blocking I/O is fine in tests), and running a coroutine on an io_context with a bound.
#pragma once

#include <kubecoro/config/cluster_config.hpp>
#include <kubecoro/core/asio.hpp>

#include <doctest/doctest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

namespace test {

inline std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
}

// A CA, a server certificate for 127.0.0.1/localhost, a client certificate, and an unrelated CA.
struct pki {
    std::string dir;
    std::string ca_pem, server_cert_pem, server_key_pem, client_cert_pem, client_key_pem, other_ca_pem;
    std::string path(const char* name) const { return dir + "/" + name; }

    static const pki& get() {
        static const pki instance;
        return instance;
    }
    ~pki() {
        std::error_code ec;
        if (!dir.empty())
            std::filesystem::remove_all(dir, ec);
    }

private:
    pki() {
        pki& p = *this;
        char tmpl[] = "/tmp/kubecoro-pki-XXXXXX";
        if (!::mkdtemp(tmpl))
            throw std::runtime_error("mkdtemp failed");
        p.dir = tmpl;
        write_file(p.path("server.ext"),
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
        write_file(p.path("client.ext"), "extendedKeyUsage=clientAuth\n");
        std::string script =
            "set -e; cd '" + p.dir + "'; " +
            "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1 2>/dev/null; }; "
            "key ca.key; key other.key; key server.key; key client.key; "
            "openssl req -x509 -new -key ca.key -subj /CN=test-ca -days 2 -out ca.crt; "
            "openssl req -x509 -new -key other.key -subj /CN=other-ca -days 2 -out other.crt; "
            "openssl req -new -key server.key -subj /CN=apiserver -out server.csr; "
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "  -extfile server.ext -out server.crt 2>/dev/null; "
            "openssl req -new -key client.key -subj /CN=kubecoro/O=system:masters -out client.csr; "
            "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
            "  -extfile client.ext -out client.crt 2>/dev/null";
        write_file(p.path("make.sh"), script);
        if (std::system(("bash '" + p.path("make.sh") + "'").c_str()) != 0)
            throw std::runtime_error("openssl failed to make the test certificates");
        p.ca_pem = read_file(p.path("ca.crt"));
        p.other_ca_pem = read_file(p.path("other.crt"));
        p.server_cert_pem = read_file(p.path("server.crt"));
        p.server_key_pem = read_file(p.path("server.key"));
        p.client_cert_pem = read_file(p.path("client.crt"));
        p.client_key_pem = read_file(p.path("client.key"));
    }
    pki(const pki&) = delete;
};

// An HTTPS server that requires a client certificate from the test CA. Routes are added on
// `http` before start(). Handlers that wait must poll stopping() so the server can shut down.
class https_server {
public:
    https_server()
        : http(pki::get().path("server.crt").c_str(),
               pki::get().path("server.key").c_str(),
               pki::get().path("ca.crt").c_str()) {
        http.set_keep_alive_max_count(1000);
        http.set_logger([this](const httplib::Request& req, const httplib::Response&) {
            std::lock_guard lock(mutex_);
            peers_.insert(req.remote_port);
            ++requests_;
        });
    }
    ~https_server() {
        stopping_ = true;
        http.stop();
        if (thread_.joinable())
            thread_.join();
    }

    void start() {
        REQUIRE(http.is_valid());
        port_ = http.bind_to_any_port("127.0.0.1");
        REQUIRE(port_ > 0);
        thread_ = std::thread([this] { http.listen_after_bind(); });
        for (int i = 0; i < 500 && !http.is_running(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        REQUIRE(http.is_running());
    }

    kubecoro::config::cluster_config config() const {
        kubecoro::config::cluster_config c;
        c.server = "https://127.0.0.1:" + std::to_string(port_);
        c.ca_pem = pki::get().ca_pem;
        c.client_cert_pem = pki::get().client_cert_pem;
        c.client_key_pem = pki::get().client_key_pem;
        c.origin = "integration test";
        return c;
    }

    int port() const { return port_; }
    bool stopping() const { return stopping_; }
    // Sleeps up to `d`, returning early when the server shuts down.
    void wait(std::chrono::milliseconds d) const {
        auto end = std::chrono::steady_clock::now() + d;
        while (!stopping_ && std::chrono::steady_clock::now() < end)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::size_t connections() {
        std::lock_guard lock(mutex_);
        return peers_.size();
    }
    std::size_t requests() {
        std::lock_guard lock(mutex_);
        return requests_;
    }

    httplib::SSLServer http;

private:
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::mutex mutex_;
    std::set<int> peers_; // client ports seen: one per connection
    std::size_t requests_ = 0;
    int port_ = 0;
};

// Runs `task` on `io` for at most `limit`, and checks that it finished and left no work (timers,
// sockets, coroutines) behind.
inline void run_bounded(asio::io_context& io,
                        kubecoro::awaitable<void> task,
                        std::chrono::seconds limit = std::chrono::seconds(20)) {
    std::exception_ptr failure;
    bool finished = false;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e) {
        finished = true;
        failure = e;
    });
    io.restart();
    io.run_for(limit);
    REQUIRE_MESSAGE(finished, "the test coroutine did not finish in time");
    CHECK_MESSAGE(io.stopped(), "work was left behind on the io_context");
    if (failure)
        std::rethrow_exception(failure);
}

// The same on a fresh io_context.
inline void run_bounded(kubecoro::awaitable<void> task,
                        std::chrono::seconds limit = std::chrono::seconds(20)) {
    asio::io_context io;
    run_bounded(io, std::move(task), limit);
}

} // namespace test
