// The process heap: giving memory that was freed back to the system.
#pragma once

namespace kubecoro::core {

// Returns the heap's free pages to the system (glibc keeps them otherwise, e.g. after the large
// transient trees of an initial list). Costs a walk of the heap: call it after rare, large work.
void release_free_heap();

} // namespace kubecoro::core
