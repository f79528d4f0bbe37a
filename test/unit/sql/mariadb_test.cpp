// sql::query (MariaDB) against a real mariadbd (Debian's mariadb-server, as test/install-deps.sh
// installs it) started on 127.0.0.1 in a scratch directory: rows with a NULL, one result per
// statement, a refused statement, a refused login, two calls at once on one loop; and against a
// port that is closed and one that never answers. (Replication is in test/e2e, on the real node.)
#include "mariadb_server.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/mariadb.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace kubecoro;
using asio::ip::tcp;

namespace {

testing::mariadb_server& shared_server() {
    static testing::mariadb_server s;
    return s;
}

using answer = core::result<std::vector<sql::mariadb_result>>;

std::vector<answer> run_all(std::vector<std::pair<sql::mariadb_endpoint, std::string>> calls) {
    asio::io_context io;
    std::vector<answer> out(calls.size(), core::fail(core::errc::io, "not run"));
    for (std::size_t i = 0; i < calls.size(); ++i)
        asio::co_spawn(
            io,
            [&, i]() -> awaitable<void> { out[i] = co_await sql::query(calls[i].first, calls[i].second); },
            [](std::exception_ptr e) {
                if (e)
                    std::rethrow_exception(e);
            });
    io.run();
    return out;
}

answer run(const sql::mariadb_endpoint& at, std::string statements) {
    return run_all({{at, std::move(statements)}}).front();
}

} // namespace

TEST_CASE("sql::query (mariadb): rows with a NULL, one result per statement, columns by name") {
    auto r = run(shared_server().at(),
                 "SET @x = 1; SELECT 1 AS one, NULL AS nothing, 'a''b' AS text UNION ALL SELECT 2, 'n', 'c'; "
                 "SELECT @@read_only AS ro");
    REQUIRE_MESSAGE(r.has_value(), r.error().message);
    REQUIRE(r->size() == 3);
    CHECK((*r)[0].columns.empty());
    const sql::mariadb_result& rows = (*r)[1];
    CHECK(rows.columns == std::vector<std::string>{"one", "nothing", "text"});
    REQUIRE(rows.rows.size() == 2);
    CHECK(rows.rows[0][0] == std::optional<std::string>("1"));
    CHECK_FALSE(rows.rows[0][1].has_value());
    CHECK(rows.at(0, "text") == "a'b");
    CHECK(rows.at(1, "nothing") == "n");
    CHECK(rows.at(5, "one").empty());
    CHECK(rows.at(0, "absent").empty());
    CHECK((*r)[2].at(0, "ro") == "0");
}

TEST_CASE("sql::query (mariadb): a refused statement gives the server's number and message; the rest "
          "does not run") {
    auto r = run(shared_server().at(), "SELECT 1; SELECT * FROM no_such_db.t; CREATE DATABASE never_made");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::errc::invalid_argument);
    CAPTURE(r.error().message);
    CHECK(r.error().message.find("error 1146") != std::string::npos);
    CHECK(r.error().message.find("no_such_db") != std::string::npos);
    auto made = run(shared_server().at(), "SHOW DATABASES LIKE 'never_made'");
    REQUIRE(made.has_value());
    CHECK(made->front().rows.empty());
}

TEST_CASE("sql::query (mariadb): a refused login is an io error with the server's reason, never the "
          "password") {
    sql::mariadb_endpoint wrong = shared_server().at();
    wrong.password = "wr0ng-secret";
    auto r = run(wrong, "SELECT 1");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::errc::io);
    CHECK(r.error().message.find("Access denied") != std::string::npos);
    CHECK(r.error().message.find("wr0ng-secret") == std::string::npos);
}

TEST_CASE("sql::query (mariadb): calls run at once on one loop") {
    // The first holds the server for a second; the second answers meanwhile (it finishes first).
    auto both = run_all({{shared_server().at(), "SELECT SLEEP(1) AS s, SYSDATE(6) AS t"},
                         {shared_server().at(), "SELECT SYSDATE(6) AS t"}});
    REQUIRE_MESSAGE(both[0].has_value(), both[0].error().message);
    REQUIRE_MESSAGE(both[1].has_value(), both[1].error().message);
    CHECK(both[1]->front().at(0, "t") < both[0]->front().at(0, "t"));
}

TEST_CASE("sql::query (mariadb): a closed port is an io error; a server that never answers times out") {
    sql::mariadb_endpoint closed{.address = "127.0.0.1", .port = testing::free_port(), .user = "kubecoro"};
    auto r = run(closed, "SELECT 1");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::errc::io);
    CHECK(r.error().message.find("127.0.0.1") != std::string::npos);

    asio::io_context io;
    tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    sql::mariadb_endpoint at{.address = "127.0.0.1",
                             .port = silent.local_endpoint().port(),
                             .user = "kubecoro",
                             .timeout = std::chrono::milliseconds(300)};
    std::optional<answer> out;
    asio::co_spawn(
        io, [&]() -> awaitable<void> { out = co_await sql::query(at, "SELECT 1"); }, asio::detached);
    io.run(); // the connection is accepted by the kernel's backlog and never greeted
    REQUIRE(out);
    REQUIRE_FALSE(out->has_value());
    CHECK(out->error().code == core::errc::timeout);
    CHECK(out->error().message.find("no answer within 300 ms") != std::string::npos);
}

TEST_CASE("sql::mariadb_quote: backslash and quote escaped") {
    CHECK(sql::mariadb_quote("a'b\\c") == "a\\'b\\\\c");
    CHECK(sql::mariadb_quote("") == "");
}
