// Counters, gauges and histograms with labels, rendered in the Prometheus text format 0.0.4.
// Used from the io_context's thread only: nothing here is synchronised.
#pragma once

#include <kubecoro/core/result.hpp>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kubecoro::metrics {

class counter {
public:
    // Negative increments are ignored: a counter only goes up.
    void inc(double by = 1) {
        if (by > 0)
            value_ += by;
    }
    double value() const { return value_; }

private:
    double value_ = 0;
};

class gauge {
public:
    void set(double v) { value_ = v; }
    void inc(double by = 1) { value_ += by; }
    void dec(double by = 1) { value_ -= by; }
    double value() const { return value_; }

private:
    double value_ = 0;
};

class histogram {
public:
    // Upper bounds, strictly increasing; +Inf is implied.
    explicit histogram(std::vector<double> bounds);

    void observe(double v);
    const std::vector<double>& bounds() const { return bounds_; }
    // Per bucket, not cumulative; one more than bounds() (the last is +Inf).
    const std::vector<std::uint64_t>& bucket_counts() const { return counts_; }
    std::uint64_t count() const { return count_; }
    double sum() const { return sum_; }

private:
    std::vector<double> bounds_;
    std::vector<std::uint64_t> counts_;
    std::uint64_t count_ = 0;
    double sum_ = 0;
};

// Prometheus' default buckets: 0.005 s to 10 s.
std::vector<double> default_buckets();
// start, start * factor, ... (count bounds).
std::vector<double> exponential_buckets(double start, double factor, int count);

// One metric per combination of label values, created on first use. References stay valid.
template <class M>
class family {
public:
    // Values in the order of the label names; throws std::invalid_argument on a count mismatch.
    M& with(std::vector<std::string> label_values) {
        check_arity(label_values.size());
        auto it = children_.find(label_values);
        if (it == children_.end())
            it = children_.emplace(std::move(label_values), prototype_).first;
        return it->second;
    }
    M& with(std::initializer_list<std::string_view> label_values) {
        return with(std::vector<std::string>(label_values.begin(), label_values.end()));
    }
    // Drops one combination (e.g. for an object that was deleted).
    bool remove(const std::vector<std::string>& label_values) { return children_.erase(label_values) > 0; }
    // Drops every combination (a collector that sets the family afresh from a cache at each scrape).
    void clear() { children_.clear(); }

    const std::vector<std::string>& label_names() const { return label_names_; }
    const std::map<std::vector<std::string>, M>& children() const { return children_; }

    family(std::vector<std::string> label_names, M prototype)
        : label_names_(std::move(label_names))
        , prototype_(std::move(prototype)) {}

private:
    void check_arity(std::size_t n) const {
        if (n != label_names_.size())
            throw std::invalid_argument("metrics: " + std::to_string(n) + " label values for " +
                                        std::to_string(label_names_.size()) + " label names");
    }

    std::vector<std::string> label_names_;
    M prototype_; // copied for each new child (a histogram's buckets)
    std::map<std::vector<std::string>, M> children_;
};

enum class process_metrics { off, on };

class registry {
public:
    // process_metrics::on adds process_* metrics (read from /proc/self at each render).
    explicit registry(process_metrics p = process_metrics::off);
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    // Registering a name again with the same type and labels returns the existing metric; with
    // another type or labels, or an invalid name, throws std::invalid_argument (a programming
    // error, found at startup).
    counter& add_counter(std::string name, std::string help);
    gauge& add_gauge(std::string name, std::string help);
    histogram&
    add_histogram(std::string name, std::string help, std::vector<double> bounds = default_buckets());
    family<counter>& add_counter_family(std::string name, std::string help, std::vector<std::string> labels);
    family<gauge>& add_gauge_family(std::string name, std::string help, std::vector<std::string> labels);
    family<histogram>& add_histogram_family(std::string name,
                                            std::string help,
                                            std::vector<std::string> labels,
                                            std::vector<double> bounds = default_buckets());

    // Runs before each render, e.g. to set a gauge from a queue's depth.
    void on_collect(std::function<void()> fn);

    // Every family in registration order, then the process metrics.
    std::string render();

    struct entry;

private:
    enum class kind { counter, gauge, histogram };
    entry& find_or_add(std::string name,
                       std::string help,
                       kind k,
                       std::vector<std::string> labels,
                       std::vector<double> bounds);

    std::vector<std::unique_ptr<entry>> entries_;
    std::vector<std::function<void()>> collectors_;
    process_metrics process_;
};

inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

// What process_metrics::on reports.
struct process_stats {
    double cpu_seconds = 0; // user + system
    double resident_memory_bytes = 0;
    double virtual_memory_bytes = 0;
    double open_fds = 0;
    double max_fds = 0;            // the soft RLIMIT_NOFILE
    double start_time_seconds = 0; // since the Unix epoch
};
// Reads /proc/self (local and cheap enough to do on the io_context's thread).
core::result<process_stats> read_process_stats();

// The Prometheus spelling of a sample value: "1", "0.25", "1e+06", "+Inf", "NaN".
std::string format_value(double v);
// A label value escaped for the text format (backslash, double quote, newline).
std::string escape_label_value(std::string_view v);

} // namespace kubecoro::metrics
