#include "database/mariadb_members.hpp"

#include "database/scripts.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/mariadb.hpp>

#include <charconv>

namespace kubecoro::controllers::database::mariadb {
namespace {

using namespace std::chrono_literals;

// Its role and positions, its semi-sync setting, and what its replication threads do.
constexpr std::string_view member_query =
    "SELECT @@read_only AS read_only, @@gtid_binlog_pos AS binlog, @@gtid_slave_pos AS replayed, "
    "@@gtid_current_pos AS current, @@rpl_semi_sync_master_enabled AS semi_sync; SHOW ALL SLAVES STATUS";

sql::mariadb_endpoint endpoint_of(const observed_pod& pod,
                                  const std::string& password,
                                  std::chrono::milliseconds timeout,
                                  int port) {
    return {.address = pod.ip,
            .port = port,
            .user = std::string(superuser(engine::mariadb)),
            .password = password,
            .timeout = timeout};
}

const observed_pod* pod_of(const std::vector<observed_pod>& pods, const std::string& name) {
    for (const observed_pod& pod : pods)
        if (pod.name == name && !pod.ip.empty() && !pod.terminating)
            return &pod;
    return nullptr;
}

std::string semi_sync(bool on) {
    return on ? "ON" : "OFF";
}

} // namespace

std::uint64_t gtid_sequence(std::string_view list) {
    std::uint64_t out = 0;
    while (!list.empty()) {
        std::string_view one = list.substr(0, list.find(','));
        list.remove_prefix(std::min(list.size(), one.size() + 1));
        while (!one.empty() && one.front() == ' ')
            one.remove_prefix(1);
        auto first = one.find('-'), last = one.rfind('-');
        if (first == std::string_view::npos || first == last || one.substr(0, first) != "0")
            continue;
        std::string_view seq = one.substr(last + 1);
        std::uint64_t n = 0;
        if (auto [end, ec] = std::from_chars(seq.data(), seq.data() + seq.size(), n);
            ec == std::errc() && end == seq.data() + seq.size())
            out = std::max(out, n);
    }
    return out;
}

awaitable<std::vector<member>>
ask_members(const std::vector<observed_pod>& pods, const std::string& password, int port) {
    std::vector<member> out;
    for (const observed_pod& pod : pods) {
        member m = member_of(pod);
        if (!pod.ip.empty() && !pod.terminating) {
            auto answer =
                co_await sql::query(endpoint_of(pod, password, 1500ms, port), std::string(member_query));
            if (answer && answer->size() == 2) {
                const sql::mariadb_result& self = (*answer)[0];
                const sql::mariadb_result& source = (*answer)[1];
                m.answered = !self.rows.empty();
                m.in_recovery = self.at(0, "read_only") == "1";
                m.synchronous_names = self.at(0, "semi_sync") == "1" ? "ON" : "OFF";
                m.following = !source.rows.empty();
                if (m.following) {
                    // Received: what its I/O thread wrote to the relay log; replayed: what it applied.
                    m.replayed = gtid_sequence(self.at(0, "replayed"));
                    m.wal = std::max(gtid_sequence(source.at(0, "Gtid_IO_Pos")), m.replayed);
                    m.gtid = self.at(0, "current");
                    m.streaming = source.at(0, "Slave_IO_Running") == "Yes" &&
                                  source.at(0, "Slave_SQL_Running") == "Yes";
                    if (std::string lag = source.at(0, "Seconds_Behind_Master"); !lag.empty())
                        m.lag_seconds = std::max(0L, std::atol(lag.c_str()));
                    m.replication_errno = std::atoi(source.at(0, "Last_IO_Errno").c_str());
                    for (const char* which : {"Last_IO_Error", "Last_SQL_Error"})
                        if (std::string error = source.at(0, which);
                            !error.empty() && m.replication_error.empty())
                            m.replication_error = error;
                } else {
                    m.gtid = self.at(0, "current");
                    m.wal = m.replayed = gtid_sequence(m.gtid);
                }
            }
        }
        out.push_back(std::move(m));
    }
    co_return out;
}

awaitable<synchronous_setting> configure_synchronous(const std::vector<observed_pod>& pods,
                                                     const std::vector<member>& members,
                                                     bool synchronous,
                                                     const std::string& password,
                                                     int port) {
    synchronous_setting out;
    out.value = synchronous ? "semi-synchronous" : "";
    for (const member& m : members) {
        if (!m.answered)
            continue;
        const std::string wanted = semi_sync(synchronous && !m.in_recovery);
        if (m.synchronous_names == wanted)
            continue;
        const observed_pod* pod = pod_of(pods, m.name);
        if (!pod) {
            out.applied = false;
            continue;
        }
        // (Not a co_await inside ?: — g++ 12 miscompiles it.)
        auto set = co_await sql::query(endpoint_of(*pod, password, 1500ms, port),
                                       "SET GLOBAL rpl_semi_sync_master_enabled = " + wanted);
        if (set)
            out.changed.push_back(m.name);
        else
            out.applied = false;
    }
    co_return out;
}

awaitable<std::vector<std::string>> follow(const std::vector<observed_pod>& pods,
                                           const std::vector<member>& members,
                                           const std::string& source,
                                           const std::string& except,
                                           const std::string& password,
                                           int port,
                                           int source_port) {
    std::vector<std::string> out;
    for (const member& m : members) {
        if (!m.answered || !m.in_recovery || m.following || m.name == except)
            continue;
        const observed_pod* pod = pod_of(pods, m.name);
        if (!pod)
            continue;
        // current_pos: a former primary continues from what it wrote itself. (Retried every second
        // while the Service routes nowhere, during a change of primary.)
        const std::string change = "CHANGE MASTER TO MASTER_HOST = '" + sql::mariadb_quote(source) +
                                   "', MASTER_PORT = " + std::to_string(source_port) + ", MASTER_USER = '" +
                                   std::string(superuser(engine::mariadb)) + "', MASTER_PASSWORD = '" +
                                   sql::mariadb_quote(password) +
                                   "', MASTER_USE_GTID = current_pos, MASTER_CONNECT_RETRY = 1; START SLAVE";
        if (auto done = co_await sql::query(endpoint_of(*pod, password, 3000ms, port), change); done)
            out.push_back(m.name);
    }
    co_return out;
}

awaitable<core::result<void>> hand_over(const observed_pod& from,
                                        const observed_pod& to,
                                        const std::string& password,
                                        std::chrono::milliseconds bound,
                                        int port,
                                        int to_port) {
    auto stopped = co_await sql::query(endpoint_of(from, password, 5000ms, port),
                                       "SET GLOBAL read_only = ON; SELECT @@gtid_binlog_pos AS written");
    if (!stopped)
        co_return core::fail(stopped.error());
    const std::uint64_t written = gtid_sequence(stopped->back().at(0, "written"));
    const auto deadline = std::chrono::steady_clock::now() + bound;
    for (;;) {
        auto seen = co_await sql::query(endpoint_of(to, password, 1500ms, to_port), "SHOW ALL SLAVES STATUS");
        if (seen && !seen->empty() && gtid_sequence(seen->front().at(0, "Gtid_IO_Pos")) >= written)
            co_return core::result<void>{};
        if (std::chrono::steady_clock::now() > deadline)
            co_return core::fail(core::errc::timeout,
                                 to.name + " did not receive all that " + from.name + " wrote within " +
                                     std::to_string(bound.count() / 1000) + " s");
        co_await sleep_for(100ms);
    }
}

awaitable<core::result<void>>
promote(const observed_pod& pod, const std::string& password, bool synchronous, int port) {
    if (pod.ip.empty())
        co_return core::fail(core::errc::io, pod.name + " has no address");
    auto stopped = co_await sql::query(endpoint_of(pod, password, 5000ms, port), "SHOW ALL SLAVES STATUS");
    if (!stopped)
        co_return core::fail(stopped.error());
    if (!stopped->empty() && !stopped->front().rows.empty()) {
        // Nothing more arrives; then what arrived is applied before the member takes writes.
        auto io = co_await sql::query(endpoint_of(pod, password, 5000ms, port),
                                      "STOP SLAVE IO_THREAD; SHOW ALL SLAVES STATUS");
        if (!io)
            co_return core::fail(io.error());
        const std::string received = io->back().at(0, "Gtid_IO_Pos");
        auto applied = co_await sql::query(endpoint_of(pod, password, 35000ms, port),
                                           "SELECT MASTER_GTID_WAIT('" + sql::mariadb_quote(received) +
                                               "', 30) AS waited");
        if (!applied)
            co_return core::fail(applied.error());
        if (applied->front().at(0, "waited") != "0")
            co_return core::fail(core::errc::timeout,
                                 pod.name + " did not apply what it received (" + received + ") within 30 s");
    }
    auto promoted =
        co_await sql::query(endpoint_of(pod, password, 5000ms, port),
                            "STOP ALL SLAVES; RESET SLAVE ALL; SET GLOBAL rpl_semi_sync_master_enabled = " +
                                semi_sync(synchronous) + "; SET GLOBAL read_only = OFF");
    if (!promoted)
        co_return core::fail(promoted.error());
    co_return core::result<void>{};
}

} // namespace kubecoro::controllers::database::mariadb
