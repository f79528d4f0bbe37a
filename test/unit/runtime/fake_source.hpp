// A scripted API server for watchers: list answers and watch events per namespace, recorded
// calls, and a hang (until cancelled) where the script ends.
#pragma once

#include <kubecoro/core/errc.hpp>
#include <kubecoro/runtime/watcher.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kubecoro::runtime::test {

using namespace std::chrono_literals;

using watch_item = core::result<std::optional<json::watch_event>>;

struct fake_api {
    std::map<std::string, std::deque<core::result<json::object_list>>> list_answers;
    std::map<std::string, std::deque<std::deque<watch_item>>> watch_scripts;

    struct list_call {
        std::string ns;
        api::list_options options;
        projection keep = keep_all(); // what the watcher asked the source to reduce items to
    };
    struct watch_call {
        std::string ns;
        api::watch_options options;
    };
    std::vector<list_call> lists;
    std::vector<watch_call> watches;
    // The scripts of the watches opened so far: appending to one delivers more events.
    std::vector<std::shared_ptr<std::deque<watch_item>>> opened;
    int open_watches = 0;
};

inline json::value cm(std::string ns, std::string name, std::string rv, json::value data = json::object{}) {
    return json::object{
        {"apiVersion", "v1"},
        {"kind", "ConfigMap"},
        {"metadata",
         json::object{{"name", name}, {"namespace", ns}, {"resourceVersion", rv}, {"uid", "u-" + name}}},
        {"data", std::move(data)},
    };
}

inline json::object_list
page(std::vector<json::value> items, std::string rv, std::string continue_token = "") {
    json::object_list l;
    l.items = std::move(items);
    l.resource_version = std::move(rv);
    l.continue_token = std::move(continue_token);
    return l;
}

inline watch_item event(json::event_type type, json::value object) {
    return std::optional<json::watch_event>(json::watch_event{type, std::move(object)});
}

inline watch_item bookmark(std::string rv) {
    return event(json::event_type::bookmark,
                 json::object{{"kind", "ConfigMap"}, {"metadata", json::object{{"resourceVersion", rv}}}});
}

inline watch_item clean_end() {
    return std::optional<json::watch_event>();
}

inline awaitable<core::error> hang() {
    co_await sleep_for(1h);
    co_return core::error{core::errc::cancelled, "cancelled"};
}

inline awaitable<core::result<json::object_list>>
fake_list(std::shared_ptr<fake_api> fake, std::string ns, api::list_options o, projection keep = keep_all()) {
    fake->lists.push_back({ns, o, std::move(keep)});
    auto& answers = fake->list_answers[ns];
    if (answers.empty())
        co_return core::fail(co_await hang());
    auto answer = std::move(answers.front());
    answers.pop_front();
    co_return answer;
}

struct open_watch_guard {
    std::shared_ptr<fake_api> fake;
    ~open_watch_guard() { --fake->open_watches; }
};

// Waits for the script to have an item (a test may append one later) or for cancellation.
inline awaitable<watch_item> fake_next(std::shared_ptr<std::deque<watch_item>> script) {
    while (script->empty()) {
        bool slept = co_await sleep_for(1ms);
        if (!slept)
            co_return core::fail(core::errc::cancelled, "cancelled");
    }
    auto item = std::move(script->front());
    script->pop_front();
    co_return item;
}

inline awaitable<core::result<watch_source::next_fn>>
fake_watch(std::shared_ptr<fake_api> fake, std::string ns, api::watch_options o) {
    fake->watches.push_back({ns, o});
    auto& scripts = fake->watch_scripts[ns];
    auto script = std::make_shared<std::deque<watch_item>>();
    if (!scripts.empty()) {
        *script = std::move(scripts.front());
        scripts.pop_front();
    }
    fake->opened.push_back(script);
    ++fake->open_watches;
    auto guard = std::shared_ptr<open_watch_guard>(new open_watch_guard{fake});
    co_return watch_source::next_fn([script, guard] { return fake_next(script); });
}

inline watch_source source(std::shared_ptr<fake_api> fake) {
    watch_source s;
    s.list = [fake](std::string ns, api::list_options o, const projection& keep) {
        return fake_list(fake, std::move(ns), std::move(o), keep);
    };
    s.watch = [fake](std::string ns, api::watch_options o) {
        return fake_watch(fake, std::move(ns), std::move(o));
    };
    return s;
}

} // namespace kubecoro::runtime::test
