#include "rtcore_helpers.hpp"
#include <kubecoro/json/json.hpp>
#include <kubecoro/runtime/predicates.hpp>
#include <kubecoro/runtime/reflector.hpp>
#include <kubecoro/runtime/store.hpp>

#include <doctest/doctest.h>

#include <algorithm>

using namespace kubecoro;
using namespace kubecoro::runtime;
using runtime::test::make;

namespace {

std::vector<std::string> keys(const std::vector<object_ptr>& objects) {
    std::vector<std::string> out;
    for (const auto& o : objects)
        out.push_back(object_key(o->meta));
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST_CASE("object keys are namespace/name, or name when cluster-scoped") {
    CHECK(object_key("ns", "a") == "ns/a");
    CHECK(object_key("", "node-1") == "node-1");
}

TEST_CASE("store: upsert, get, erase") {
    store s;
    CHECK(s.upsert(make({.name = "a"})) == nullptr);
    auto a2 = make({.name = "a", .rv = "2"});
    auto old = s.upsert(a2);
    REQUIRE(old);
    CHECK(old->meta.resource_version == "1");
    CHECK(s.get("default", "a") == a2);
    CHECK(s.get("default/a") == a2);
    CHECK(s.get("other/a") == nullptr);
    CHECK(s.size() == 1);
    CHECK(s.erase("default/a") == a2);
    CHECK(s.erase("default/a") == nullptr);
    CHECK(s.size() == 0);
}

TEST_CASE("store: list by namespace") {
    store s;
    s.upsert(make({.ns = "x", .name = "a"}));
    s.upsert(make({.ns = "y", .name = "b"}));
    s.upsert(make({.ns = "x", .name = "c"}));
    CHECK(keys(s.list()) == std::vector<std::string>{"x/a", "x/c", "y/b"});
    CHECK(keys(s.list_namespace("x")) == std::vector<std::string>{"x/a", "x/c"});
    CHECK(s.list_namespace("z").empty());
}

TEST_CASE("store: the owner index follows the controller ownerReference") {
    store s;
    s.upsert(make({.name = "c1", .owner_uid = "o1"}));
    s.upsert(make({.name = "c2", .owner_uid = "o1"}));
    s.upsert(make({.name = "c3", .owner_uid = "o2"}));
    s.upsert(make({.name = "free"}));
    CHECK(keys(s.owned_by("o1")) == std::vector<std::string>{"default/c1", "default/c2"});
    CHECK(keys(s.owned_by("o2")) == std::vector<std::string>{"default/c3"});
    CHECK(s.owned_by("nobody").empty());

    SUBCASE("a child handed to another owner moves in the index") {
        s.upsert(make({.name = "c2", .rv = "2", .owner_uid = "o2"}));
        CHECK(keys(s.owned_by("o1")) == std::vector<std::string>{"default/c1"});
        CHECK(keys(s.owned_by("o2")) == std::vector<std::string>{"default/c2", "default/c3"});
    }
    SUBCASE("erasing removes it from the index") {
        s.erase("default/c1");
        CHECK(keys(s.owned_by("o1")) == std::vector<std::string>{"default/c2"});
    }
    SUBCASE("a non-controller ownerReference is not indexed") {
        auto o = make({.name = "weak", .owner_uid = "o3"});
        auto copy = std::make_shared<object>(*o);
        copy->meta.owner_references[0].controller = false;
        s.upsert(copy);
        CHECK(s.owned_by("o3").empty());
    }
}

TEST_CASE("store: a label index follows the object's labels in its namespace") {
    auto labelled = [](std::string name, std::string ns, std::string app, std::string rv = "1") {
        auto o = std::make_shared<object>(
            *make({.ns = std::move(ns), .name = std::move(name), .rv = std::move(rv)}));
        if (!app.empty())
            o->meta.labels.set("app", std::move(app));
        return object_ptr(o);
    };
    store s;
    s.upsert(labelled("a", "one", "db"));
    s.index_labels({"app"}); // asked for after objects arrived: indexed from then on
    s.upsert(labelled("b", "one", "db"));
    s.upsert(labelled("c", "two", "db"));
    s.upsert(labelled("d", "one", ""));
    CHECK(keys(s.labelled("one", "app", "db")) == std::vector<std::string>{"one/a", "one/b"});
    CHECK(keys(s.labelled("two", "app", "db")) == std::vector<std::string>{"two/c"});
    CHECK(s.labelled("one", "app", "web").empty());

    SUBCASE("a relabelled object moves") {
        s.upsert(labelled("a", "one", "web", "2"));
        CHECK(keys(s.labelled("one", "app", "db")) == std::vector<std::string>{"one/b"});
        CHECK(keys(s.labelled("one", "app", "web")) == std::vector<std::string>{"one/a"});
    }
    SUBCASE("an erased object leaves it") {
        s.erase("one/b");
        CHECK(keys(s.labelled("one", "app", "db")) == std::vector<std::string>{"one/a"});
    }
    SUBCASE("a relist rebuilds it") {
        s.replace_all({labelled("e", "one", "db")}, "one");
        CHECK(keys(s.labelled("one", "app", "db")) == std::vector<std::string>{"one/e"});
        CHECK(keys(s.labelled("two", "app", "db")) == std::vector<std::string>{"two/c"});
    }
}

TEST_CASE("store: replace_all swaps in one step and reports the diff") {
    store s;
    auto keep = make({.name = "keep", .rv = "1"});
    s.upsert(keep);
    s.upsert(make({.name = "change", .rv = "1", .owner_uid = "o1"}));
    s.upsert(make({.name = "gone", .rv = "1", .owner_uid = "o1"}));

    auto changed = make({.name = "change", .rv = "5", .owner_uid = "o2"});
    auto added = make({.name = "new", .rv = "6", .owner_uid = "o1"});
    store_diff diff = s.replace_all({make({.name = "keep", .rv = "1"}), changed, added});

    CHECK(keys(diff.added) == std::vector<std::string>{"default/new"});
    REQUIRE(diff.changed.size() == 1);
    CHECK(diff.changed[0].object == changed);
    CHECK(diff.changed[0].old->meta.resource_version == "1");
    CHECK(keys(diff.removed) == std::vector<std::string>{"default/gone"});
    CHECK(keys(s.list()) == std::vector<std::string>{"default/change", "default/keep", "default/new"});
    // The index is rebuilt from the new contents.
    CHECK(keys(s.owned_by("o1")) == std::vector<std::string>{"default/new"});
    CHECK(keys(s.owned_by("o2")) == std::vector<std::string>{"default/change"});

    SUBCASE("an identical relist reports nothing") {
        CHECK(s.replace_all(s.list()).empty());
    }
}

TEST_CASE("store: replace_all of one namespace keeps the others") {
    store s;
    s.upsert(make({.ns = "x", .name = "a"}));
    s.upsert(make({.ns = "y", .name = "b"}));
    store_diff diff = s.replace_all({make({.ns = "x", .name = "c"})}, "x");
    CHECK(keys(diff.added) == std::vector<std::string>{"x/c"});
    CHECK(keys(diff.removed) == std::vector<std::string>{"x/a"});
    CHECK(keys(s.list()) == std::vector<std::string>{"x/c", "y/b"});
}

TEST_CASE("reflector: lists and watch events update the store and report changes") {
    auto cache = std::make_shared<store>();
    std::vector<watcher_event> seen;
    reflector r(cache, [&](const watcher_event& e) { seen.push_back(e); });

    r.replace({make({.name = "a"}), make({.name = "b"})}, "");
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].kind == watcher_event::type::applied);
    CHECK(seen[0].old == nullptr);

    seen.clear();
    auto a2 = make({.name = "a", .rv = "2"});
    r.apply(json::event_type::modified, a2);
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].object == a2);
    REQUIRE(seen[0].old);
    CHECK(seen[0].old->meta.resource_version == "1");

    SUBCASE("a replayed version is not reported again") {
        seen.clear();
        r.apply(json::event_type::modified, make({.name = "a", .rv = "2"}));
        CHECK(seen.empty());
    }
    SUBCASE("deleted reports the last state and empties the store") {
        seen.clear();
        r.apply(json::event_type::deleted, make({.name = "b", .rv = "3"}));
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].kind == watcher_event::type::deleted);
        CHECK(seen[0].object->meta.resource_version == "3");
        CHECK(cache->get("default/b") == nullptr);
    }
    SUBCASE("a relist reports what vanished as deleted") {
        seen.clear();
        r.replace({a2}, "");
        REQUIRE(seen.size() == 1);
        CHECK(seen[0].kind == watcher_event::type::deleted);
        CHECK(seen[0].object->meta.name == "b");
    }
}

TEST_CASE("projections keep what the controller reads") {
    json::value decoded = json::object{
        {"apiVersion", "apps/v1"},
        {"kind", "Deployment"},
        {"metadata", json::object{{"name", "d"}, {"namespace", "ns"}, {"resourceVersion", "7"}}},
        {"spec", json::object{{"replicas", 3}, {"template", json::object{{"big", "yes"}}}}},
        {"status", json::object{{"readyReplicas", 2}, {"conditions", json::array{}}}},
    };
    SUBCASE("keep_all drops only metadata, which lives in meta; with_tree decodes the rest") {
        object_ptr o = make_object(decoded, keep_all());
        CHECK(o->meta.name == "d");
        CHECK(o->meta.namespace_ == "ns");
        CHECK(o->meta.resource_version == "7");
        CHECK(o->body.is_null()); // packed, as every cached object
        CHECK(o->packed.capacity() == o->packed.size());
        json::value scratch;
        const json::value& seen = o->view(scratch);
        CHECK(&seen == &scratch);
        CHECK(seen.at("metadata") == nullptr);
        CHECK(seen.at("spec", "template", "big"));
        object_ptr tree = with_tree(o);
        CHECK(tree != o);
        CHECK(tree->meta == o->meta);
        CHECK(tree->packed.empty());
        CHECK(tree->body == o->tree());
        CHECK(&tree->view(scratch) == &tree->body);
        CHECK(with_tree(tree) == tree); // already a tree: the same object
        CHECK(with_tree(nullptr) == nullptr);
    }
    SUBCASE("keep_paths keeps type and the listed fields") {
        object_ptr o = make_object(
            decoded, keep_paths({{"spec", "replicas"}, {"status", "readyReplicas"}, {"no", "such"}}));
        json::value expected = json::object{
            {"apiVersion", "apps/v1"},
            {"kind", "Deployment"},
            {"spec", json::object{{"replicas", 3}}},
            {"status", json::object{{"readyReplicas", 2}}},
        };
        CHECK(o->body.is_null());
        CHECK(
            o->packed ==
            R"({"apiVersion":"apps/v1","kind":"Deployment","spec":{"replicas":3},"status":{"readyReplicas":2}})");
        CHECK(o->tree() == expected);
        json::value scratch;
        CHECK(&o->view(scratch) == &scratch);
        CHECK(scratch == expected);
        CHECK(whole(*o).at("metadata", "name")->string_or("") == "d");
    }
    SUBCASE("keep_metadata keeps only the type") {
        object_ptr o = make_object(decoded, keep_metadata());
        CHECK(o->tree() == json::value(json::object{{"apiVersion", "apps/v1"}, {"kind", "Deployment"}}));
        CHECK(o->meta.name == "d");
    }
    SUBCASE("reduced: one tree of what make_object keeps, which makes the same object") {
        for (const projection& p : {keep_all(), keep_metadata(), keep_paths({{"spec", "replicas"}})}) {
            json::value r = reduced(decoded, p);
            CHECK(r.at("metadata", "resourceVersion"));
            CHECK((r.at("spec", "template") != nullptr) == p.keeps_everything());
            object_ptr direct = make_object(decoded, p);
            object_ptr via = make_object(r, p);
            CHECK(via->meta == direct->meta);
            CHECK(via->body == direct->body);
            CHECK(via->packed == direct->packed);
        }
    }
}

TEST_CASE("packer: a kind's objects are stored against the first big one, and read back whole") {
    auto statefulset = [](const std::string& name, int ready) {
        std::string script;
        for (int i = 0; i < 40; ++i)
            script += "line " + std::to_string(i) + " of the start script shared by every member\n";
        return json::value(json::object{
            {"apiVersion", "apps/v1"},
            {"kind", "StatefulSet"},
            {"metadata", json::object{{"name", name}, {"namespace", "ns"}, {"resourceVersion", "1"}}},
            {"spec",
             json::object{{"serviceName", name + "-headless"},
                          {"template", json::object{{"args", json::array{script, "-c", "name=" + name}}}}}},
            {"status", json::object{{"readyReplicas", ready}}},
        });
    };
    auto projected = [](json::value v) {
        v.if_object()->erase("metadata");
        return v;
    };
    packer p;
    projection keep = keep_paths({{"spec"}, {"status"}});
    object_ptr first = make_object(statefulset("db-a", 1), keep, &p);
    object_ptr second = make_object(statefulset("db-b", 0), keep, &p);
    CHECK(first->meta.name == "db-a");
    CHECK(first->tree() == projected(statefulset("db-a", 1)));
    CHECK(second->tree() == projected(statefulset("db-b", 0)));
    json::value scratch;
    CHECK(second->view(scratch) == projected(statefulset("db-b", 0)));
    CHECK(with_tree(second)->body == projected(statefulset("db-b", 0)));
    CHECK(whole(*second).at("metadata", "name")->string_or("") == "db-b");
    if (compress::available()) {
        REQUIRE(second->dictionary);
        CHECK(second->dictionary == first->dictionary);
        std::string text = json::write(projected(statefulset("db-b", 0)));
        CAPTURE(second->packed.size());
        CHECK(second->packed.size() * 10 < text.size());
    } else {
        CHECK(second->dictionary == nullptr);
    }

    SUBCASE("an unchanged object packs to the same bytes; a change is seen") {
        object_ptr again = make_object(statefulset("db-b", 0), keep, &p);
        CHECK(same_packed(*again, *second));
        CHECK_FALSE(projection_changed(second.get(), *again, keep));
        object_ptr ready = make_object(statefulset("db-b", 1), keep, &p);
        CHECK_FALSE(same_packed(*ready, *second));
        CHECK(projection_changed(second.get(), *ready, keep));
        // The same body packed another way (no packer) is the same projection too.
        object_ptr plain = make_object(statefulset("db-b", 0), keep);
        CHECK(plain->dictionary == nullptr);
        CHECK_FALSE(projection_changed(second.get(), *plain, keep));
    }
    SUBCASE("small objects stay text until one is big enough to be the reference") {
        packer q;
        json::value small = json::object{{"apiVersion", "v1"},
                                         {"kind", "Service"},
                                         {"metadata", json::object{{"name", "s"}}},
                                         {"spec", json::object{{"clusterIP", "None"}}}};
        object_ptr s = make_object(small, keep, &q);
        CHECK(s->dictionary == nullptr);
        CHECK(s->packed == R"({"apiVersion":"v1","kind":"Service","spec":{"clusterIP":"None"}})");
        object_ptr big = make_object(statefulset("db-c", 2), keep, &q);
        CHECK(big->tree() == projected(statefulset("db-c", 2)));
        CHECK(make_object(small, keep, &q)->tree() == s->tree());
        if (compress::available()) {
            // The big one became the dictionary: the next one like it is a few bytes.
            object_ptr next = make_object(statefulset("db-d", 2), keep, &q);
            REQUIRE(next->dictionary);
            CHECK(next->dictionary == big->dictionary);
            CHECK(next->packed.size() * 10 < json::write(projected(statefulset("db-d", 2))).size());
            // An object packed against an earlier dictionary still reads back, and an unchanged
            // one packed against another is compared by content.
            object_ptr again = make_object(statefulset("db-c", 2), keep, &q);
            CHECK(again->tree() == big->tree());
            CHECK_FALSE(projection_changed(big.get(), *again, keep));
        }
    }
}
