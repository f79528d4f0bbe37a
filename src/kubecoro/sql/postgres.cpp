#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/postgres.hpp>

#include <algorithm>
#include <libpq-fe.h>
#include <memory>
#include <variant>

namespace kubecoro::sql {
namespace {

using namespace awaitable_operators;

struct finish_connection {
    void operator()(PGconn* c) const { PQfinish(c); }
};
using connection = std::unique_ptr<PGconn, finish_connection>;
struct clear_result {
    void operator()(PGresult* r) const { PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, clear_result>;

std::string trimmed(std::string m) {
    while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
        m.pop_back();
    return m;
}

std::string message_of(PGconn* c) {
    return c ? trimmed(PQerrorMessage(c)) : "libpq could not allocate a connection";
}

// Waits until libpq's socket is readable or writable. The descriptor stays libpq's: released, never
// closed, however the wait ends (a cancelled coroutine's frame is destroyed mid-wait too).
awaitable<std::error_code> wait_socket(int fd, bool write) {
    if (fd < 0) // libpq has no socket (the connection broke)
        co_return std::make_error_code(std::errc::not_connected);
    asio::posix::stream_descriptor socket(co_await asio::this_coro::executor, fd);
    struct keep_open {
        asio::posix::stream_descriptor& socket;
        ~keep_open() { socket.release(); }
    } guard{socket};
    auto [ec] = co_await socket.async_wait(write ? asio::posix::descriptor_base::wait_write
                                                 : asio::posix::descriptor_base::wait_read,
                                           use_tuple);
    co_return ec;
}

core::failure unreachable(const pg_endpoint& at, const std::string& why) {
    return core::fail(core::errc::io,
                      "postgresql at " + at.address + ":" + std::to_string(at.port) + ": " + why);
}

core::failure wait_failed(const pg_endpoint& at, std::error_code ec) {
    if (ec == asio::error::operation_aborted)
        return core::fail(core::errc::cancelled, "postgresql at " + at.address + ": cancelled");
    return unreachable(at, ec.message());
}

awaitable<core::result<std::vector<pg_row>>> run(const pg_endpoint& at, const std::string& statement) {
    const std::string port = std::to_string(at.port);
    const char* keys[] = {"hostaddr",
                          "port",
                          "user",
                          "password",
                          "dbname",
                          "sslmode",
                          "gssencmode",
                          "application_name",
                          nullptr};
    const char* values[] = {at.address.c_str(),
                            port.c_str(),
                            at.user.c_str(),
                            at.password.c_str(),
                            at.database.c_str(),
                            "prefer",
                            "disable",
                            "kubecoro",
                            nullptr};
    connection conn(PQconnectStartParams(keys, values, 0));
    if (!conn || PQstatus(conn.get()) == CONNECTION_BAD)
        co_return unreachable(at, message_of(conn.get()));
    // libpq's protocol: wait for what the last poll asked for (the socket may change between polls).
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED)
            co_return unreachable(at, message_of(conn.get()));
        if (auto ec = co_await wait_socket(PQsocket(conn.get()), poll == PGRES_POLLING_WRITING))
            co_return wait_failed(at, ec);
        poll = PQconnectPoll(conn.get());
    }
    if (PQsetnonblocking(conn.get(), 1) != 0 || PQsendQuery(conn.get(), statement.c_str()) != 1)
        co_return unreachable(at, message_of(conn.get()));
    for (int pending = PQflush(conn.get()); pending != 0; pending = PQflush(conn.get())) {
        if (pending < 0)
            co_return unreachable(at, message_of(conn.get()));
        if (auto ec = co_await wait_socket(PQsocket(conn.get()), true))
            co_return wait_failed(at, ec);
    }
    std::vector<pg_row> rows;
    std::string refused;
    for (;;) {
        while (PQisBusy(conn.get())) {
            if (auto ec = co_await wait_socket(PQsocket(conn.get()), false))
                co_return wait_failed(at, ec);
            if (!PQconsumeInput(conn.get()))
                co_return unreachable(at, message_of(conn.get()));
        }
        result_ptr r(PQgetResult(conn.get()));
        if (!r)
            break;
        switch (PQresultStatus(r.get())) {
        case PGRES_TUPLES_OK:
            for (int i = 0; i < PQntuples(r.get()); ++i) {
                pg_row row;
                for (int j = 0; j < PQnfields(r.get()); ++j)
                    row.push_back(PQgetisnull(r.get(), i, j)
                                      ? std::nullopt
                                      : std::optional<std::string>(PQgetvalue(r.get(), i, j)));
                rows.push_back(std::move(row));
            }
            break;
        case PGRES_COMMAND_OK:
        case PGRES_EMPTY_QUERY:
            break;
        default:
            if (refused.empty())
                refused = trimmed(PQresultErrorMessage(r.get()));
        }
    }
    if (!refused.empty())
        co_return core::fail(core::errc::invalid_argument, refused);
    co_return rows;
}

} // namespace

awaitable<core::result<std::vector<pg_row>>> query(const pg_endpoint& at, std::string statement) {
    auto outcome = co_await (run(at, statement) || sleep_for(at.timeout));
    if (outcome.index() == 1)
        co_return core::fail(core::errc::timeout,
                             "postgresql at " + at.address + ":" + std::to_string(at.port) +
                                 ": no answer within " + std::to_string(at.timeout.count()) + " ms");
    co_return std::move(std::get<0>(outcome));
}

} // namespace kubecoro::sql
