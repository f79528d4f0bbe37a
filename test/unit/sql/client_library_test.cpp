// The SQL client libraries are loaded when first used (sql/client_library.hpp): the process does
// not map them at start, a query maps them, and a library or function that is not there is a
// clear error.
#include "mariadb_server.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/client_library.hpp>
#include <kubecoro/sql/mariadb.hpp>
#include <kubecoro/sql/postgres.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

using namespace kubecoro;

namespace {

std::string mapped_files() {
    std::ifstream in("/proc/self/maps");
    std::stringstream all;
    all << in.rdbuf();
    return all.str();
}

// Read before main: what the executable was linked with is mapped by then.
const std::string mapped_at_start = mapped_files();

template <typename Endpoint>
void query_closed_port(Endpoint at) {
    asio::io_context io;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            auto r = co_await sql::query(at, "SELECT 1");
            CHECK_FALSE(r.has_value());
        },
        asio::detached);
    io.run();
}

} // namespace

TEST_CASE("sql: libpq and Connector/C are not mapped at start; the first query of an engine maps its "
          "library") {
    REQUIRE(mapped_at_start.find("libc.so.6") != std::string::npos); // the maps were read
    CHECK(mapped_at_start.find("libpq.so") == std::string::npos);
    CHECK(mapped_at_start.find("libmariadb.so") == std::string::npos);

    query_closed_port(sql::pg_endpoint{.address = "127.0.0.1", .port = testing::free_port(), .user = "u"});
    CHECK(mapped_files().find("libpq.so.5") != std::string::npos);
    query_closed_port(
        sql::mariadb_endpoint{.address = "127.0.0.1", .port = testing::free_port(), .user = "u"});
    CHECK(mapped_files().find("libmariadb.so.3") != std::string::npos);
}

TEST_CASE("sql::detail::load_library: a missing library or function is an error that names it") {
    auto missing = sql::detail::load_library("libkubecoro-no-such-library.so.9", "no-such-package", {});
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == core::errc::not_supported);
    CHECK(missing.error().message.find("cannot load libkubecoro-no-such-library.so.9 (Debian package "
                                       "no-such-package)") == 0);

    std::size_t (*length)(const char*) = nullptr;
    void (*absent)() = nullptr;
    auto lacking = sql::detail::load_library(
        "libc.so.6",
        "libc6",
        {sql::detail::bind("strlen", length), sql::detail::bind("kubecoro_absent", absent)});
    REQUIRE_FALSE(lacking.has_value());
    CHECK(lacking.error().message == "libc.so.6 has no kubecoro_absent: not the expected library version");

    REQUIRE(sql::detail::load_library("libc.so.6", "libc6", {sql::detail::bind("strlen", length)}));
    REQUIRE(static_cast<bool>(length));
    CHECK(length("kubecoro") == 8);
}
