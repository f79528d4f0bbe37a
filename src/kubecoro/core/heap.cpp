#include <kubecoro/core/heap.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace kubecoro::core {

void release_free_heap() {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

} // namespace kubecoro::core
