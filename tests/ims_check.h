/* What every Check suite's main() does: run the suite (verbosity from
 * CK_VERBOSITY, which CTest sets to "normal") and exit non-zero on any
 * failure. */
#ifndef IMS_TESTS_CHECK_H
#define IMS_TESTS_CHECK_H

#include <check.h>

static inline int ims_check_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif /* IMS_TESTS_CHECK_H */
