// ims::run_kernel (tlm.hpp): it names the SC_THREADs that ended by returning,
// and only those, at the call in which they ended. Each test runs in its own
// forked process (Check's default): SystemC elaborates once per process.
#include <string>
#include <vector>

#include "iommusim/tlm.hpp"

#include <check.h>
#include "ims_check.h"

namespace {

// Two threads: `quits` returns after `quit_after`, `stays` parks.
struct Pair : sc_core::sc_module {
    SC_HAS_PROCESS(Pair);
    Pair(sc_core::sc_module_name n, sc_core::sc_time quit_after) : sc_module(n), m_quit_after(quit_after)
    {
        SC_THREAD(quits);
        SC_THREAD(stays);
    }
    void quits()
    {
        sc_core::wait(m_quit_after);
        quit_done = true;
    }
    void stays()
    {
        sc_core::wait(sc_core::sc_time(1, sc_core::SC_NS));
        ims::park_thread();
    }
    sc_core::sc_time m_quit_after;
    bool quit_done = false;
};

// Only parked threads.
struct Parked : sc_core::sc_module {
    SC_HAS_PROCESS(Parked);
    explicit Parked(sc_core::sc_module_name n) : sc_module(n)
    {
        SC_THREAD(a);
        SC_THREAD(b);
    }
    void a() { ims::park_thread(); }
    void b()
    {
        sc_core::wait(sc_core::sc_time(3, sc_core::SC_NS));
        ims::park_thread();
    }
};

}  // namespace

START_TEST(names_the_thread_that_returned)
{
    Pair top("top", sc_core::sc_time(2, sc_core::SC_NS));
    const std::vector<std::string> ended = ims::run_kernel();
    ck_assert(top.quit_done);
    ck_assert_uint_eq(ended.size(), 1);
    ck_assert_str_eq(ended[0].c_str(), "top.quits");
}
END_TEST

START_TEST(parked_threads_are_not_named)
{
    Parked top("top");
    const std::vector<std::string> ended = ims::run_kernel();
    ck_assert_uint_eq(ended.size(), 0);
    ck_assert(sc_core::sc_time_stamp() == sc_core::sc_time(3, sc_core::SC_NS));
}
END_TEST

// With a time limit: not yet ended, then named by the call it ended in.
START_TEST(named_by_the_call_it_ended_in)
{
    Pair top("top", sc_core::sc_time(10, sc_core::SC_NS));
    std::vector<std::string> ended = ims::run_kernel(sc_core::SC_ZERO_TIME);  // elaborate
    ck_assert_uint_eq(ended.size(), 0);
    ended = ims::run_kernel(sc_core::sc_time(5, sc_core::SC_NS));
    ck_assert_uint_eq(ended.size(), 0);
    ck_assert(!top.quit_done);
    ended = ims::run_kernel();
    ck_assert(top.quit_done);
    ck_assert_uint_eq(ended.size(), 1);
    ck_assert_str_eq(ended[0].c_str(), "top.quits");
}
END_TEST

int main()
{
    Suite *s = suite_create("kernel");
    TCase *tc = tcase_create("run_kernel");
    tcase_add_test(tc, names_the_thread_that_returned);
    tcase_add_test(tc, parked_threads_are_not_named);
    tcase_add_test(tc, named_by_the_call_it_ended_in);
    suite_add_tcase(s, tc);
    return ims_check_run(s);
}

// Linked with libsystemc, whose main() wants one; never called.
int sc_main(int, char **)
{
    return 2;
}
