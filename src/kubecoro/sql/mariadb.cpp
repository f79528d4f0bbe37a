#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/client_library.hpp>
#include <kubecoro/sql/mariadb.hpp>

#include <memory>
#include <mysql.h>
#include <variant>

namespace kubecoro::sql {
namespace {

using namespace awaitable_operators;

// Connector/C's functions, loaded on first use (client_library.hpp).
struct connector_functions {
    decltype(&::mysql_close) mysql_close = nullptr;
    decltype(&::mysql_errno) mysql_errno = nullptr;
    decltype(&::mysql_error) mysql_error = nullptr;
    decltype(&::mysql_fetch_fields) mysql_fetch_fields = nullptr;
    decltype(&::mysql_fetch_lengths) mysql_fetch_lengths = nullptr;
    decltype(&::mysql_fetch_row) mysql_fetch_row = nullptr;
    decltype(&::mysql_field_count) mysql_field_count = nullptr;
    decltype(&::mysql_free_result) mysql_free_result = nullptr;
    decltype(&::mysql_get_socket) mysql_get_socket = nullptr;
    decltype(&::mysql_get_timeout_value_ms) mysql_get_timeout_value_ms = nullptr;
    decltype(&::mysql_init) mysql_init = nullptr;
    decltype(&::mysql_more_results) mysql_more_results = nullptr;
    decltype(&::mysql_next_result_cont) mysql_next_result_cont = nullptr;
    decltype(&::mysql_next_result_start) mysql_next_result_start = nullptr;
    decltype(&::mysql_num_fields) mysql_num_fields = nullptr;
    decltype(&::mysql_options) mysql_options = nullptr;
    decltype(&::mysql_real_connect_cont) mysql_real_connect_cont = nullptr;
    decltype(&::mysql_real_connect_start) mysql_real_connect_start = nullptr;
    decltype(&::mysql_real_query_cont) mysql_real_query_cont = nullptr;
    decltype(&::mysql_real_query_start) mysql_real_query_start = nullptr;
    decltype(&::mysql_store_result_cont) mysql_store_result_cont = nullptr;
    decltype(&::mysql_store_result_start) mysql_store_result_start = nullptr;
};

connector_functions connector; // filled in by the first load_connector()

core::result<void> load_connector() {
    static const core::result<void> loaded =
        detail::load_library("libmariadb.so.3",
                             "libmariadb3",
                             {KUBECORO_SQL_SYMBOL(connector, mysql_close),
                              KUBECORO_SQL_SYMBOL(connector, mysql_errno),
                              KUBECORO_SQL_SYMBOL(connector, mysql_error),
                              KUBECORO_SQL_SYMBOL(connector, mysql_fetch_fields),
                              KUBECORO_SQL_SYMBOL(connector, mysql_fetch_lengths),
                              KUBECORO_SQL_SYMBOL(connector, mysql_fetch_row),
                              KUBECORO_SQL_SYMBOL(connector, mysql_field_count),
                              KUBECORO_SQL_SYMBOL(connector, mysql_free_result),
                              KUBECORO_SQL_SYMBOL(connector, mysql_get_socket),
                              KUBECORO_SQL_SYMBOL(connector, mysql_get_timeout_value_ms),
                              KUBECORO_SQL_SYMBOL(connector, mysql_init),
                              KUBECORO_SQL_SYMBOL(connector, mysql_more_results),
                              KUBECORO_SQL_SYMBOL(connector, mysql_next_result_cont),
                              KUBECORO_SQL_SYMBOL(connector, mysql_next_result_start),
                              KUBECORO_SQL_SYMBOL(connector, mysql_num_fields),
                              KUBECORO_SQL_SYMBOL(connector, mysql_options),
                              KUBECORO_SQL_SYMBOL(connector, mysql_real_connect_cont),
                              KUBECORO_SQL_SYMBOL(connector, mysql_real_connect_start),
                              KUBECORO_SQL_SYMBOL(connector, mysql_real_query_cont),
                              KUBECORO_SQL_SYMBOL(connector, mysql_real_query_start),
                              KUBECORO_SQL_SYMBOL(connector, mysql_store_result_cont),
                              KUBECORO_SQL_SYMBOL(connector, mysql_store_result_start)});
    return loaded;
}

struct close_connection {
    void operator()(MYSQL* m) const { connector.mysql_close(m); }
};
using connection = std::unique_ptr<MYSQL, close_connection>;
struct free_result {
    void operator()(MYSQL_RES* r) const { connector.mysql_free_result(r); }
};
using result_ptr = std::unique_ptr<MYSQL_RES, free_result>;

std::string where(const mariadb_endpoint& at) {
    return "mariadb at " + at.address + ":" + std::to_string(at.port);
}

core::failure unreachable(const mariadb_endpoint& at, MYSQL* m) {
    return core::fail(core::errc::io, where(at) + ": " + connector.mysql_error(m));
}

// A refusal of a statement (a server error, numbered below 2000) or a broken connection (the
// client's own errors, 2000 and up).
core::failure refused(const mariadb_endpoint& at, MYSQL* m) {
    const unsigned number = connector.mysql_errno(m);
    if (number >= 2000)
        return unreachable(at, m);
    return core::fail(core::errc::invalid_argument,
                      "error " + std::to_string(number) + ": " + std::string(connector.mysql_error(m)));
}

// Waits for what Connector/C asked for (MYSQL_WAIT_*) and says what happened. The descriptor stays
// the library's: released, never closed, however the wait ends.
awaitable<int> wait_for(MYSQL* m, int status) {
    if (!(status & (MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT))) {
        co_await sleep_for(std::chrono::milliseconds(connector.mysql_get_timeout_value_ms(m)));
        co_return MYSQL_WAIT_TIMEOUT;
    }
    const int fd = connector.mysql_get_socket(m);
    if (fd < 0)
        co_return MYSQL_WAIT_EXCEPT;
    asio::posix::stream_descriptor socket(co_await asio::this_coro::executor, fd);
    struct keep_open {
        asio::posix::stream_descriptor& socket;
        ~keep_open() { socket.release(); }
    } guard{socket};
    const bool write = (status & MYSQL_WAIT_WRITE) && !(status & MYSQL_WAIT_READ);
    auto [ec] = co_await socket.async_wait(write ? asio::posix::descriptor_base::wait_write
                                                 : asio::posix::descriptor_base::wait_read,
                                           use_tuple);
    if (ec)
        co_return MYSQL_WAIT_EXCEPT;
    co_return write ? MYSQL_WAIT_WRITE : MYSQL_WAIT_READ;
}

// Drives one non-blocking call to its end: `start` returns the first wait status, `resume` the next.
template <typename Start, typename Resume>
awaitable<void> drive(MYSQL* m, Start start, Resume resume) {
    for (int status = start(); status != 0;)
        status = resume(co_await wait_for(m, status));
}

awaitable<core::result<std::vector<mariadb_result>>> run(const mariadb_endpoint& at,
                                                         const std::string& statements) {
    connection conn(connector.mysql_init(nullptr));
    if (!conn)
        co_return core::fail(core::errc::io, where(at) + ": Connector/C could not allocate a connection");
    MYSQL* m = conn.get();
    connector.mysql_options(m, MYSQL_OPT_NONBLOCK, nullptr);
    connector.mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    MYSQL* connected = nullptr;
    co_await drive(
        m,
        [&] {
            return connector.mysql_real_connect_start(&connected,
                                                      m,
                                                      at.address.c_str(),
                                                      at.user.c_str(),
                                                      at.password.c_str(),
                                                      nullptr,
                                                      static_cast<unsigned>(at.port),
                                                      nullptr,
                                                      CLIENT_MULTI_STATEMENTS);
        },
        [&](int ready) { return connector.mysql_real_connect_cont(&connected, m, ready); });
    if (!connected)
        co_return unreachable(at, m);
    int failed = 0;
    co_await drive(
        m,
        [&] { return connector.mysql_real_query_start(&failed, m, statements.data(), statements.size()); },
        [&](int ready) { return connector.mysql_real_query_cont(&failed, m, ready); });
    if (failed)
        co_return refused(at, m);
    std::vector<mariadb_result> out;
    for (;;) {
        MYSQL_RES* stored = nullptr;
        co_await drive(
            m,
            [&] { return connector.mysql_store_result_start(&stored, m); },
            [&](int ready) { return connector.mysql_store_result_cont(&stored, m, ready); });
        result_ptr r(stored);
        mariadb_result one;
        if (r) {
            const unsigned n = connector.mysql_num_fields(r.get());
            const MYSQL_FIELD* fields = connector.mysql_fetch_fields(r.get());
            for (unsigned i = 0; i < n; ++i)
                one.columns.emplace_back(fields[i].name, fields[i].name_length);
            // Stored: the rows are in memory, fetching them does no I/O.
            while (MYSQL_ROW row = connector.mysql_fetch_row(r.get())) {
                const unsigned long* lengths = connector.mysql_fetch_lengths(r.get());
                auto& values = one.rows.emplace_back();
                for (unsigned i = 0; i < n; ++i)
                    values.push_back(row[i] ? std::optional<std::string>(std::in_place, row[i], lengths[i])
                                            : std::nullopt);
            }
        } else if (connector.mysql_field_count(m) != 0) {
            co_return refused(at, m);
        }
        out.push_back(std::move(one));
        if (!connector.mysql_more_results(m))
            break;
        int next = 0;
        co_await drive(
            m,
            [&] { return connector.mysql_next_result_start(&next, m); },
            [&](int ready) { return connector.mysql_next_result_cont(&next, m, ready); });
        if (next > 0)
            co_return refused(at, m);
        if (next < 0)
            break;
    }
    co_return out;
}

} // namespace

std::string mariadb_result::at(std::size_t i, std::string_view column) const {
    if (i >= rows.size())
        return {};
    for (std::size_t c = 0; c < columns.size() && c < rows[i].size(); ++c)
        if (columns[c] == column)
            return rows[i][c].value_or("");
    return {};
}

awaitable<core::result<std::vector<mariadb_result>>> query(const mariadb_endpoint& at,
                                                           std::string statements) {
    if (auto loaded = load_connector(); !loaded)
        co_return core::fail(loaded.error());
    auto outcome = co_await (run(at, statements) || sleep_for(at.timeout));
    if (outcome.index() == 1)
        co_return core::fail(core::errc::timeout,
                             where(at) + ": no answer within " + std::to_string(at.timeout.count()) + " ms");
    co_return std::move(std::get<0>(outcome));
}

std::string mariadb_quote(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c == '\\' || c == '\'')
            out += '\\';
        out += c;
    }
    return out;
}

} // namespace kubecoro::sql
