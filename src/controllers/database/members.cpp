#include "database/members.hpp"

#include "database/mariadb_members.hpp"
#include "database/scripts.hpp"
#include <kubecoro/core/errc.hpp>
#include <kubecoro/sql/postgres.hpp>

namespace kubecoro::controllers::database {
namespace {

// Role, WAL positions, whether it streams, its timeline (a replica's from its WAL receiver, a
// primary's from the name of its current WAL file), its synchronous_standby_names, and a replica's
// lag in seconds (0 when it replayed all it received).
constexpr std::string_view member_query = R"(SELECT pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn() ELSE pg_current_wal_lsn() END,
  pg_last_wal_replay_lsn(),
  (SELECT status FROM pg_stat_wal_receiver),
  CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver)
       ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  current_setting('synchronous_standby_names'),
  CASE WHEN pg_is_in_recovery() THEN
    CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
         ELSE floor(extract(epoch FROM now() - pg_last_xact_replay_timestamp()))::bigint END END)";

sql::pg_endpoint
endpoint_of(const observed_pod& pod, const std::string& password, std::chrono::milliseconds timeout) {
    sql::pg_endpoint at;
    at.address = pod.ip;
    at.user = std::string(superuser(engine::postgresql));
    at.password = password;
    at.timeout = timeout;
    return at;
}

std::string field(const sql::pg_row& row, std::size_t i) {
    return i < row.size() && row[i] ? *row[i] : std::string();
}

} // namespace

member member_of(const observed_pod& pod) {
    member m;
    m.name = pod.name;
    m.uid = pod.uid;
    m.terminating = pod.terminating;
    m.stopped = pod.server_stopped;
    m.running = pod.running;
    m.created = pod.created;
    m.ready = pod.ready;
    return m;
}

awaitable<std::vector<member>>
ask_members(engine e, const std::vector<observed_pod>& pods, const std::string& password) {
    if (e == engine::mariadb)
        co_return co_await mariadb::ask_members(pods, password);
    std::vector<member> out;
    for (const observed_pod& pod : pods) {
        member m = member_of(pod);
        if (!pod.ip.empty() && !pod.terminating) {
            const sql::pg_endpoint at = endpoint_of(pod, password, std::chrono::milliseconds(1500));
            auto rows = co_await sql::query(at, std::string(member_query));
            if (rows && rows->size() == 1) {
                const sql::pg_row& row = rows->front();
                m.answered = true;
                m.in_recovery = field(row, 0) == "t";
                m.wal = parse_lsn(field(row, 1));
                m.replayed = parse_lsn(field(row, 2));
                if (m.in_recovery)
                    m.wal = std::max(m.wal, m.replayed);
                m.streaming = field(row, 3) == "streaming";
                std::string tli = field(row, 4);
                m.timeline = tli.empty() ? 0 : std::atol(tli.c_str());
                m.synchronous_names = field(row, 5);
                if (std::string lag = field(row, 6); !lag.empty())
                    m.lag_seconds = std::max(0L, std::atol(lag.c_str()));
            }
        }
        out.push_back(std::move(m));
    }
    co_return out;
}

awaitable<synchronous_setting> configure_synchronous(engine e,
                                                     const std::vector<observed_pod>& pods,
                                                     const std::vector<member>& members,
                                                     bool synchronous,
                                                     const std::string& password) {
    if (e == engine::mariadb)
        co_return co_await mariadb::configure_synchronous(pods, members, synchronous, password);
    synchronous_setting out;
    out.value = synchronous ? std::string(synchronous_quorum) : std::string();
    const std::string change = synchronous
                                   ? "ALTER SYSTEM SET synchronous_standby_names = '" + out.value + "'"
                                   : "ALTER SYSTEM RESET synchronous_standby_names";
    for (const member& m : members) {
        if (!m.answered || m.synchronous_names == out.value)
            continue;
        bool set = false;
        for (const observed_pod& pod : pods) {
            if (pod.name != m.name || pod.ip.empty())
                continue;
            const sql::pg_endpoint at = endpoint_of(pod, password, std::chrono::milliseconds(1500));
            // (Not in a transaction block: one statement per query.) Failed: asked again next time.
            auto altered = co_await sql::query(at, change);
            if (!altered)
                continue;
            auto reloaded = co_await sql::query(at, "SELECT pg_reload_conf()");
            set = reloaded.has_value();
        }
        if (set)
            out.changed.push_back(m.name);
        else
            out.applied = false;
    }
    co_return out;
}

awaitable<std::vector<std::string>> follow_primary(engine e,
                                                   const std::vector<observed_pod>& pods,
                                                   const std::vector<member>& members,
                                                   const std::string& source,
                                                   const std::string& except,
                                                   const std::string& password) {
    if (e != engine::mariadb)
        co_return std::vector<std::string>{};
    co_return co_await mariadb::follow(pods, members, source, except, password);
}

awaitable<core::result<void>>
hand_over(engine e, const observed_pod& from, const observed_pod& to, const std::string& password) {
    if (e != engine::mariadb)
        co_return core::result<void>{};
    co_return co_await mariadb::hand_over(from, to, password, std::chrono::seconds(10));
}

awaitable<core::result<void>>
promote(engine e, const observed_pod& pod, const std::string& password, bool synchronous) {
    if (e == engine::mariadb)
        co_return co_await mariadb::promote(pod, password, synchronous);
    if (pod.ip.empty())
        co_return core::fail(core::errc::io, pod.name + " has no address");
    const sql::pg_endpoint at = endpoint_of(pod, password, std::chrono::milliseconds(35000));
    auto rows = co_await sql::query(at, "SELECT pg_promote(true, 30)");
    if (!rows)
        co_return core::fail(rows.error());
    if (rows->size() != 1 || field(rows->front(), 0) != "t")
        co_return core::fail(core::errc::timeout, pod.name + " did not finish its promotion within 30 s");
    co_return core::result<void>{};
}

} // namespace kubecoro::controllers::database
