// A throwaway mariadbd (Debian's mariadb-server, as test/install-deps.sh installs it) on
// 127.0.0.1 and a free port, in a scratch directory, with the operator's account `kubecoro` (a
// password with a quote and a backslash; made out of the binary log). Stopped and removed at the
// end of the test. For tests of the operator's own SQL against the real server.
#pragma once

#include <kubecoro/core/asio.hpp>
#include <kubecoro/sql/mariadb.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

namespace kubecoro::testing {

inline int free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

struct mariadb_server {
    std::filesystem::path dir;
    int port = free_port();
    std::string password = "s3'cr\\et";

    // `options`: more of mariadbd's command line ("--server-id=2 --read-only=ON").
    explicit mariadb_server(const std::string& options = "") {
        char tmpl[] = "/tmp/kubecoro-mariadb-XXXXXX";
        REQUIRE(mkdtemp(tmpl));
        dir = tmpl;
        const std::string d = dir.string();
        const std::string user = geteuid() == 0 ? " --user=root" : "";
        REQUIRE(std::system(("mariadb-install-db --no-defaults" + user + " --datadir=" + d +
                             "/data --skip-test-db --auth-root-authentication-method=normal >" + d +
                             "/install.log 2>&1")
                                .c_str()) == 0);
        // A watchdog stops the server when this process is gone, even one that crashed before its
        // destructors ran.
        REQUIRE(
            std::system(("(mariadbd --no-defaults" + user + " --datadir=" + d + "/data --socket=" + d +
                         "/sock --pid-file=" + d + "/pid --port=" + std::to_string(port) +
                         " --bind-address=127.0.0.1 --skip-name-resolve --innodb-buffer-pool-size=16M " +
                         options + " & s=$!; while kill -0 " + std::to_string(getpid()) +
                         " 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 1; done; kill $s 2>/dev/null) >" +
                         d + "/server.log 2>&1 &")
                            .c_str()) == 0);
        bool up = false;
        for (int i = 0; i < 300 && !up; ++i) {
            up = root_sql("SELECT 1");
            if (!up)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        REQUIRE_MESSAGE(up, "mariadbd did not start: see " << d << "/server.log");
        REQUIRE(root_sql("SET SESSION sql_log_bin=0; CREATE USER kubecoro@'%' IDENTIFIED BY '" +
                         sql::mariadb_quote(password) + "'; GRANT ALL ON *.* TO kubecoro@'%'"));
    }
    mariadb_server(const mariadb_server&) = delete;
    ~mariadb_server() {
        std::system(("kill $(cat " + dir.string() + "/pid) 2>/dev/null; while [ -e " + dir.string() +
                     "/pid ]; do sleep 0.1; done")
                        .c_str());
        std::filesystem::remove_all(dir);
    }
    // Runs `statements` as root over the socket (blocking: tests only); whether they succeeded.
    bool root_sql(const std::string& statements) const {
        const std::string file = dir.string() + "/statements.sql";
        std::ofstream(file) << statements << ";\n";
        return std::system(("mariadb --no-defaults -uroot --socket=" + dir.string() + "/sock <" + file +
                            " >/dev/null 2>&1")
                               .c_str()) == 0;
    }
    sql::mariadb_endpoint at(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) const {
        return {.address = "127.0.0.1",
                .port = port,
                .user = "kubecoro",
                .password = password,
                .timeout = timeout};
    }
};

} // namespace kubecoro::testing
