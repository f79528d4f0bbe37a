#include <kubecoro/metrics/metrics.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

using namespace kubecoro;

TEST_CASE("counter and gauge exposition") {
    metrics::registry r;
    auto& reconciles = r.add_counter_family("controller_runtime_reconcile_total",
                                            "Total number of reconciliations per controller",
                                            {"controller", "result"});
    reconciles.with({"database", "success"}).inc();
    reconciles.with({"database", "success"}).inc(2);
    reconciles.with({"database", "error"}).inc();
    reconciles.with({"database", "error"}).inc(-5); // ignored
    auto& depth = r.add_gauge("workqueue_depth", "Current depth of workqueue");
    depth.set(7);
    depth.dec(2.5);
    CHECK(r.render() ==
          "# HELP controller_runtime_reconcile_total Total number of reconciliations per controller\n"
          "# TYPE controller_runtime_reconcile_total counter\n"
          "controller_runtime_reconcile_total{controller=\"database\",result=\"error\"} 1\n"
          "controller_runtime_reconcile_total{controller=\"database\",result=\"success\"} 3\n"
          "# HELP workqueue_depth Current depth of workqueue\n"
          "# TYPE workqueue_depth gauge\n"
          "workqueue_depth 4.5\n");
}

TEST_CASE("histogram exposition: cumulative buckets, +Inf, _sum, _count") {
    metrics::registry r;
    auto& h = r.add_histogram_family("request_duration_seconds", "Latency", {"verb"}, {0.1, 0.5, 1});
    auto& get = h.with({"GET"});
    get.observe(0.05);
    get.observe(0.1); // on a bound: counts in that bucket (le means <=)
    get.observe(0.7);
    get.observe(3);
    CHECK(r.render() == "# HELP request_duration_seconds Latency\n"
                        "# TYPE request_duration_seconds histogram\n"
                        "request_duration_seconds_bucket{verb=\"GET\",le=\"0.1\"} 2\n"
                        "request_duration_seconds_bucket{verb=\"GET\",le=\"0.5\"} 2\n"
                        "request_duration_seconds_bucket{verb=\"GET\",le=\"1\"} 3\n"
                        "request_duration_seconds_bucket{verb=\"GET\",le=\"+Inf\"} 4\n"
                        "request_duration_seconds_sum{verb=\"GET\"} 3.85\n"
                        "request_duration_seconds_count{verb=\"GET\"} 4\n");
}

TEST_CASE("unlabelled histogram with default buckets") {
    metrics::registry r;
    auto& h = r.add_histogram("wait_seconds", "Wait");
    h.observe(0.003);
    h.observe(20);
    std::string text = r.render();
    CHECK(text.find("wait_seconds_bucket{le=\"0.005\"} 1\n") != std::string::npos);
    CHECK(text.find("wait_seconds_bucket{le=\"10\"} 1\n") != std::string::npos);
    CHECK(text.find("wait_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
    CHECK(text.find("wait_seconds_sum 20.003\n") != std::string::npos);
    CHECK(text.find("wait_seconds_count 2\n") != std::string::npos);
    CHECK(h.bucket_counts().size() == metrics::default_buckets().size() + 1);
}

TEST_CASE("label values and help text are escaped") {
    metrics::registry r;
    r.add_gauge_family("info", "Line one\nback\\slash \"quotes\" stay", {"v"}).with({"a\"b\\c\nd"}).set(1);
    CHECK(r.render() == "# HELP info Line one\\nback\\\\slash \"quotes\" stay\n"
                        "# TYPE info gauge\n"
                        "info{v=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("sample values in the Prometheus spelling") {
    CHECK(metrics::format_value(1) == "1");
    CHECK(metrics::format_value(0.25) == "0.25");
    CHECK(metrics::format_value(-3) == "-3");
    CHECK(metrics::format_value(1e6) == "1e+06");
    CHECK(metrics::format_value(std::numeric_limits<double>::infinity()) == "+Inf");
    CHECK(metrics::format_value(-std::numeric_limits<double>::infinity()) == "-Inf");
    CHECK(metrics::format_value(std::nan("")) == "NaN");
}

TEST_CASE("registration: idempotent for the same shape, errors otherwise") {
    metrics::registry r;
    auto& a = r.add_counter("x_total", "X");
    auto& b = r.add_counter("x_total", "X");
    CHECK(&a == &b);
    CHECK_THROWS_AS(r.add_gauge("x_total", "X"), std::invalid_argument);
    CHECK_THROWS_AS(r.add_counter_family("x_total", "X", {"a"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_counter("9bad", "X"), std::invalid_argument);
    CHECK_THROWS_AS(r.add_counter("bad-name", "X"), std::invalid_argument);
    CHECK_THROWS_AS(r.add_counter_family("y", "Y", {"__reserved"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram_family("h", "H", {"le"}), std::invalid_argument);
    CHECK_THROWS_AS(r.add_histogram("h2", "H", {1, 1}), std::invalid_argument);
    auto& f = r.add_counter_family("z_total", "Z", {"a", "b"});
    CHECK_THROWS_AS(f.with({"only-one"}), std::invalid_argument);
}

TEST_CASE("an unused labelled family is left out; removed children disappear") {
    metrics::registry r;
    auto& f = r.add_gauge_family("g", "G", {"name"});
    CHECK(r.render().empty());
    f.with({"a"}).set(1);
    CHECK(r.render() == "# HELP g G\n# TYPE g gauge\ng{name=\"a\"} 1\n");
    CHECK(f.remove({"a"}));
    CHECK_FALSE(f.remove({"a"}));
    CHECK(r.render().empty());
}

TEST_CASE("collectors run before each render") {
    metrics::registry r;
    auto& g = r.add_gauge("depth", "D");
    int calls = 0;
    r.on_collect([&] { g.set(++calls * 10); });
    CHECK(r.render().find("depth 10\n") != std::string::npos);
    CHECK(r.render().find("depth 20\n") != std::string::npos);
}

TEST_CASE("exponential buckets") {
    CHECK(metrics::exponential_buckets(0.001, 2, 4) == std::vector<double>{0.001, 0.002, 0.004, 0.008});
}

TEST_CASE("process metrics are present and plausible") {
    auto s = metrics::read_process_stats();
    REQUIRE(s);
    CHECK(s->resident_memory_bytes > 1024 * 1024);
    CHECK(s->virtual_memory_bytes >= s->resident_memory_bytes);
    CHECK(s->open_fds >= 3); // stdin, stdout, stderr
    CHECK(s->max_fds >= s->open_fds);
    CHECK(s->cpu_seconds >= 0);
    double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(s->start_time_seconds <= now + 1);
    CHECK(s->start_time_seconds > now - 3600); // this test process started moments ago

    metrics::registry r(metrics::process_metrics::on);
    std::string text = r.render();
    for (const char* name : {"process_cpu_seconds_total",
                             "process_open_fds",
                             "process_max_fds",
                             "process_virtual_memory_bytes",
                             "process_resident_memory_bytes",
                             "process_start_time_seconds"}) {
        CAPTURE(name);
        CHECK(text.find(std::string("# TYPE ") + name + " ") != std::string::npos);
        CHECK(text.find(std::string("\n") + name + " ") != std::string::npos);
    }
    CHECK(text.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
}
