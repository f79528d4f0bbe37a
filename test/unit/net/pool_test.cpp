#include <kubecoro/net/pool.hpp>

#include <doctest/doctest.h>

using kubecoro::net::idle_pool;

TEST_CASE("idle_pool reuses the warmest item of the same key") {
    idle_pool<int> pool(4);
    CHECK_FALSE(pool.put("a", 1));
    CHECK_FALSE(pool.put("b", 2));
    CHECK_FALSE(pool.put("a", 3));
    CHECK(pool.size() == 3);
    CHECK(pool.size("a") == 2);
    CHECK(pool.take("a") == 3);
    CHECK(pool.take("a") == 1);
    CHECK_FALSE(pool.take("a"));
    CHECK(pool.take("b") == 2);
    CHECK(pool.size() == 0);
}

TEST_CASE("idle_pool evicts the oldest item when full") {
    idle_pool<int> pool(2);
    CHECK_FALSE(pool.put("a", 1));
    CHECK_FALSE(pool.put("b", 2));
    auto evicted = pool.put("b", 3);
    REQUIRE(evicted);
    CHECK(*evicted == 1);
    CHECK(pool.size() == 2);
    CHECK_FALSE(pool.take("a"));
}

TEST_CASE("idle_pool with no room hands the item back") {
    idle_pool<int> pool(0);
    auto back = pool.put("a", 7);
    REQUIRE(back);
    CHECK(*back == 7);
    CHECK(pool.size() == 0);
}

TEST_CASE("idle_pool clear returns everything") {
    idle_pool<std::unique_ptr<int>> pool(3);
    CHECK_FALSE(pool.put("a", std::make_unique<int>(1)));
    CHECK_FALSE(pool.put("b", std::make_unique<int>(2)));
    auto all = pool.clear();
    REQUIRE(all.size() == 2);
    CHECK(*all[0] == 1);
    CHECK(*all[1] == 2);
    CHECK(pool.size() == 0);
}
