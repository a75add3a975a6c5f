// The SystemC suites start the kernel through this: ims::run_kernel, and a
// test failure naming any thread of the design that ended by returning
// instead of parking (ims::park_thread; docs/timing.md, "Running the kernel").
#ifndef IMS_TESTS_KERNEL_CHECK_HPP
#define IMS_TESTS_KERNEL_CHECK_HPP

#include <string>
#include <vector>

#include <check.h>

#include "iommusim/tlm.hpp"

namespace kcheck {

inline void no_thread_ended(const std::vector<std::string> &ended)
{
    std::string names;
    for (const std::string &n : ended)
        names += (names.empty() ? "" : ", ") + n;
    ck_assert_msg(ended.empty(), "SC_THREAD(s) returned instead of parking (ims::park_thread): %s", names.c_str());
}

// sc_start(): until no event is left.
inline void run() { no_thread_ended(ims::run_kernel()); }
// sc_start(t): SC_ZERO_TIME elaborates.
inline void run(const sc_core::sc_time &t) { no_thread_ended(ims::run_kernel(t)); }

}  // namespace kcheck

#endif  // IMS_TESTS_KERNEL_CHECK_HPP
