/* A small assert harness for the agent's unit tests: CHECK records a failure and carries on. */
#ifndef LPA_TEST_H
#define LPA_TEST_H
#include <stdio.h>

extern int test_checks, test_failures;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        test_checks++;                                                                    \
        if (!(cond)) {                                                                    \
            test_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                                 \
    } while (0)

#define CHECK_EQ(a, b)                                                                    \
    do {                                                                                  \
        long long a_ = (long long)(a), b_ = (long long)(b);                               \
        test_checks++;                                                                    \
        if (a_ != b_) {                                                                   \
            test_failures++;                                                              \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__, \
                    __LINE__, #a, a_, #b, b_);                                            \
        }                                                                                 \
    } while (0)

typedef void (*test_fn)(void);
typedef struct test_case {
    const char *name;
    test_fn fn;
} test_case;

/* Each test file exports its table, terminated by {NULL, NULL}. */
extern const test_case frame_tests[], batch_tests[], agent_tests[], config_tests[], at_tests[],
    loopback_tests[];
#endif
