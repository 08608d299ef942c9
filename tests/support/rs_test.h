/*
 * rs_test: minimal assertions for rumstream's test programs.
 *
 * A check that fails prints file:line and the expression (and values) and
 * is counted; RS_TEST_DONE() prints "N passed, N failed" and returns the exit
 * status, so ctest sees a failure and the log shows each one.
 */
#ifndef RS_TEST_H
#define RS_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int rs_test_passed_cnt;
static int rs_test_failed_cnt;

#define RS_CHECK(cond)                                                         \
        do {                                                                   \
                if (cond) {                                                    \
                        rs_test_passed_cnt++;                                  \
                } else {                                                       \
                        rs_test_failed_cnt++;                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
                                __LINE__, #cond);                              \
                }                                                              \
        } while (0)

#define RS_CHECK_MSG(cond, ...)                                                \
        do {                                                                   \
                if (cond) {                                                    \
                        rs_test_passed_cnt++;                                  \
                } else {                                                       \
                        rs_test_failed_cnt++;                                  \
                        fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
                                __LINE__, #cond);                              \
                        fprintf(stderr, __VA_ARGS__);                          \
                        fputc('\n', stderr);                                   \
                }                                                              \
        } while (0)

#define RS_CHECK_INT(a, b)                                                     \
        do {                                                                   \
                long long _a = (long long)(a), _b = (long long)(b);            \
                RS_CHECK_MSG(_a == _b, "%s = %lld, expected %lld", #a, _a,     \
                             _b);                                              \
        } while (0)

#define RS_CHECK_STR(a, b)                                                     \
        do {                                                                   \
                const char *_a = (a), *_b = (b);                               \
                RS_CHECK_MSG(_a &&_b && !strcmp(_a, _b),                       \
                             "%s = \"%s\", expected \"%s\"", #a,               \
                             _a ? _a : "(null)", _b ? _b : "(null)");          \
        } while (0)

/* |a - b| <= tol * max(|b|, tiny) */
#define RS_CHECK_REL(a, b, tol)                                                \
        do {                                                                   \
                double _a = (a), _b = (b);                                     \
                double _d = fabs(_a - _b),                                     \
                       _m = fabs(_b) > 1e-12 ? fabs(_b) : 1e-12;               \
                RS_CHECK_MSG(_d <= (tol)*_m, "%s = %.17g, expected %.17g", #a, \
                             _a, _b);                                          \
        } while (0)

#define RS_TEST_DONE()                                                         \
        (printf("%d passed, %d failed\n", rs_test_passed_cnt,                  \
                rs_test_failed_cnt),                                           \
         rs_test_failed_cnt ? 1 : 0)

#endif
