/* The lpa-agent configuration file. */
#include <string.h>

#include "lpa_config.h"
#include "test.h"

static void parses_keys_comments_and_defaults(void) {
    lpa_program_config c;
    char err[200] = "";
    const char *text = "# gateway\nserver_host = edge.example.net\nserver_port=9443\n\n  ca_file = /etc/lpa/ca.pem \n"
                       "cert_file = d.pem\nkey_file = d.key\neid = 89049032000000000000000000000001\n"
                       "driver = loopback\nloopback_address = 127.0.0.1:7000\nlog = syslog";
    CHECK_EQ(lpa_config_parse(&c, text, err, sizeof err), 0);
    CHECK(strcmp(c.server_host, "edge.example.net") == 0);
    CHECK_EQ(c.server_port, 9443);
    CHECK(strcmp(c.ca_file, "/etc/lpa/ca.pem") == 0);
    CHECK(strcmp(c.loopback_host, "127.0.0.1") == 0);
    CHECK_EQ(c.loopback_port, 7000);
    CHECK_EQ(c.at_timeout_ms, 60000);
    CHECK_EQ(c.max_frame, 65536);
    CHECK(strcmp(c.log, "syslog") == 0);
    CHECK_EQ(lpa_config_validate(&c, err, sizeof err), 0);
}

static void errors_name_the_line_and_key(void) {
    lpa_program_config c;
    char err[200] = "";
    CHECK_EQ(lpa_config_parse(&c, "server_host = a\nbogus = 1\n", err, sizeof err), -1);
    CHECK(strstr(err, "line 2") && strstr(err, "bogus"));
    CHECK_EQ(lpa_config_parse(&c, "server_port = 70000\n", err, sizeof err), -1);
    CHECK(strstr(err, "server_port") != NULL);
    CHECK_EQ(lpa_config_parse(&c, "just words\n", err, sizeof err), -1);
    CHECK_EQ(lpa_config_parse(&c, "loopback_address = nohost\n", err, sizeof err), -1);
    CHECK_EQ(lpa_config_parse(&c, "server_host = h\n", err, sizeof err), 0);
    CHECK_EQ(lpa_config_validate(&c, err, sizeof err), -1);
    CHECK(strstr(err, "ca_file") != NULL);
    CHECK_EQ(lpa_config_parse(&c, "server_host=h\nca_file=a\ncert_file=b\nkey_file=c\neid=1\n", err, sizeof err), 0);
    CHECK_EQ(lpa_config_validate(&c, err, sizeof err), -1); /* driver at without a port */
    CHECK(strstr(err, "at_port") != NULL);
}

const test_case config_tests[] = {
    {"config/parses_keys_comments_and_defaults", parses_keys_comments_and_defaults},
    {"config/errors_name_the_line_and_key", errors_name_the_line_and_key},
    {NULL, NULL},
};
