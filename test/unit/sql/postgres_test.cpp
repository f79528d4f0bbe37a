// sql::query against a server on 127.0.0.1 that speaks just enough of PostgreSQL's protocol (v3)
// to test the driver: the SSL refusal, a cleartext password exchange, rows with a NULL, a refused
// statement, answers cut into single bytes; and against a port that is closed and one that never
// answers. (The real servers are in test/e2e/replication_test.sh.)
#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/postgres.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <string>

using namespace kubecoro;
using asio::ip::tcp;

namespace {

std::string be32(std::uint32_t v) {
    return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}
std::string be16(std::uint16_t v) {
    return {char(v >> 8), char(v)};
}
std::string message(char type, const std::string& body) {
    return std::string(1, type) + be32(std::uint32_t(body.size() + 4)) + body;
}

struct fake_server {
    enum class mode { answer, silent, hang_up, wrong_password };
    mode how = mode::answer;
    bool one_byte_at_a_time = false;
    std::string password_seen;
    std::string query_seen;

    awaitable<std::string> read_exactly(tcp::socket& s, std::size_t n) {
        std::string buf(n, '\0');
        co_await asio::async_read(s, asio::buffer(buf), asio::use_awaitable);
        co_return buf;
    }
    awaitable<std::pair<char, std::string>> read_message(tcp::socket& s) {
        std::string head = co_await read_exactly(s, 5);
        std::uint32_t len = (std::uint8_t(head[1]) << 24) | (std::uint8_t(head[2]) << 16) |
                            (std::uint8_t(head[3]) << 8) | std::uint8_t(head[4]);
        co_return std::pair{head[0], co_await read_exactly(s, len - 4)};
    }
    awaitable<void> send(tcp::socket& s, const std::string& bytes) {
        if (!one_byte_at_a_time) {
            co_await asio::async_write(s, asio::buffer(bytes), asio::use_awaitable);
            co_return;
        }
        for (char c : bytes) {
            co_await asio::async_write(s, asio::buffer(&c, 1), asio::use_awaitable);
            co_await sleep_for(std::chrono::microseconds(50));
        }
    }

    awaitable<void> serve(tcp::acceptor& acceptor) {
        tcp::socket s = co_await acceptor.async_accept(asio::use_awaitable);
        if (how == mode::hang_up)
            co_return;
        if (how == mode::silent) {
            co_await sleep_for(std::chrono::seconds(1));
            co_return;
        }
        // Startup packets have no type byte: length, then an SSLRequest code or the protocol.
        for (;;) {
            std::string len = co_await read_exactly(s, 4);
            std::uint32_t n = (std::uint8_t(len[0]) << 24) | (std::uint8_t(len[1]) << 16) |
                              (std::uint8_t(len[2]) << 8) | std::uint8_t(len[3]);
            std::string body = co_await read_exactly(s, n - 4);
            if (body.substr(0, 4) == be32(80877103)) { // SSLRequest: no
                co_await send(s, "N");
                continue;
            }
            break;
        }
        co_await send(s, message('R', be32(3))); // AuthenticationCleartextPassword
        auto [type, password] = co_await read_message(s);
        password_seen = password.substr(0, password.find('\0'));
        if (how == mode::wrong_password) {
            std::string error = std::string("SFATAL") + '\0' + "C28P01" + '\0' +
                                "Mpassword authentication failed for user \"postgres\"" + '\0' + '\0';
            co_await send(s, message('E', error));
            co_return;
        }
        co_await send(s, message('R', be32(0)) + message('Z', "I"));
        auto [q, text] = co_await read_message(s);
        query_seen = text.substr(0, text.find('\0'));
        if (query_seen.starts_with("SELECT")) {
            std::string field = std::string("f") + '\0' + be32(0) + be16(0) + be32(25) + be16(0xffff) +
                                be32(0xffffffff) + be16(0);
            std::string fields = be16(2) + field + field;
            std::string row1 = be16(2) + be32(1) + "t" + be32(6) + "0/3000";
            std::string row2 = be16(2) + be32(1) + "f" + be32(0xffffffff); // NULL
            co_await send(s,
                          message('T', fields) + message('D', row1) + message('D', row2) +
                              message('C', std::string("SELECT 2") + '\0') + message('Z', "I"));
        } else {
            std::string error = std::string("SERROR") + '\0' + "C42601" + '\0' +
                                "Msyntax error at or near \"x\"" + '\0' + '\0';
            co_await send(s, message('E', error) + message('Z', "I"));
        }
        try {
            co_await read_message(s); // Terminate
        } catch (const std::exception&) {
        }
    }
};

// Runs `query` against a fake server (or none) on the loop; the call's result.
core::result<std::vector<sql::pg_row>>
run(fake_server* server,
    std::string statement,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    sql::pg_endpoint at{.address = "127.0.0.1",
                        .port = acceptor.local_endpoint().port(),
                        .user = "postgres",
                        .password = "s3cret:pw",
                        .timeout = timeout};
    if (!server)
        acceptor.close(); // the port is now closed
    std::optional<core::result<std::vector<sql::pg_row>>> out;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> { out = co_await sql::query(at, statement); },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    if (server)
        asio::co_spawn(io, server->serve(acceptor), [](std::exception_ptr) {});
    io.run();
    REQUIRE(out);
    return *out;
}

} // namespace

TEST_CASE("sql::query: the password exchange, rows with a NULL, then the connection is closed") {
    for (bool split : {false, true}) {
        CAPTURE(split);
        fake_server server;
        server.one_byte_at_a_time = split;
        auto rows = run(&server, "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()");
        REQUIRE_MESSAGE(rows.has_value(), rows.error().message);
        CHECK(server.password_seen == "s3cret:pw");
        CHECK(server.query_seen == "SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()");
        REQUIRE(rows->size() == 2);
        CHECK((*rows)[0] == sql::pg_row{"t", "0/3000"});
        CHECK((*rows)[1] == sql::pg_row{"f", std::nullopt});
    }
}

TEST_CASE("sql::query: a refused statement gives the server's message") {
    fake_server server;
    auto r = run(&server, "x");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::errc::invalid_argument);
    CHECK(r.error().message.find("syntax error at or near \"x\"") != std::string::npos);
}

TEST_CASE("sql::query: a closed port or a server that hangs up is an io error, quickly") {
    auto closed = run(nullptr, "SELECT 1");
    REQUIRE_FALSE(closed.has_value());
    CHECK(closed.error().code == core::errc::io);
    CHECK(closed.error().message.find("127.0.0.1") != std::string::npos);
    fake_server rude;
    rude.how = fake_server::mode::hang_up;
    auto hung_up = run(&rude, "SELECT 1");
    REQUIRE_FALSE(hung_up.has_value());
    CHECK(hung_up.error().code == core::errc::io);
}

TEST_CASE("sql::query: a refused login is an io error with the server's reason, never the password") {
    fake_server strict;
    strict.how = fake_server::mode::wrong_password;
    auto r = run(&strict, "SELECT 1");
    REQUIRE_FALSE(r.has_value());
    CHECK(strict.password_seen == "s3cret:pw"); // it was sent, and refused
    CHECK(r.error().code == core::errc::io);
    CHECK(r.error().message.find("password authentication failed") != std::string::npos);
    CHECK(r.error().message.find("s3cret") == std::string::npos);
}

TEST_CASE("sql::query: a server that never answers times out at the deadline") {
    fake_server silent;
    silent.how = fake_server::mode::silent;
    auto r = run(&silent, "SELECT 1", std::chrono::milliseconds(200));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == core::errc::timeout);
    CHECK(r.error().message.find("no answer within 200 ms") != std::string::npos);
}
