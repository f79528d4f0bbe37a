#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/client_library.hpp>
#include <kubecoro/sql/postgres.hpp>

#include <algorithm>
#include <libpq-fe.h>
#include <memory>
#include <variant>

namespace kubecoro::sql {
namespace {

using namespace awaitable_operators;

// libpq's functions, loaded on first use (client_library.hpp).
struct libpq_functions {
    decltype(&::PQclear) PQclear = nullptr;
    decltype(&::PQconnectPoll) PQconnectPoll = nullptr;
    decltype(&::PQconnectStartParams) PQconnectStartParams = nullptr;
    decltype(&::PQconsumeInput) PQconsumeInput = nullptr;
    decltype(&::PQerrorMessage) PQerrorMessage = nullptr;
    decltype(&::PQfinish) PQfinish = nullptr;
    decltype(&::PQflush) PQflush = nullptr;
    decltype(&::PQgetResult) PQgetResult = nullptr;
    decltype(&::PQgetisnull) PQgetisnull = nullptr;
    decltype(&::PQgetvalue) PQgetvalue = nullptr;
    decltype(&::PQisBusy) PQisBusy = nullptr;
    decltype(&::PQnfields) PQnfields = nullptr;
    decltype(&::PQntuples) PQntuples = nullptr;
    decltype(&::PQresultErrorMessage) PQresultErrorMessage = nullptr;
    decltype(&::PQresultStatus) PQresultStatus = nullptr;
    decltype(&::PQsendQuery) PQsendQuery = nullptr;
    decltype(&::PQsetnonblocking) PQsetnonblocking = nullptr;
    decltype(&::PQsocket) PQsocket = nullptr;
    decltype(&::PQstatus) PQstatus = nullptr;
};

libpq_functions pq; // filled in by the first load_libpq()

core::result<void> load_libpq() {
    static const core::result<void> loaded =
        detail::load_library("libpq.so.5",
                             "libpq5",
                             {KUBECORO_SQL_SYMBOL(pq, PQclear),
                              KUBECORO_SQL_SYMBOL(pq, PQconnectPoll),
                              KUBECORO_SQL_SYMBOL(pq, PQconnectStartParams),
                              KUBECORO_SQL_SYMBOL(pq, PQconsumeInput),
                              KUBECORO_SQL_SYMBOL(pq, PQerrorMessage),
                              KUBECORO_SQL_SYMBOL(pq, PQfinish),
                              KUBECORO_SQL_SYMBOL(pq, PQflush),
                              KUBECORO_SQL_SYMBOL(pq, PQgetResult),
                              KUBECORO_SQL_SYMBOL(pq, PQgetisnull),
                              KUBECORO_SQL_SYMBOL(pq, PQgetvalue),
                              KUBECORO_SQL_SYMBOL(pq, PQisBusy),
                              KUBECORO_SQL_SYMBOL(pq, PQnfields),
                              KUBECORO_SQL_SYMBOL(pq, PQntuples),
                              KUBECORO_SQL_SYMBOL(pq, PQresultErrorMessage),
                              KUBECORO_SQL_SYMBOL(pq, PQresultStatus),
                              KUBECORO_SQL_SYMBOL(pq, PQsendQuery),
                              KUBECORO_SQL_SYMBOL(pq, PQsetnonblocking),
                              KUBECORO_SQL_SYMBOL(pq, PQsocket),
                              KUBECORO_SQL_SYMBOL(pq, PQstatus)});
    return loaded;
}

struct finish_connection {
    void operator()(PGconn* c) const { pq.PQfinish(c); }
};
using connection = std::unique_ptr<PGconn, finish_connection>;
struct clear_result {
    void operator()(PGresult* r) const { pq.PQclear(r); }
};
using result_ptr = std::unique_ptr<PGresult, clear_result>;

std::string trimmed(std::string m) {
    while (!m.empty() && (m.back() == '\n' || m.back() == ' '))
        m.pop_back();
    return m;
}

std::string message_of(PGconn* c) {
    return c ? trimmed(pq.PQerrorMessage(c)) : "libpq could not allocate a connection";
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
    connection conn(pq.PQconnectStartParams(keys, values, 0));
    if (!conn || pq.PQstatus(conn.get()) == CONNECTION_BAD)
        co_return unreachable(at, message_of(conn.get()));
    // libpq's protocol: wait for what the last poll asked for (the socket may change between polls).
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    while (poll != PGRES_POLLING_OK) {
        if (poll == PGRES_POLLING_FAILED)
            co_return unreachable(at, message_of(conn.get()));
        if (auto ec = co_await wait_socket(pq.PQsocket(conn.get()), poll == PGRES_POLLING_WRITING))
            co_return wait_failed(at, ec);
        poll = pq.PQconnectPoll(conn.get());
    }
    if (pq.PQsetnonblocking(conn.get(), 1) != 0 || pq.PQsendQuery(conn.get(), statement.c_str()) != 1)
        co_return unreachable(at, message_of(conn.get()));
    for (int pending = pq.PQflush(conn.get()); pending != 0; pending = pq.PQflush(conn.get())) {
        if (pending < 0)
            co_return unreachable(at, message_of(conn.get()));
        if (auto ec = co_await wait_socket(pq.PQsocket(conn.get()), true))
            co_return wait_failed(at, ec);
    }
    std::vector<pg_row> rows;
    std::string refused;
    for (;;) {
        while (pq.PQisBusy(conn.get())) {
            if (auto ec = co_await wait_socket(pq.PQsocket(conn.get()), false))
                co_return wait_failed(at, ec);
            if (!pq.PQconsumeInput(conn.get()))
                co_return unreachable(at, message_of(conn.get()));
        }
        result_ptr r(pq.PQgetResult(conn.get()));
        if (!r)
            break;
        switch (pq.PQresultStatus(r.get())) {
        case PGRES_TUPLES_OK:
            for (int i = 0; i < pq.PQntuples(r.get()); ++i) {
                pg_row row;
                for (int j = 0; j < pq.PQnfields(r.get()); ++j)
                    row.push_back(pq.PQgetisnull(r.get(), i, j)
                                      ? std::nullopt
                                      : std::optional<std::string>(pq.PQgetvalue(r.get(), i, j)));
                rows.push_back(std::move(row));
            }
            break;
        case PGRES_COMMAND_OK:
        case PGRES_EMPTY_QUERY:
            break;
        default:
            if (refused.empty())
                refused = trimmed(pq.PQresultErrorMessage(r.get()));
        }
    }
    if (!refused.empty())
        co_return core::fail(core::errc::invalid_argument, refused);
    co_return rows;
}

} // namespace

awaitable<core::result<std::vector<pg_row>>> query(const pg_endpoint& at, std::string statement) {
    if (auto loaded = load_libpq(); !loaded)
        co_return core::fail(loaded.error());
    auto outcome = co_await (run(at, statement) || sleep_for(at.timeout));
    if (outcome.index() == 1)
        co_return core::fail(core::errc::timeout,
                             "postgresql at " + at.address + ":" + std::to_string(at.port) +
                                 ": no answer within " + std::to_string(at.timeout.count()) + " ms");
    co_return std::move(std::get<0>(outcome));
}

} // namespace kubecoro::sql
