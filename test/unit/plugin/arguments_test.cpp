#include "arguments.hpp"

#include <doctest/doctest.h>

using namespace kubecoro::plugin;

TEST_CASE("parse_arguments: a command, one Database, its own flags in any of kubectl's spellings") {
    auto c = parse_arguments({"-n", "shop", "backup", "pg", "--wait", "--timeout=6h", "--context", "prod"});
    CHECK(c.error.empty());
    CHECK(c.command == "backup");
    CHECK(c.database == "pg");
    CHECK(c.flags["namespace"] == "shop");
    CHECK(c.flags["wait"] == "true");
    CHECK(c.flags["timeout"] == "6h");
    CHECK(c.flags["context"] == "prod");
    CHECK(parse_arguments({"status", "pg", "-nshop"}).flags["namespace"] == "shop");
    CHECK(parse_arguments({"status", "pg", "-n=shop"}).flags["namespace"] == "shop");
    CHECK(parse_arguments({"status", "pg", "--namespace=shop"}).flags["namespace"] == "shop");
    auto r = parse_arguments({"restore", "copy", "--from", "pg", "--dump", "20260101T030000Z"});
    CHECK(r.error.empty());
    CHECK(r.database == "copy");
    CHECK(r.flags["from"] == "pg");
    auto k = parse_arguments({"connect", "pg", "--", "-c", "SELECT 1", "--wait"});
    CHECK(k.error.empty());
    CHECK(k.passthrough == std::vector<std::string>{"-c", "SELECT 1", "--wait"});
}

TEST_CASE("parse_arguments: help, and everything else it refuses with a reason") {
    CHECK(parse_arguments({"-h"}).help);
    CHECK(parse_arguments({"status", "--help"}).help);
    CHECK(parse_arguments({}).error == "name a command: status, connect, backup, restore, report");
    CHECK(parse_arguments({"frobnicate", "pg"}).error ==
          "unknown command \"frobnicate\" (status, connect, backup, restore, report)");
    CHECK(parse_arguments({"status"}).error == "status: name one Database");
    CHECK(parse_arguments({"status", "a", "b"}).error == "status: name one Database");
    // Flags of another command, or that kubectl has and this does not: refused, not ignored.
    CHECK(parse_arguments({"status", "pg", "--wait"}).error == "status: unknown flag --wait");
    CHECK(parse_arguments({"backup", "pg", "--from", "x"}).error == "backup: unknown flag --from");
    CHECK(parse_arguments({"status", "pg", "--cluster=other"}).error == "status: unknown flag --cluster");
    CHECK(parse_arguments({"status", "pg", "-A"}).error == "unknown flag -A");
    CHECK(parse_arguments({"status", "pg", "--", "x"}).error ==
          "status: arguments after -- are for connect only");
    CHECK(parse_arguments({"status", "pg", "--namespace="}).error ==
          "an empty namespace (leave -n out for the kubeconfig's)");
    CHECK(parse_arguments({"status", "pg", "-n"}).error == "flag -n needs a value");
    CHECK(parse_arguments({"restore", "copy"}).error ==
          "restore NEW --from SOURCE [--dump NAME]: --from is required");
    CHECK(parse_arguments({"backup", "pg", "--wait", "--timeout", "soon"}).error ==
          "--timeout soon: want a whole number of seconds, minutes or hours (90s, 30m, 6h)");
}

TEST_CASE("parse_timeout") {
    CHECK(parse_timeout("90") == std::chrono::seconds(90));
    CHECK(parse_timeout("90s") == std::chrono::seconds(90));
    CHECK(parse_timeout("30m") == std::chrono::minutes(30));
    CHECK(parse_timeout("6h") == std::chrono::hours(6));
    CHECK_FALSE(parse_timeout("1.5h"));
    CHECK_FALSE(parse_timeout("h"));
    CHECK_FALSE(parse_timeout("9999999s"));
}
