// The operator's own SQL to MariaDB members (database/mariadb_members.hpp) against two real
// mariadbd (test/mariadb_server.hpp): what a primary and a replica answer, pointing a replica at
// its primary, semi-synchronous commits, a switchover's hand-over, the promotion, and the former
// primary following the new one from its own GTID position. (The node tests run the same on pods.)
#include "database/mariadb_members.hpp"
#include "mariadb_server.hpp"

#include <doctest/doctest.h>

using namespace kubecoro;
using namespace kubecoro::controllers::database;

namespace {

constexpr std::string_view replication_options =
    " --log-bin=mysql-bin --log-slave-updates=ON --gtid-strict-mode=ON --binlog-format=ROW"
    " --rpl-semi-sync-slave-enabled=ON --rpl-semi-sync-master-wait-point=AFTER_SYNC"
    " --rpl-semi-sync-master-timeout=18446744073709551615";

template <typename T>
T run(awaitable<T> call) {
    asio::io_context io;
    std::optional<T> out;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> { out = co_await std::move(call); },
        [](std::exception_ptr e) {
            if (e)
                std::rethrow_exception(e);
        });
    io.run();
    REQUIRE(out);
    return std::move(*out);
}

observed_pod pod(std::string name) {
    observed_pod p;
    p.name = std::move(name);
    p.ip = "127.0.0.1";
    p.uid = p.name + "-uid";
    return p;
}

member ask(const testing::mariadb_server& s, const observed_pod& p) {
    auto members = run(mariadb::ask_members({p}, s.password, s.port));
    REQUIRE(members.size() == 1);
    return members.front();
}

// Polls `done` for up to 10 s (replication is asynchronous).
template <typename F>
bool eventually(F done) {
    for (int i = 0; i < 100; ++i) {
        if (done())
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

} // namespace

TEST_CASE("mariadb::gtid_sequence: domain 0's sequence number") {
    CHECK(mariadb::gtid_sequence("0-1-5") == 5);
    CHECK(mariadb::gtid_sequence("1-2-9,0-3-42") == 42);
    CHECK(mariadb::gtid_sequence("1-2-9") == 0);
    CHECK(mariadb::gtid_sequence("") == 0);
    CHECK(mariadb::gtid_sequence("0-1-x") == 0);
    CHECK(mariadb::gtid_sequence("10-1-7") == 0);
}

TEST_CASE("mariadb members on real servers: follow, semi-sync, hand over, promote, the former primary "
          "follows") {
    testing::mariadb_server a("--server-id=1 --read-only=OFF" + std::string(replication_options));
    testing::mariadb_server b("--server-id=2 --read-only=ON" + std::string(replication_options));
    REQUIRE(b.password == a.password);
    const observed_pod pa = pod("db-0"), pb = pod("db-1");
    REQUIRE(a.root_sql("CREATE DATABASE app; CREATE TABLE app.t (id int PRIMARY KEY); INSERT INTO app.t "
                       "VALUES (1), (2)"));

    member primary = ask(a, pa), replica = ask(b, pb);
    CHECK(primary.answered);
    CHECK_FALSE(primary.in_recovery);
    CHECK_FALSE(primary.following);
    CHECK(primary.wal == 3); // CREATE DATABASE, CREATE TABLE, INSERT
    CHECK(primary.gtid == "0-1-3");
    CHECK(replica.answered);
    CHECK(replica.in_recovery);
    CHECK_FALSE(replica.following);
    CHECK(replica.wal == 0);

    auto gone = run(mariadb::ask_members({pod("db-9")}, a.password, testing::free_port()));
    REQUIRE(gone.size() == 1);
    CHECK_FALSE(gone.front().answered); // a member that does not answer

    // The replica follows the primary; the primary and a member being promoted are left alone.
    auto followed = run(mariadb::follow({pb}, {replica}, "127.0.0.1", "", b.password, b.port, a.port));
    CHECK(followed == std::vector<std::string>{"db-1"});
    CHECK(run(mariadb::follow({pa}, {primary}, "127.0.0.1", "", a.password, a.port, a.port)).empty());
    REQUIRE(eventually([&] {
        replica = ask(b, pb);
        return replica.streaming && replica.wal == 3 && replica.replayed == 3;
    }));
    CHECK(replica.following);
    CHECK(replica.gtid == "0-1-3");
    CHECK(replica.lag_seconds == 0);
    CHECK(replica.replication_error.empty());
    CHECK(run(mariadb::follow({pb}, {replica}, "127.0.0.1", "", b.password, b.port, a.port)).empty());

    // Synchronous mode: the primary's side on, a replica's off. (One server per call: one port.)
    auto sync = run(mariadb::configure_synchronous({pa}, {primary}, true, a.password, a.port));
    CHECK(sync.changed == std::vector<std::string>{"db-0"});
    CHECK(sync.applied);
    CHECK(run(mariadb::configure_synchronous({pb}, {replica}, true, b.password, b.port)).changed.empty());
    CHECK(ask(a, pa).synchronous_names == "ON");
    CHECK(ask(b, pb).synchronous_names == "OFF");

    // A switchover: the old primary stops taking the application's writes, the target has it all.
    REQUIRE(a.root_sql("INSERT INTO app.t VALUES (3)"));
    auto handed = run(mariadb::hand_over(pa, pb, a.password, std::chrono::seconds(10), a.port, b.port));
    REQUIRE_MESSAGE(handed.has_value(), handed.error().message);
    CHECK(ask(a, pa).in_recovery);
    CHECK(ask(b, pb).wal == 4);

    auto promoted = run(mariadb::promote(pb, b.password, true, b.port));
    REQUIRE_MESSAGE(promoted.has_value(), promoted.error().message);
    member now = ask(b, pb);
    CHECK_FALSE(now.in_recovery);
    CHECK_FALSE(now.following);
    CHECK(now.synchronous_names == "ON");
    CHECK(now.wal == 4);
    // Again: nothing to stop, still writable.
    REQUIRE(run(mariadb::promote(pb, b.password, true, b.port)).has_value());
    CHECK_FALSE(ask(b, pb).in_recovery);

    // The former primary follows the new one from its own position (current_pos).
    auto sync_off = run(mariadb::configure_synchronous({pa}, {ask(a, pa)}, false, a.password, a.port));
    CHECK(sync_off.changed == std::vector<std::string>{"db-0"});
    REQUIRE(b.root_sql("SET GLOBAL rpl_semi_sync_master_enabled = OFF; INSERT INTO app.t VALUES (4)"));
    member former = ask(a, pa);
    CHECK(run(mariadb::follow({pa}, {former}, "127.0.0.1", "", a.password, a.port, b.port)) ==
          std::vector<std::string>{"db-0"});
    REQUIRE(eventually([&] {
        former = ask(a, pa);
        return former.streaming && former.replayed == 5;
    }));
    CHECK(former.gtid == "0-2-5");
}

TEST_CASE("mariadb members on real servers: a former primary that wrote what the new one lacks stops "
          "with the server's reason") {
    testing::mariadb_server a("--server-id=1 --read-only=OFF" + std::string(replication_options));
    testing::mariadb_server b("--server-id=2 --read-only=ON" + std::string(replication_options));
    const observed_pod pa = pod("db-0"), pb = pod("db-1");
    REQUIRE(a.root_sql("CREATE DATABASE app"));
    run(mariadb::follow({pb}, {ask(b, pb)}, "127.0.0.1", "", b.password, b.port, a.port));
    REQUIRE(eventually([&] { return ask(b, pb).replayed == 1; }));
    // The replica is promoted while the old primary writes once more (an asynchronous failover).
    REQUIRE(run(mariadb::promote(pb, b.password, false, b.port)).has_value());
    REQUIRE(a.root_sql("CREATE TABLE app.lost (id int); SET GLOBAL read_only = ON"));
    REQUIRE(b.root_sql("CREATE TABLE app.kept (id int)"));
    run(mariadb::follow({pa}, {ask(a, pa)}, "127.0.0.1", "", a.password, a.port, b.port));
    member diverged;
    REQUIRE(eventually([&] {
        diverged = ask(a, pa);
        return !diverged.replication_error.empty();
    }));
    CHECK_FALSE(diverged.streaming);
    CHECK(diverged.replication_error.find("1236") != std::string::npos);
}
