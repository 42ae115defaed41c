/* Runs every unit test of the device agent and prints one summary line. */
#include <string.h>

#include "test.h"

int test_checks, test_failures;

int main(int argc, char **argv) {
    const test_case *suites[] = {frame_tests, batch_tests, agent_tests, config_tests, at_tests, loopback_tests};
    size_t s;
    int tests = 0, failed = 0;
    for (s = 0; s < sizeof suites / sizeof suites[0]; s++) {
        const test_case *t;
        for (t = suites[s]; t->name; t++) {
            int before = test_failures;
            if (argc > 1 && !strstr(t->name, argv[1])) continue;
            t->fn();
            tests++;
            if (test_failures != before) {
                failed++;
                fprintf(stderr, "FAIL %s\n", t->name);
            } else {
                printf("ok   %s\n", t->name);
            }
        }
    }
    printf("%d tests, %d checks: %d passed, %d failed\n", tests, test_checks, tests - failed, failed);
    return failed ? 1 : 0;
}
