/*
 * test_config: the loader against a table like a processor's: defaults,
 * file, environment, validation messages (exact, with file and line),
 * pass-through groups, --set overrides and cleanup.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rumstream/config.h"
#include "rs_test.h"

typedef struct conf_s {
        int64_t       window_ms;
        int64_t       lateness_ms;
        int64_t       retention_ms;
        double        alpha;
        double        timeout_s;
        int           dry_run;
        char         *brokers;
        char         *topic;
        char         *group_id;
        rs_conf_kvs_t kafka;
} conf_t;

#define NO_BOUNDS 1, 0

static const rs_conf_item_t table[] = {
    {"window.size_ms", RS_CONF_INT, offsetof(conf_t, window_ms), "60000", 1000,
     86400000, "RUMSTREAM_TEST_WINDOW_MS", "window length"},
    {"window.lateness_ms", RS_CONF_INT, offsetof(conf_t, lateness_ms), "5000",
     0, 3600000, NULL, "allowed lateness"},
    {"retention_ms", RS_CONF_INT, offsetof(conf_t, retention_ms), "0",
     NO_BOUNDS, NULL, "how long to keep rows"},
    {"sketch.alpha", RS_CONF_DOUBLE, offsetof(conf_t, alpha), "0.01", 0.0001,
     0.5, "RUMSTREAM_TEST_ALPHA", "relative accuracy"},
    {"pg.timeout_s", RS_CONF_DOUBLE, offsetof(conf_t, timeout_s), "2.5", 0, 60,
     NULL, "statement timeout"},
    {"dry_run", RS_CONF_BOOL, offsetof(conf_t, dry_run), "false", NO_BOUNDS,
     "RUMSTREAM_TEST_DRY_RUN", "write nothing"},
    {"brokers", RS_CONF_STRING, offsetof(conf_t, brokers), "localhost:9092",
     NO_BOUNDS, "RUMSTREAM_TEST_BROKERS", "bootstrap servers"},
    {"topic", RS_CONF_STRING, offsetof(conf_t, topic), "rum.events", NO_BOUNDS,
     NULL, "input topic"},
    {"group_id", RS_CONF_STRING, offsetof(conf_t, group_id), NULL, NO_BOUNDS,
     NULL, "consumer group"},
    {"kafka", RS_CONF_KVS, offsetof(conf_t, kafka), NULL, NO_BOUNDS, NULL,
     "librdkafka properties"},
    RS_CONF_END};

static char tmpdir[64];
static char errstr[512];
static char want[1024];

/* Writes \p text to <tmpdir>/<name>; returns the path (static buffer). */
static const char *write_file(const char *name, const char *text) {
        static char path[256];
        FILE       *fp;

        snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
        fp = fopen(path, "w");
        RS_CHECK(fp != NULL);
        if (fp) {
                fputs(text, fp);
                fclose(fp);
        }
        return path;
}

/* Loads \p text from a file and expects failure with "<path>:<tail>". */
static void expect_file_error(const char *text, const char *tail) {
        const char *path = write_file("bad.cfg", text);
        conf_t      conf;

        errstr[0] = '\0';
        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     -1);
        snprintf(want, sizeof(want), "%s:%s", path, tail);
        RS_CHECK_STR(errstr, want);
        rs_config_free(table, &conf);
        unlink(path);
}

static void expect_string_error(const char *text, const char *msg) {
        conf_t conf;

        errstr[0] = '\0';
        RS_CHECK_INT(
            rs_config_load_string(table, &conf, text, errstr, sizeof(errstr)),
            -1);
        RS_CHECK_STR(errstr, msg);
        rs_config_free(table, &conf);
}

static void test_defaults(void) {
        conf_t conf;

        memset(&conf, 0xa5, sizeof(conf));
        RS_CHECK_INT(rs_config_load(table, &conf, NULL, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.window_ms, 60000);
        RS_CHECK_INT(conf.lateness_ms, 5000);
        RS_CHECK_INT(conf.retention_ms, 0);
        RS_CHECK_REL(conf.alpha, 0.01, 1e-12);
        RS_CHECK_REL(conf.timeout_s, 2.5, 1e-12);
        RS_CHECK_INT(conf.dry_run, 0);
        RS_CHECK_STR(conf.brokers, "localhost:9092");
        RS_CHECK_STR(conf.topic, "rum.events");
        RS_CHECK(conf.group_id == NULL);
        RS_CHECK(conf.kafka.items == NULL);
        RS_CHECK_INT(conf.kafka.cnt, 0);
        rs_config_free(table, &conf);
}

static void test_file(void) {
        const char *path =
            write_file("ok.cfg", "# a processor's file\n"
                                 "window = {\n"
                                 "        size_ms = 10000;\n"
                                 "};\n"
                                 "sketch = { alpha = 0.02; };\n"
                                 "pg = { timeout_s = 10; };\n"
                                 "retention_ms = 3000000000L;\n"
                                 "dry_run = true;\n"
                                 "topic = \"t1\"; // trailing comment\n"
                                 "group_id = \"g\";\n");
        conf_t conf;

        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.window_ms, 10000);
        RS_CHECK_INT(conf.lateness_ms, 5000); /* untouched: default */
        RS_CHECK_INT(conf.retention_ms, 3000000000LL);
        RS_CHECK_REL(conf.alpha, 0.02, 1e-12);
        RS_CHECK_REL(conf.timeout_s, 10.0, 1e-12); /* int for a double */
        RS_CHECK_INT(conf.dry_run, 1);
        RS_CHECK_STR(conf.brokers, "localhost:9092");
        RS_CHECK_STR(conf.topic, "t1");
        RS_CHECK_STR(conf.group_id, "g");
        rs_config_free(table, &conf);
        unlink(path);
}

static void test_env(void) {
        const char *path =
            write_file("env.cfg", "window = { size_ms = 10000; "
                                  "};\nbrokers = \"file:9092\";\n");
        conf_t conf;

        setenv("RUMSTREAM_TEST_WINDOW_MS", "20000", 1);
        setenv("RUMSTREAM_TEST_BROKERS", "env:9092", 1);
        setenv("RUMSTREAM_TEST_ALPHA", "0.125", 1);
        setenv("RUMSTREAM_TEST_DRY_RUN", "on", 1);
        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.window_ms, 20000);
        RS_CHECK_STR(conf.brokers, "env:9092");
        RS_CHECK_REL(conf.alpha, 0.125, 1e-12);
        RS_CHECK_INT(conf.dry_run, 1);
        rs_config_free(table, &conf);

        /* Empty means unset: the file's value stays. */
        setenv("RUMSTREAM_TEST_WINDOW_MS", "", 1);
        unsetenv("RUMSTREAM_TEST_BROKERS");
        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.window_ms, 10000);
        RS_CHECK_STR(conf.brokers, "file:9092");
        rs_config_free(table, &conf);

        setenv("RUMSTREAM_TEST_WINDOW_MS", "abc", 1);
        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     -1);
        RS_CHECK_STR(errstr, "environment RUMSTREAM_TEST_WINDOW_MS: "
                             "window.size_ms: expected integer, got \"abc\"");
        rs_config_free(table, &conf);

        setenv("RUMSTREAM_TEST_WINDOW_MS", "5", 1);
        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     -1);
        RS_CHECK_STR(errstr,
                     "environment RUMSTREAM_TEST_WINDOW_MS: window.size_ms: "
                     "value 5 out of range [1000, 86400000]");
        rs_config_free(table, &conf);
        unsetenv("RUMSTREAM_TEST_WINDOW_MS");

        setenv("RUMSTREAM_TEST_DRY_RUN", "maybe", 1);
        expect_string_error(NULL,
                            "environment RUMSTREAM_TEST_DRY_RUN: dry_run: "
                            "expected boolean, got \"maybe\"");
        unsetenv("RUMSTREAM_TEST_DRY_RUN");

        setenv("RUMSTREAM_TEST_ALPHA", "0.9", 1);
        expect_string_error(NULL, "environment RUMSTREAM_TEST_ALPHA: "
                                  "sketch.alpha: value 0.9 out of range "
                                  "[0.0001, 0.5]");
        unsetenv("RUMSTREAM_TEST_ALPHA");
        unlink(path);
}

static void test_unknown(void) {
        expect_file_error("window = { size_ms = 10000; };\n"
                          "\n"
                          "windw_ms = 5;\n",
                          "3: windw_ms: unknown setting");
        expect_file_error("window = {\n"
                          "        size_ms = 1000;\n"
                          "        bogus = 1;\n"
                          "};\n",
                          "3: window.bogus: unknown setting");
        /* A group no item lives under. */
        expect_file_error("topic = \"x\";\nfoo = { a = 1; };\n",
                          "2: foo: unknown setting");
        /* A prefix of a name is not a group of it. */
        expect_file_error("wind = { size_ms = 1000; };\n",
                          "1: wind: unknown setting");
}

static void test_wrong_type(void) {
        expect_file_error("window = { size_ms = \"10\"; };\n",
                          "1: window.size_ms: expected integer, got string");
        expect_file_error("window = { size_ms = 1000.0; };\n",
                          "1: window.size_ms: expected integer, got float");
        expect_file_error("window = { size_ms = { x = 1; }; };\n",
                          "1: window.size_ms: expected integer, got group");
        expect_file_error("sketch = { alpha = \"0.1\"; };\n",
                          "1: sketch.alpha: expected number, got string");
        expect_file_error("dry_run = 1;\n",
                          "1: dry_run: expected boolean, got integer");
        expect_file_error("topic = 5;\n", "1: topic: expected string, got "
                                          "integer");
        expect_file_error("topic = [\"a\", \"b\"];\n",
                          "1: topic: expected string, got array");
        expect_file_error("window = 5;\n",
                          "1: window: expected a group, got integer");
        expect_file_error("kafka = \"x\";\n",
                          "1: kafka: expected a group, got string");
        expect_file_error("kafka = {\n        a = (1, 2);\n};\n",
                          "2: kafka.a: expected string, number or boolean, "
                          "got list");
}

static void test_range(void) {
        conf_t conf;

        expect_file_error("window = { size_ms = 5; };\n",
                          "1: window.size_ms: value 5 out of range [1000, "
                          "86400000]");
        expect_file_error("window = { size_ms = 86400001; };\n",
                          "1: window.size_ms: value 86400001 out of range "
                          "[1000, 86400000]");
        expect_file_error("sketch = {\n        alpha = 0.9;\n};\n",
                          "2: sketch.alpha: value 0.9 out of range [0.0001, "
                          "0.5]");
        expect_file_error("pg = { timeout_s = -1; };\n",
                          "1: pg.timeout_s: value -1 out of range [0, 60]");
        /* min > max: no bounds. */
        RS_CHECK_INT(rs_config_load_string(table, &conf, "retention_ms = -7;",
                                           errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.retention_ms, -7);
        rs_config_free(table, &conf);
}

static void test_parse_errors(void) {
        char   path[256];
        conf_t conf;

        expect_file_error("topic = \"a\";\nwindow = ;\n", "2: syntax error");
        expect_file_error("topic = \"a\";\ntopic = \"b\";\n",
                          "2: duplicate setting name");

        snprintf(path, sizeof(path), "%s/missing.cfg", tmpdir);
        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     -1);
        snprintf(want, sizeof(want), "%s: No such file or directory", path);
        RS_CHECK_STR(errstr, want);
        rs_config_free(table, &conf);

        RS_CHECK_INT(
            rs_config_load(table, &conf, tmpdir, errstr, sizeof(errstr)), -1);
        snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
        RS_CHECK_STR(errstr, want);
        rs_config_free(table, &conf);

        /* libconfig 1.5 would wrap these to 32 bits without a word. */
        expect_file_error("topic = \"a\";\nretention_ms = 3000000000;\n",
                          "2: integer 3000000000 does not fit in 32 bits; "
                          "write 3000000000L");
        expect_string_error("kafka = { x = -2147483649; };",
                            "<string>:1: integer -2147483649 does not fit in "
                            "32 bits; write -2147483649L");
        expect_string_error("kafka = { x = 0x1ffffffff; };",
                            "<string>:1: integer 0x1ffffffff does not fit in "
                            "32 bits; write 0x1ffffffffL");
        /* Not numbers, or numbers that fit. */
        RS_CHECK_INT(rs_config_load_string(
                         table, &conf,
                         "# 3000000000\n/* 4000000000 */\n"
                         "topic = \"5000000000\";\n"
                         "kafka = { a = -2147483648; b = 2147483647; "
                         "c = 0xffffffff; d = 1e300; e = 3000000000.5; "
                         "f = 1.5e-12; };\n",
                         errstr, sizeof(errstr)),
                     0);
        RS_CHECK_STR(conf.topic, "5000000000");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "a"), "-2147483648");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "b"), "2147483647");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "c"), "-1");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "d"), "1e+300");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "e"), "3000000000.5");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "f"), "1.5e-12");
        rs_config_free(table, &conf);
}

static void test_kvs(void) {
        const char *path =
            write_file("kvs.cfg", "kafka = {\n"
                                  "        fetch_wait_max_ms = 50;\n"
                                  "        enable_idempotence = true;\n"
                                  "        client_id = \"rs_1\";\n"
                                  "        batch_size = 10000000000L;\n"
                                  "        linger_ms = 0.5;\n"
                                  "        ssl = { ca = { location = \"/x\"; "
                                  "}; };\n"
                                  "};\n");
        conf_t conf;

        RS_CHECK_INT(rs_config_load(table, &conf, path, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.kafka.cnt, 6);
        if (conf.kafka.cnt == 6) {
                /* File order is kept: librdkafka applies them in order. */
                RS_CHECK_STR(conf.kafka.items[0].key, "fetch.wait.max.ms");
                RS_CHECK_STR(conf.kafka.items[0].value, "50");
                RS_CHECK_STR(conf.kafka.items[5].key, "ssl.ca.location");
        }
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "enable.idempotence"),
                     "true");
        /* Values keep their '_'; only names change. */
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "client.id"), "rs_1");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "batch.size"), "10000000000");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "linger.ms"), "0.5");
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "ssl.ca.location"), "/x");
        RS_CHECK(rs_conf_kvs_get(&conf.kafka, "fetch_wait_max_ms") == NULL);
        RS_CHECK(rs_conf_kvs_get(&conf.kafka, "nope") == NULL);
        RS_CHECK(rs_conf_kvs_get(NULL, "nope") == NULL);

        /* --set replaces, it does not add a second entry. */
        RS_CHECK_INT(rs_config_set(table, &conf, "kafka.fetch.wait.max.ms",
                                   "100", errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.kafka.cnt, 6);
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "fetch.wait.max.ms"), "100");
        /* The property is taken verbatim, '_' included. */
        RS_CHECK_INT(rs_config_set(table, &conf, "kafka.some_prop", "x", errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.kafka.cnt, 7);
        RS_CHECK_STR(rs_conf_kvs_get(&conf.kafka, "some_prop"), "x");
        rs_config_free(table, &conf);
        unlink(path);
}

static void test_kvs_get_last_wins(void) {
        rs_conf_kv_t  items[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
        rs_conf_kvs_t kvs     = {items, 3};

        RS_CHECK_STR(rs_conf_kvs_get(&kvs, "a"), "3");
        RS_CHECK_STR(rs_conf_kvs_get(&kvs, "b"), "2");
}

/* A connection setting inside the pass-through group keeps its own type
 * and environment variable. */
static void test_kvs_with_items(void) {
        typedef struct {
                char         *brokers;
                int64_t       linger;
                rs_conf_kvs_t kafka;
        } kconf_t;
        static const rs_conf_item_t ktable[] = {
            {"kafka.brokers", RS_CONF_STRING, offsetof(kconf_t, brokers),
             "localhost:9092", NO_BOUNDS, "RUMSTREAM_TEST_KAFKA_BROKERS",
             "bootstrap servers"},
            {"kafka.producer.linger_ms", RS_CONF_INT, offsetof(kconf_t, linger),
             "5", 0, 1000, NULL, "linger"},
            {"kafka", RS_CONF_KVS, offsetof(kconf_t, kafka), NULL, NO_BOUNDS,
             NULL, "librdkafka properties"},
            RS_CONF_END};
        kconf_t kc;

        RS_CHECK_INT(rs_config_load_string(
                         ktable, &kc,
                         "kafka = {\n"
                         "        brokers = \"b:9092\";\n"
                         "        producer = { linger_ms = 20; acks = -1; };\n"
                         "        client_id = \"x\";\n"
                         "};\n",
                         errstr, sizeof(errstr)),
                     0);
        RS_CHECK_STR(kc.brokers, "b:9092");
        RS_CHECK_INT(kc.linger, 20);
        RS_CHECK_INT(kc.kafka.cnt, 2);
        RS_CHECK_STR(rs_conf_kvs_get(&kc.kafka, "producer.acks"), "-1");
        RS_CHECK_STR(rs_conf_kvs_get(&kc.kafka, "client.id"), "x");
        RS_CHECK(rs_conf_kvs_get(&kc.kafka, "brokers") == NULL);
        RS_CHECK_INT(rs_config_set(ktable, &kc, "kafka.brokers", "c:9092",
                                   errstr, sizeof(errstr)),
                     0);
        RS_CHECK_STR(kc.brokers, "c:9092");
        RS_CHECK_INT(kc.kafka.cnt, 2);
        rs_config_free(ktable, &kc);

        RS_CHECK_INT(rs_config_load_string(ktable, &kc,
                                           "kafka = { brokers = 1; };", errstr,
                                           sizeof(errstr)),
                     -1);
        RS_CHECK_STR(errstr, "<string>:1: kafka.brokers: expected string, "
                             "got integer");
        rs_config_free(ktable, &kc);
}

static void expect_set_error(conf_t *conf, const char *name, const char *value,
                             const char *msg) {
        errstr[0] = '\0';
        RS_CHECK_INT(
            rs_config_set(table, conf, name, value, errstr, sizeof(errstr)),
            -1);
        RS_CHECK_STR(errstr, msg);
}

static void test_set(void) {
        conf_t conf;

        RS_CHECK_INT(rs_config_load(table, &conf, NULL, errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(rs_config_set(table, &conf, "window.size_ms", "30000",
                                   errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.window_ms, 30000);
        RS_CHECK_INT(rs_config_set(table, &conf, "retention_ms",
                                   "-9223372036854775808", errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK(conf.retention_ms == INT64_MIN);
        RS_CHECK_INT(rs_config_set(table, &conf, "sketch.alpha", "0.25", errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK_REL(conf.alpha, 0.25, 1e-12);
        RS_CHECK_INT(rs_config_set(table, &conf, "pg.timeout_s", "1e1", errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK_REL(conf.timeout_s, 10.0, 1e-12);
        RS_CHECK_INT(rs_config_set(table, &conf, "dry_run", "YES", errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.dry_run, 1);
        RS_CHECK_INT(rs_config_set(table, &conf, "dry_run", "off", errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.dry_run, 0);
        RS_CHECK_INT(
            rs_config_set(table, &conf, "dry_run", "1", errstr, sizeof(errstr)),
            0);
        RS_CHECK_INT(conf.dry_run, 1);
        RS_CHECK_INT(rs_config_set(table, &conf, "topic", "other topic", errstr,
                                   sizeof(errstr)),
                     0);
        RS_CHECK_STR(conf.topic, "other topic");
        RS_CHECK_INT(
            rs_config_set(table, &conf, "group_id", "", errstr, sizeof(errstr)),
            0);
        RS_CHECK_STR(conf.group_id, "");

        expect_set_error(&conf, "window.size_ms", "abc",
                         "window.size_ms: expected integer, got \"abc\"");
        expect_set_error(&conf, "window.size_ms", "12x",
                         "window.size_ms: expected integer, got \"12x\"");
        expect_set_error(&conf, "window.size_ms", " 2000",
                         "window.size_ms: expected integer, got \" 2000\"");
        expect_set_error(&conf, "window.size_ms", "",
                         "window.size_ms: expected integer, got \"\"");
        expect_set_error(&conf, "window.size_ms", "5",
                         "window.size_ms: value 5 out of range [1000, "
                         "86400000]");
        expect_set_error(&conf, "retention_ms", "99999999999999999999",
                         "retention_ms: value 99999999999999999999 out of "
                         "64-bit integer range");
        expect_set_error(&conf, "sketch.alpha", "x",
                         "sketch.alpha: expected number, got \"x\"");
        expect_set_error(&conf, "sketch.alpha", "nan",
                         "sketch.alpha: expected number, got \"nan\"");
        expect_set_error(&conf, "sketch.alpha", "0.75",
                         "sketch.alpha: value 0.75 out of range [0.0001, "
                         "0.5]");
        expect_set_error(&conf, "dry_run", "maybe",
                         "dry_run: expected boolean, got \"maybe\"");
        expect_set_error(&conf, "nope", "1", "nope: unknown setting");
        expect_set_error(&conf, "window", "1", "window: unknown setting");
        expect_set_error(&conf, "kafka.", "1", "kafka.: unknown setting");
        expect_set_error(&conf, "kafka", "1",
                         "kafka: a pass-through group is set by property: "
                         "kafka.<property>=<value>");
        /* Failed sets leave the value alone. */
        RS_CHECK_INT(conf.window_ms, 30000);
        RS_CHECK_REL(conf.alpha, 0.25, 1e-12);
        RS_CHECK_INT(conf.dry_run, 1);

        rs_config_free(table, &conf);
}

static void test_free(void) {
        conf_t conf;

        RS_CHECK_INT(rs_config_load_string(table, &conf,
                                           "topic = \"t\";\n"
                                           "kafka = { a = 1; };\n",
                                           errstr, sizeof(errstr)),
                     0);
        rs_config_free(table, &conf);
        RS_CHECK(conf.topic == NULL);
        RS_CHECK(conf.brokers == NULL);
        RS_CHECK(conf.kafka.items == NULL);
        RS_CHECK_INT(conf.kafka.cnt, 0);
        rs_config_free(table, &conf);
        rs_config_free(NULL, &conf);
        rs_config_free(table, NULL);

        /* A failure after strings and kvs were filled: free finds them. */
        memset(&conf, 0xa5, sizeof(conf));
        RS_CHECK_INT(rs_config_load_string(table, &conf,
                                           "topic = \"t\";\n"
                                           "kafka = { a = 1; };\n"
                                           "zzz = 1;\n",
                                           errstr, sizeof(errstr)),
                     -1);
        RS_CHECK_STR(errstr, "<string>:3: zzz: unknown setting");
        rs_config_free(table, &conf);
        rs_config_free(table, &conf);
}

static void test_load_string(void) {
        char   small[12];
        conf_t conf;

        RS_CHECK_INT(rs_config_load_string(table, &conf,
                                           "window = { size_ms = 2000; "
                                           "lateness_ms = 0; };",
                                           errstr, sizeof(errstr)),
                     0);
        RS_CHECK_INT(conf.window_ms, 2000);
        RS_CHECK_INT(conf.lateness_ms, 0);
        RS_CHECK_STR(conf.topic, "rum.events");
        rs_config_free(table, &conf);

        expect_string_error("\n\nwindow = { size_ms = true; };",
                            "<string>:3: window.size_ms: expected integer, "
                            "got boolean");
        expect_string_error("window = {", "<string>:1: syntax error");

        /* A short buffer still gets a terminated prefix. */
        RS_CHECK_INT(rs_config_load_string(table, &conf, "zzz = 1;", small,
                                           sizeof(small)),
                     -1);
        RS_CHECK_STR(small, "<string>:1:");
        rs_config_free(table, &conf);
        RS_CHECK_INT(rs_config_load_string(table, &conf, "zzz = 1;", NULL, 0),
                     -1);
        rs_config_free(table, &conf);
}

static void test_bad_table(void) {
        static const rs_conf_item_t bad_int[] = {
            {"n", RS_CONF_INT, 0, "ten", NO_BOUNDS, NULL, "n"}, RS_CONF_END};
        static const rs_conf_item_t bad_bound[] = {
            {"n", RS_CONF_INT, 0, "0", 1, 10, NULL, "n"}, RS_CONF_END};
        static const rs_conf_item_t bad_kvs[] = {
            {"k", RS_CONF_KVS, 0, "a=b", NO_BOUNDS, NULL, "k"}, RS_CONF_END};
        union {
                int64_t       n;
                rs_conf_kvs_t k;
        } t;

        RS_CHECK_INT(rs_config_load(bad_int, &t, NULL, errstr, sizeof(errstr)),
                     -1);
        RS_CHECK_STR(errstr, "n: default: expected integer, got \"ten\"");
        RS_CHECK_INT(
            rs_config_load(bad_bound, &t, NULL, errstr, sizeof(errstr)), -1);
        RS_CHECK_STR(errstr, "n: default: value 0 out of range [1, 10]");
        RS_CHECK_INT(rs_config_load(bad_kvs, &t, NULL, errstr, sizeof(errstr)),
                     -1);
        RS_CHECK_STR(errstr, "k: a pass-through group takes no default or "
                             "environment variable");
        rs_config_free(bad_kvs, &t);
}

static void test_usage(void) {
        char       *buf  = NULL;
        size_t      size = 0;
        FILE       *fp   = open_memstream(&buf, &size);
        const char *row;

        RS_CHECK(fp != NULL);
        if (!fp)
                return;
        rs_config_usage(table, fp);
        fclose(fp);
        RS_CHECK(!strncmp(buf, "SETTING  ", 9));
        row = strstr(buf, "\nwindow.size_ms ");
        RS_CHECK(row != NULL);
        if (row) {
                row++;
                /* Columns line up with the header. */
                RS_CHECK_INT(strstr(row, "int") - row,
                             strstr(buf, "TYPE") - buf);
                RS_CHECK_INT(strstr(row, "60000") - row,
                             strstr(buf, "DEFAULT") - buf);
                RS_CHECK_INT(strstr(row, "[1000, 86400000]") - row,
                             strstr(buf, "RANGE") - buf);
                RS_CHECK_INT(strstr(row, "RUMSTREAM_TEST_WINDOW_MS") - row,
                             strstr(buf, "ENV") - buf);
                RS_CHECK_INT(strstr(row, "window length\n") - row,
                             strstr(buf, "DESCRIPTION") - buf);
        }
        RS_CHECK(strstr(buf, "[0.0001, 0.5]") != NULL);
        free(buf);
}

int main(void) {
        strcpy(tmpdir, "/tmp/rs_test_config.XXXXXX");
        if (!mkdtemp(tmpdir)) {
                perror("mkdtemp");
                return 1;
        }
        unsetenv("RUMSTREAM_TEST_WINDOW_MS");
        unsetenv("RUMSTREAM_TEST_BROKERS");
        unsetenv("RUMSTREAM_TEST_ALPHA");
        unsetenv("RUMSTREAM_TEST_DRY_RUN");

        test_defaults();
        test_file();
        test_env();
        test_unknown();
        test_wrong_type();
        test_range();
        test_parse_errors();
        test_kvs();
        test_kvs_get_last_wins();
        test_kvs_with_items();
        test_set();
        test_free();
        test_load_string();
        test_bad_table();
        test_usage();

        RS_CHECK_INT(rmdir(tmpdir), 0);
        return RS_TEST_DONE();
}
