#include <kubecoro/runtime/detail/task_group.hpp>

namespace kubecoro::runtime::detail {

task_group::task_group(asio::any_io_executor executor)
    : executor_(executor)
    , state_(std::make_shared<state>(executor)) {}

void task_group::spawn(awaitable<void> task, std::function<void(std::exception_ptr)> on_exit) {
    // Signals of finished tasks are released here, outside their own completion handlers.
    state_->entries.remove_if([](const entry& e) { return e.done; });
    auto it = state_->entries.emplace(state_->entries.end());
    ++state_->running;
    asio::co_spawn(
        executor_,
        std::move(task),
        asio::bind_cancellation_slot(it->signal.slot(),
                                     [st = state_, it, on_exit = std::move(on_exit)](std::exception_ptr e) {
                                         it->done = true;
                                         --st->running;
                                         if (e && !st->first_exception)
                                             st->first_exception = e;
                                         st->wake.cancel();
                                         if (on_exit)
                                             on_exit(e);
                                     }));
}

void task_group::cancel() {
    for (entry& e : state_->entries)
        if (!e.done)
            e.signal.emit(asio::cancellation_type::terminal);
}

std::size_t task_group::running() const {
    return state_->running;
}

std::exception_ptr task_group::first_exception() const {
    return state_->first_exception;
}

awaitable<void> task_group::join() {
    auto st = state_;
    while (st->running > 0) {
        st->wake.expires_at(clock::time_point::max());
        co_await st->wake.async_wait(use_tuple);
    }
}

awaitable<bool> task_group::join_until(clock::time_point deadline) {
    auto st = state_;
    while (st->running > 0 && clock::now() < deadline) {
        st->wake.expires_at(deadline);
        co_await st->wake.async_wait(use_tuple);
    }
    co_return st->running == 0;
}

} // namespace kubecoro::runtime::detail
