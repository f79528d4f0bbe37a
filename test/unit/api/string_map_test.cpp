#include <kubecoro/api/string_map.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using kubecoro::api::interned;
using kubecoro::api::string_map;

TEST_CASE("interned: one pooled copy per distinct string, freed with its last user") {
    const std::size_t before = interned::pool_size();
    {
        std::string built = "app.kubernetes.io/";
        built += "instance";
        interned a(built);
        interned b(std::string_view("app.kubernetes.io/instance"));
        CHECK(interned::pool_size() == before + 1);
        CHECK(a == b); // the same entry
        CHECK(a.view().data() == b.view().data());
        CHECK(a == "app.kubernetes.io/instance");
        interned c = a;
        interned d(std::string_view("other"));
        CHECK(interned::pool_size() == before + 2);
        CHECK_FALSE(c == d);
        d = c;
        CHECK(interned::pool_size() == before + 1); // "other" lost its only user
        interned moved = std::move(c);
        CHECK(c.empty());
        CHECK(moved.str() == "app.kubernetes.io/instance");
    }
    CHECK(interned::pool_size() == before);
    interned empty{std::string_view()};
    CHECK(empty.empty());
    CHECK(empty == interned());
    CHECK(interned::pool_size() == before); // "" is never pooled
}

TEST_CASE("interned: threads taking and dropping the same strings leave the pool as it was") {
    const std::size_t before = interned::pool_size();
    std::atomic<int> wrong{0};
    auto work = [&wrong] {
        for (int i = 0; i < 20000; ++i) {
            interned a(std::to_string(i % 7));
            interned b = a;
            interned c(std::to_string(i % 5));
            if (b.str() != std::to_string(i % 7) || c.str() != std::to_string(i % 5))
                ++wrong;
        }
    };
    std::thread t1(work), t2(work);
    t1.join();
    t2.join();
    CHECK(wrong == 0);
    CHECK(interned::pool_size() == before);
}

TEST_CASE("string_map: sorted by key whatever the order of insertion; set replaces; erase") {
    string_map m;
    m.set("tier", "backend");
    m.set("app", "db");
    m.set("zone", "a");
    m.set("tier", "frontend");
    REQUIRE(m.size() == 3);
    std::vector<std::string> keys;
    for (const auto& [k, v] : m)
        keys.push_back(k.str());
    CHECK(keys == std::vector<std::string>{"app", "tier", "zone"});
    CHECK(m.value_or_empty("tier") == "frontend");
    CHECK(m.value_or_empty("none").empty());
    CHECK(m.contains("app"));
    CHECK(m.find("ap") == m.end());
    m.erase("app");
    m.erase("none");
    CHECK(m == string_map{{"zone", "a"}, {"tier", "frontend"}});
    CHECK(string_map(std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}}) ==
          string_map{{"b", "2"}, {"a", "1"}});
    CHECK_FALSE(m == string_map{{"zone", "a"}});
    m.clear();
    CHECK(m.empty());
}
