// The operator's own questions to its PostgreSQL servers (is it a primary, how far has it
// received WAL, promote): libpq's non-blocking interface driven by the io_context, one short
// connection per call, never a blocking call on the loop. The one module that uses libpq.
#pragma once

#include <kubecoro/core/asio.hpp>
#include <kubecoro/core/result.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::sql {

struct pg_endpoint {
    std::string address; // an IP address: no name lookup (it would block the loop)
    int port = 5432;
    std::string user;
    std::string password; // sent in the authentication exchange only, never logged
    std::string database = "postgres";
    std::chrono::milliseconds timeout{3000}; // the whole call: connect, run, read
};

using pg_row = std::vector<std::optional<std::string>>; // text values; NULL is nullopt

// Connects, runs `statement` (the simple query protocol: one or more statements, the rows of all
// of them) and disconnects. Errors: core::errc::timeout past the deadline, core::errc::io when the
// server cannot be reached or refuses the login, invalid_argument when it refuses the statement
// (the message is the server's).
awaitable<core::result<std::vector<pg_row>>> query(const pg_endpoint& at, std::string statement);

} // namespace kubecoro::sql
