// Coroutines started together and joined together: each has its own cancellation signal, and its
// completion (with any exception) is reported to the group instead of being dropped as a
// detached spawn would.
#pragma once

#include <kubecoro/core/asio.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <list>
#include <memory>

namespace kubecoro::runtime::detail {

class task_group {
public:
    using clock = std::chrono::steady_clock;

    explicit task_group(asio::any_io_executor executor);

    // `on_exit` (optional) runs when the task ends, with the exception it ended with (or nullptr).
    void spawn(awaitable<void> task, std::function<void(std::exception_ptr)> on_exit = {});
    // Terminal cancellation to every running task.
    void cancel();
    std::size_t running() const;
    // The first exception a task ended with (nullptr when none).
    std::exception_ptr first_exception() const;

    // Waits until no task runs. Throws operation_aborted when the waiting coroutine is cancelled.
    awaitable<void> join();
    // The same, giving up at `deadline`: true when no task runs.
    awaitable<bool> join_until(clock::time_point deadline);

private:
    struct entry {
        asio::cancellation_signal signal;
        bool done = false;
    };
    struct state {
        explicit state(asio::any_io_executor ex)
            : wake(std::move(ex)) {}
        asio::steady_timer wake;
        std::list<entry> entries;
        std::size_t running = 0;
        std::exception_ptr first_exception;
    };

    asio::any_io_executor executor_;
    std::shared_ptr<state> state_;
};

} // namespace kubecoro::runtime::detail
