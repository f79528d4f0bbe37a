// The operator's own questions to its MariaDB servers (is it read-only, how far has it received
// the primary's binlog, follow this primary, promote): MariaDB Connector/C's non-blocking interface
// driven by the io_context, one short connection per call, never a blocking call on the loop. The
// one module that uses Connector/C.
#pragma once

#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::sql {

struct mariadb_endpoint {
    std::string address; // an IP address: no name lookup (it would block the loop)
    int port = 3306;
    std::string user;
    std::string password;                    // sent in the authentication exchange only, never logged
    std::chrono::milliseconds timeout{3000}; // the whole call: connect, run, read
};

// One statement's answer: its column names and its rows (text values; NULL is nullopt). A
// statement without rows (SET, CHANGE MASTER) answers with neither.
struct mariadb_result {
    std::vector<std::string> columns;
    std::vector<std::vector<std::optional<std::string>>> rows;
    // The value in `column` of row `i`, "" when there is none or it is NULL.
    std::string at(std::size_t i, std::string_view column) const;
};

// Connects, runs `statements` (one or more, separated by ';') and disconnects; one result per
// statement, in order. Errors: core::errc::timeout past the deadline, core::errc::io when the
// server cannot be reached or refuses the login, invalid_argument when it refuses a statement (the
// message is the server's, with its error number; the statements after it do not run).
awaitable<core::result<std::vector<mariadb_result>>> query(const mariadb_endpoint& at,
                                                           std::string statements);

// `value` as the inside of a single-quoted string literal (backslash and quote escaped; the
// server's default sql_mode reads backslash escapes).
std::string mariadb_quote(std::string_view value);

} // namespace kubecoro::sql
