// ims::run_kernel (tlm.hpp): sc_start(), then the main thread's stack given
// back to AddressSanitizer, and the SC_THREADs that returned named.
#include "iommusim/tlm.hpp"

#include <pthread.h>

#if defined(__SANITIZE_ADDRESS__)
#define IMS_KERNEL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IMS_KERNEL_ASAN 1
#endif
#endif
#ifdef IMS_KERNEL_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace ims {

namespace {
// Under AddressSanitizer: declares the calling thread's own stack (from
// pthread_getattr_np) as the stack it runs on, by a "switch" to itself.
// Without the sanitizer: nothing.
void restore_sanitizer_stack()
{
#ifdef IMS_KERNEL_ASAN
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    void *lo = nullptr;
    std::size_t size = 0;
    const int rc = pthread_attr_getstack(&attr, &lo, &size);
    pthread_attr_destroy(&attr);
    if (rc != 0 || !lo || !size)
        return;
    __sanitizer_start_switch_fiber(nullptr, lo, size);
    __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
#endif
}

// The design's thread processes, with their names. A handle keeps its
// process's object alive: SystemC takes a process that ended out of the
// object hierarchy, so the threads are taken before the kernel runs.
struct Thread {
    sc_core::sc_process_handle h;
    std::string name;
};
void threads_under(const std::vector<sc_core::sc_object *> &objs, std::vector<Thread> &out)
{
    for (sc_core::sc_object *o : objs) {
        const std::string kind = o->kind();
        if (kind == "sc_thread_process" || kind == "sc_cthread_process")
            out.push_back(Thread{sc_core::sc_process_handle(o), o->name()});
        threads_under(o->get_child_objects(), out);
    }
}
std::vector<Thread> threads()
{
    std::vector<Thread> t;
    threads_under(sc_core::sc_get_top_level_objects(), t);
    return t;
}

std::vector<std::string> after_kernel(const std::vector<Thread> &before)
{
    restore_sanitizer_stack();
    std::vector<std::string> ended;
    for (const Thread &t : before)
        if (t.h.terminated())
            ended.push_back(t.name);
    return ended;
}
}  // namespace

std::vector<std::string> run_kernel()
{
    const std::vector<Thread> before = threads();
    sc_core::sc_start();
    return after_kernel(before);
}

std::vector<std::string> run_kernel(const sc_core::sc_time &t)
{
    const std::vector<Thread> before = threads();
    sc_core::sc_start(t);
    return after_kernel(before);
}

}  // namespace ims
