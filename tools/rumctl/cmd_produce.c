/*
 * rumctl produce: synthetic RUM page views or, with --errors, front-end
 * errors or, with --synthetic, lab test results (common/traffic.c)
 * encoded as the processors expect them
 * (Confluent-framed Avro, key = tenant id), with optional bad messages
 * spread through the stream to exercise every dead-letter path.
 *
 * Bad messages come from a second generator so that the good events are
 * the same sequence with or without --bad; each takes the event time of the
 * good event before it, so it is never late for a reason of its own.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/avro.h"
#include "rumstream/event.h"
#include "rumstream/kafka.h"
#include "rumstream/log.h"
#include "rumstream/traffic.h"
#include "rumctl.h"

#define CMD "produce"

#define DEFAULT_EVENT_RATE 100.0
#define SYNC_TIMEOUT_MS    (120 * 1000)
#define UNKNOWN_SCHEMA_ID  999
#define BAD_MAX            (16 * 1024)

typedef enum {
        BAD_GARBAGE,      /* random bytes */
        BAD_MAGIC,        /* valid event, first byte not 0 */
        BAD_SCHEMA_ID,    /* valid event under an id nobody registered */
        BAD_TRUNCATED,    /* header intact, body cut in half */
        BAD_LCP_3H,       /* implausible LCP of three hours */
        BAD_NEGATIVE_INP, /* a negative duration */
        BAD_EMPTY_TENANT, /* no tenant id */
        BAD_ZERO_SAMPLE,  /* sample_rate 0: would weigh infinitely */
        BAD_FUTURE,       /* timestamp an hour ahead of the message's */
        BAD_WRONG_SCHEMA, /* an error event under the RumEvent's id */
        BAD_NEGATIVE_DUR, /* an error event with a negative duration */
        BAD_KIND_CNT,
} bad_kind_t;

static const char *const bad_names[BAD_KIND_CNT] = {
    "garbage",          "bad_magic",    "unknown_schema",   "truncated",
    "lcp_3h",           "negative_inp", "empty_tenant",     "zero_sample_rate",
    "future_timestamp", "wrong_schema", "negative_duration"};

/* The bad messages of each stream, in the order they cycle through. */
static const bad_kind_t rum_bad[] = {
    BAD_GARBAGE,      BAD_MAGIC,       BAD_SCHEMA_ID,
    BAD_TRUNCATED,    BAD_LCP_3H,      BAD_NEGATIVE_INP,
    BAD_EMPTY_TENANT, BAD_ZERO_SAMPLE, BAD_FUTURE};
static const bad_kind_t error_bad[] = {
    BAD_GARBAGE,      BAD_MAGIC,        BAD_SCHEMA_ID,
    BAD_TRUNCATED,    BAD_WRONG_SCHEMA, BAD_NEGATIVE_DUR,
    BAD_EMPTY_TENANT, BAD_ZERO_SAMPLE,  BAD_FUTURE};
/* A synthetic result has no sample rate: its LCP of 3 h instead. */
static const bad_kind_t synthetic_bad[] = {
    BAD_GARBAGE,      BAD_MAGIC,        BAD_SCHEMA_ID,
    BAD_TRUNCATED,    BAD_WRONG_SCHEMA, BAD_NEGATIVE_DUR,
    BAD_EMPTY_TENANT, BAD_LCP_3H,       BAD_FUTURE};

#define BAD_CYCLE (sizeof(rum_bad) / sizeof(rum_bad[0]))
_Static_assert(sizeof(error_bad) == sizeof(rum_bad), "equal cycles");
_Static_assert(sizeof(synthetic_bad) == sizeof(rum_bad), "equal cycles");

/* A good event of the stream being produced: a page view, an error
 * with --errors, a lab result with --synthetic. */
typedef struct event_s {
        rs_rum_event_t        rum;
        rs_error_event_t      err;
        rs_synthetic_result_t syn;
} event_t;

typedef struct produce_s {
        rs_kafka_producer_t *producer;
        rs_avro_encoder_t   *enc;
        const char          *topic;
        int                  errors;    /* error events, not page views */
        int                  synthetic; /* lab results, not page views */
        uint64_t             rng;       /* splitmix64 state for garbage bytes */
        unsigned char        bad[BAD_MAX];
        char                 errstr[512];
} produce_t;

static void usage(FILE *fp) {
        fprintf(fp,
                "Usage: rumctl produce --brokers LIST [--topic NAME] "
                "[--count N] [--rate R]\n"
                "                      [--seed S] [--tenants N] [--routes "
                "N] [--start-ms MS]\n"
                "                      [--event-rate R] [--disorder-ms MS]\n"
                "                      [--regression "
                "TENANT:ROUTE:FROM_MINUTE:FACTOR[:TO_MINUTE]]\n"
                "                      [--bad N]\n"
                "       rumctl produce --errors --brokers LIST [same "
                "options]\n"
                "                      [--burst "
                "TENANT:ROUTE:FROM_MINUTE:TO_MINUTE:FACTOR]\n"
                "                      [--new-group TENANT:FROM_MINUTE]\n"
                "       rumctl produce --synthetic --brokers LIST [same "
                "options]\n"
                "                      [--interval-min M] [--failure-rate "
                "P] [--field-only]\n"
                "                      [--failing TENANT:ROUTE:FROM_MINUTE]"
                "\n\n"
                "Produces synthetic RUM page views (Avro, schema id %d, key "
                "= tenant id) or,\n"
                "with --errors, front-end errors (schema id %d) or, with "
                "--synthetic, lab test\n"
                "results (schema id %d) of the same tenants, routes and URLs "
                "as the page views\n"
                "of the same --seed, --tenants and --routes.\n\n"
                "  --brokers LIST     bootstrap servers (default: "
                "$RUMSTREAM_KAFKA_BROKERS)\n"
                "  --topic NAME       default rum.events, with --errors "
                "error.events, with\n"
                "                     --synthetic synthetic.events\n"
                "  --errors           produce error events instead of page "
                "views\n"
                "  --synthetic        produce synthetic (lab) test results "
                "instead of page\n"
                "                     views: each tenant tests a few of its "
                "top routes from\n"
                "                     2-3 locations, desktop/cable and, for "
                "every other tenant,\n"
                "                     mobile/4g; lab values track the page "
                "views' of the route\n"
                "                     and device. --event-rate and "
                "--disorder-ms do not apply\n"
                "  --count N          good events (or lab results) to produce "
                "(default 10000;\n"
                "                     with --errors, "
                "those of --burst and --new-group "
                "included)\n"
                "  --rate R           wall-clock messages per second; 0 = as "
                "fast as possible\n"
                "                     (default 0)\n"
                "  --seed S           generator seed (default 1); the same "
                "options give the\n"
                "                     same events\n"
                "  --tenants N        tenants (default 5: acme-shop, "
                "globex-news, ...)\n"
                "  --routes N         route templates per tenant (default "
                "12)\n"
                "  --event-rate R     events per second of event time "
                "(default %.0f, or\n"
                "                     --rate when that is set)\n"
                "  --start-ms MS      event time of the first event (ms "
                "since the epoch).\n"
                "                     Default: now minus the span the events "
                "cover, aligned\n"
                "                     to the minute, so the data ends about "
                "now; with --rate\n"
                "                     and no --event-rate: now (live "
                "traffic)\n"
                "  --disorder-ms MS   timestamps jitter back by up to MS "
                "(default 2000)\n"
                "  --regression T:R:M:F[:M2]\n"
                "                     from minute M after the start (until "
                "minute M2, if\n"
                "                     given), multiply LCP/INP/FCP/TTFB of "
                "tenant T's route R\n"
                "                     by F, e.g. acme-shop:/checkout:10:1.8 "
                "or, back to normal\n"
                "                     from minute 40, "
                "acme-shop:/checkout:10:1.8:40\n"
                "                     With --synthetic, the lab sees the "
                "same regression (TBT\n"
                "                     and load time too) if it tests that "
                "route\n"
                "  --field-only       (--synthetic, with --regression) the "
                "lab does not see the\n"
                "                     regression: real users regress, lab "
                "stays flat\n"
                "  --failing T:R:M    (--synthetic) from minute M after the "
                "start, every run of\n"
                "                     tenant T's tested route R fails (HTTP "
                "500), e.g.\n"
                "                     globex-news:/checkout:30\n"
                "  --interval-min M   (--synthetic) each check runs every M "
                "minutes (default 5)\n"
                "  --failure-rate P   (--synthetic) share of runs that fail "
                "at random (default\n"
                "                     0.02)\n"
                "  --burst T:R:M1:M2:F\n"
                "                     (--errors) from minute M1 to minute "
                "M2 after the start,\n"
                "                     tenant T's most frequent bug happens "
                "F times as often, on\n"
                "                     route R (not a slug route), where it "
                "is for the whole\n"
                "                     run; e.g. acme-shop:/checkout:10:15:20\n"
                "  --new-group T:M    (--errors) from minute M after the "
                "start, tenant T has a\n"
                "                     bug it never had before "
                "(promo-banner-null on \"/\")\n"
                "  --bad N            also produce N bad messages spread "
                "through the stream,\n"
                "                     cycling through: garbage, bad magic "
                "byte, unknown schema\n"
                "                     id, truncated body, LCP of 3 h "
                "(errors: the RumEvent's\n"
                "                     schema id), negative INP (errors: "
                "negative duration_ms),\n"
                "                     empty tenant id, sample_rate 0, "
                "timestamp 1 h in the\n"
                "                     future\n"
                "  -h, --help         this text\n\n"
                "Prints one summary line: produced=N bad=N topic=T "
                "elapsed_s=S ...\n",
                RS_SCHEMA_ID_RUM_EVENT, RS_SCHEMA_ID_ERROR_EVENT,
                RS_SCHEMA_ID_SYNTHETIC_RESULT, DEFAULT_EVENT_RATE);
}

static uint64_t splitmix64(uint64_t *x) {
        uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

/* 1 if \p s is a number as the options take it ("10", "1.8"). */
static int is_number(const char *s) {
        char *end;

        if (!*s)
                return 0;
        (void)strtod(s, &end);
        return *end == '\0';
}

/*
 * "TENANT:ROUTE:FROM_MINUTE:FACTOR[:TO_MINUTE]". Routes contain ':'
 * ("/products/:id") but no field of a normalized route is a number, so the
 * tenant ends at the first ':' and the numeric fields are counted from the
 * end: three of them carry an end, two do not. *to_minute is 0 without an
 * end.
 */
static int parse_regression(char *spec, rs_traffic_conf_t *tc,
                            double *from_minute, double *to_minute) {
        char *first = strchr(spec, ':');
        char *num[3];
        int   cnt = 0;

        *to_minute = 0;
        if (!first)
                goto bad;
        while (cnt < 3) {
                char *p = strrchr(spec, ':');

                if (p == NULL || p == first || !is_number(p + 1))
                        break;
                num[cnt++] = p + 1;
                *p         = '\0';
        }
        if (cnt < 2)
                goto bad;
        *first = '\0';
        if (!*spec || first[1] != '/')
                goto bad;
        if (rumctl_parse_double(CMD, "--regression minute", num[cnt - 1], 0,
                                1e9, from_minute) == -1 ||
            rumctl_parse_double(CMD, "--regression factor", num[cnt - 2], 0.01,
                                1000, &tc->regression_factor) == -1 ||
            (cnt == 3 && rumctl_parse_double(CMD, "--regression end minute",
                                             num[0], 0, 1e9, to_minute) == -1))
                return -1;
        if (cnt == 3 && !(*to_minute > *from_minute)) {
                fprintf(stderr, "rumctl produce: --regression: the end "
                                "minute must come after the start minute\n");
                return -1;
        }
        tc->regression_tenant = spec;
        tc->regression_route  = first + 1;
        return 0;
bad:
        fprintf(stderr,
                "rumctl produce: --regression: expected "
                "TENANT:ROUTE:FROM_MINUTE:FACTOR[:TO_MINUTE] with ROUTE "
                "starting with '/', e.g. acme-shop:/checkout:10:1.8 or "
                "acme-shop:/checkout:10:1.8:40\n");
        return -1;
}

/* "TENANT:ROUTE:FROM_MINUTE:TO_MINUTE:FACTOR", the route as in
 * --regression. */
static int parse_burst(char *spec, rs_error_traffic_conf_t *ec,
                       double minutes[2]) {
        char *field[3], *first = strchr(spec, ':');
        int   i;

        for (i = 2; i >= 0; i--) {
                field[i] = strrchr(spec, ':');
                if (!field[i] || field[i] == first)
                        goto bad;
                *field[i]++ = '\0';
        }
        *first = '\0';
        if (!*spec || first[1] != '/')
                goto bad;
        if (rumctl_parse_double(CMD, "--burst from minute", field[0], 0, 1e9,
                                &minutes[0]) == -1 ||
            rumctl_parse_double(CMD, "--burst to minute", field[1], 0, 1e9,
                                &minutes[1]) == -1 ||
            rumctl_parse_double(CMD, "--burst factor", field[2], 1, 10000,
                                &ec->burst_factor) == -1)
                return -1;
        if (minutes[1] <= minutes[0]) {
                fprintf(stderr, "rumctl produce: --burst: the window ends "
                                "before it starts\n");
                return -1;
        }
        ec->burst_tenant = spec;
        ec->burst_route  = first + 1;
        return 0;
bad:
        fprintf(stderr,
                "rumctl produce: --burst: expected "
                "TENANT:ROUTE:FROM_MINUTE:TO_MINUTE:FACTOR with ROUTE "
                "starting with '/', e.g. acme-shop:/checkout:10:15:20\n");
        return -1;
}

/* "TENANT:FROM_MINUTE". */
static int parse_new_group(char *spec, rs_error_traffic_conf_t *ec,
                           double *from_minute) {
        char *colon = strrchr(spec, ':');

        if (!colon || colon == spec) {
                fprintf(stderr, "rumctl produce: --new-group: expected "
                                "TENANT:FROM_MINUTE, e.g. globex-news:20\n");
                return -1;
        }
        *colon = '\0';
        if (rumctl_parse_double(CMD, "--new-group minute", colon + 1, 0, 1e9,
                                from_minute) == -1)
                return -1;
        ec->new_group_tenant = spec;
        return 0;
}

/* "TENANT:ROUTE:FROM_MINUTE", the route as in --regression. */
static int parse_failing(char *spec, rs_synthetic_traffic_conf_t *sc,
                         double *from_minute) {
        char *first = strchr(spec, ':');
        char *last  = strrchr(spec, ':');

        if (!first || last == first || first == spec || first[1] != '/') {
                fprintf(stderr,
                        "rumctl produce: --failing: expected "
                        "TENANT:ROUTE:FROM_MINUTE with ROUTE starting with "
                        "'/', e.g. globex-news:/checkout:30\n");
                return -1;
        }
        *first = '\0';
        *last  = '\0';
        if (rumctl_parse_double(CMD, "--failing minute", last + 1, 0, 1e9,
                                from_minute) == -1)
                return -1;
        sc->failing_tenant = spec;
        sc->failing_route  = first + 1;
        return 0;
}

static const char *event_tenant(const produce_t *pr, const event_t *ev) {
        return pr->synthetic ? ev->syn.tenant_id
               : pr->errors  ? ev->err.tenant_id
                             : ev->rum.tenant_id;
}

static int64_t event_ts(const produce_t *pr, const event_t *ev) {
        return pr->synthetic ? ev->syn.timestamp_ms
               : pr->errors  ? ev->err.timestamp_ms
                             : ev->rum.timestamp_ms;
}

/* Encodes \p ev. @returns 0 or -1 (logged). */
static int encode(produce_t *pr, const event_t *ev, const void **bufp,
                  size_t *lenp) {
        avro_value_t *v = rs_avro_encoder_value(pr->enc);
        int           rc;

        if (pr->synthetic)
                rc = rs_synthetic_result_write(v, &ev->syn);
        else if (pr->errors)
                rc = rs_error_event_write(v, &ev->err);
        else
                rc = rs_rum_event_write(v, &ev->rum);
        if (rc == -1) {
                rs_log_error("cannot fill the Avro value of event %s",
                             pr->synthetic ? ev->syn.run_id
                             : pr->errors  ? ev->err.event_id
                                           : ev->rum.event_id);
                return -1;
        }
        if (rs_avro_encoder_encode(pr->enc, bufp, lenp, pr->errstr,
                                   sizeof(pr->errstr)) == -1) {
                rs_log_error("encode: %s", pr->errstr);
                return -1;
        }
        return 0;
}

static int send_msg(produce_t *pr, const char *key, const void *buf,
                    size_t len) {
        if (rs_kafka_produce(pr->producer, pr->topic, key,
                             key ? strlen(key) : 0, buf, len, NULL, pr->errstr,
                             sizeof(pr->errstr)) == -1) {
                rs_log_error("%s", pr->errstr);
                return -1;
        }
        return 0;
}

/*
 * One bad message of \p kind, built from \p ev (a good event of the second
 * generator) at event time \p ts_ms.
 */
static int send_bad(produce_t *pr, bad_kind_t kind, event_t *ev,
                    int64_t ts_ms) {
        rs_rum_event_t        *rum = &ev->rum;
        rs_error_event_t      *err = &ev->err;
        rs_synthetic_result_t *syn = &ev->syn;
        const void            *buf;
        size_t                 len, i;
        int32_t                id;

        rum->timestamp_ms = err->timestamp_ms = syn->timestamp_ms = ts_ms;
        switch (kind) {
        case BAD_GARBAGE:
                len = 1 + splitmix64(&pr->rng) % 48;
                for (i = 0; i < len; i++)
                        pr->bad[i] = (unsigned char)splitmix64(&pr->rng);
                return send_msg(pr, event_tenant(pr, ev), pr->bad, len);
        case BAD_LCP_3H:
                rum->metrics[RS_METRIC_LCP] = syn->lcp = 3 * 3600 * 1000.0;
                break;
        case BAD_NEGATIVE_INP:
                rum->metrics[RS_METRIC_INP] = -120;
                break;
        case BAD_NEGATIVE_DUR:
                err->duration_ms = syn->ttfb = -120;
                break;
        case BAD_EMPTY_TENANT:
                rum->tenant_id = err->tenant_id = syn->tenant_id = "";
                break;
        case BAD_ZERO_SAMPLE:
                rum->sample_rate = err->sample_rate = 0;
                break;
        case BAD_FUTURE:
                /* The message's own timestamp is the producer's clock. */
                rum->timestamp_ms = err->timestamp_ms = syn->timestamp_ms =
                    rumctl_now_ms() + 3600 * 1000;
                break;
        default:
                break;
        }

        if (encode(pr, ev, &buf, &len) == -1)
                return -1;
        if (len > sizeof(pr->bad)) {
                rs_log_error("encoded event of %zu bytes is too large", len);
                return -1;
        }
        memcpy(pr->bad, buf, len);

        switch (kind) {
        case BAD_MAGIC:
                pr->bad[0] = 1;
                break;
        case BAD_SCHEMA_ID:
        case BAD_WRONG_SCHEMA:
                id         = kind == BAD_SCHEMA_ID ? UNKNOWN_SCHEMA_ID
                                                   : RS_SCHEMA_ID_RUM_EVENT;
                pr->bad[1] = (unsigned char)((uint32_t)id >> 24);
                pr->bad[2] = (unsigned char)((uint32_t)id >> 16);
                pr->bad[3] = (unsigned char)((uint32_t)id >> 8);
                pr->bad[4] = (unsigned char)id;
                break;
        case BAD_TRUNCATED:
                len = RS_AVRO_HEADER_SIZE + (len - RS_AVRO_HEADER_SIZE) / 2;
                break;
        default:
                break;
        }
        return send_msg(pr, event_tenant(pr, ev), pr->bad, len);
}


/* A broker whose retention already dropped the start of a partition (the
 * embedded cluster keeps about 5 MiB of each) would silently hand its
 * consumers less than was produced: say so. */
static void warn_dropped(rd_kafka_t *rk, const char *topic) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        int64_t           lo, hi, dropped = 0;
        int               i, parts = 0;

        if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == 0 &&
            md->topic_cnt == 1 && !md->topics[0].err) {
                for (i = 0; i < md->topics[0].partition_cnt; i++)
                        if (rd_kafka_query_watermark_offsets(
                                rk, topic, md->topics[0].partitions[i].id, &lo,
                                &hi, 10000) == 0 &&
                            lo > 0) {
                                dropped += lo;
                                parts++;
                        }
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        if (dropped > 0)
                rs_log_warn("the broker no longer holds the first %" PRId64
                            " message(s) of %d partition(s) of %s (retention; "
                            "the embedded cluster keeps about 5 MiB per "
                            "partition): consumers will not see them",
                            dropped, parts, topic);
}

int rumctl_produce(int argc, char **argv) {
        static const struct option longopts[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"topic", required_argument, NULL, 't'},
            {"count", required_argument, NULL, 'n'},
            {"rate", required_argument, NULL, 'r'},
            {"seed", required_argument, NULL, 's'},
            {"tenants", required_argument, NULL, 'T'},
            {"routes", required_argument, NULL, 'R'},
            {"start-ms", required_argument, NULL, 'S'},
            {"event-rate", required_argument, NULL, 'e'},
            {"disorder-ms", required_argument, NULL, 'd'},
            {"regression", required_argument, NULL, 'g'},
            {"errors", no_argument, NULL, 'E'},
            {"burst", required_argument, NULL, 'u'},
            {"new-group", required_argument, NULL, 'w'},
            {"bad", required_argument, NULL, 'B'},
            {"synthetic", no_argument, NULL, 'Y'},
            {"field-only", no_argument, NULL, 'F'},
            {"failing", required_argument, NULL, 'f'},
            {"interval-min", required_argument, NULL, 'i'},
            {"failure-rate", required_argument, NULL, 'p'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        rs_traffic_conf_t           tc;
        rs_error_traffic_conf_t     ec;
        rs_synthetic_traffic_conf_t sc;
        rs_traffic_t               *gen = NULL, *bad_gen = NULL;
        rs_error_traffic_t         *egen = NULL, *bad_egen = NULL;
        rs_synthetic_traffic_t     *sgen = NULL, *bad_sgen = NULL;
        rs_avro_registry_t         *reg = NULL;
        produce_t                   pr;
        event_t                     ev;
        const char                 *brokers = getenv("RUMSTREAM_KAFKA_BROKERS");
        const char                 *topic   = NULL;
        char                       *regression = NULL, *burst = NULL;
        char                       *new_group = NULL, *failing = NULL;
        int64_t count = 10000, bad = 0, start_ms = 0, seed = 1;
        int64_t tenants = 5, routes = 12, disorder = 2000;
        int64_t produced = 0, bad_done = 0, total, i, next_bad;
        int64_t first_ts = INT64_MAX, last_ts = INT64_MIN, prev_ts;
        double  rate = 0, event_rate = 0, from_minute = 0, to_minute = 0;
        double  t0, elapsed;
        double  burst_minutes[2] = {0, 0}, new_minute = 0;
        double  failing_minute = 0, interval_min = 5, failure_rate = 0.02;
        int     c, have_start = 0, have_event_rate = 0, ret = RUMCTL_EXIT_FAIL;
        int     field_only = 0, syn_opts = 0;

        memset(&pr, 0, sizeof(pr));
        rs_traffic_conf_defaults(&tc);
        rs_error_traffic_conf_defaults(&ec);
        rs_synthetic_traffic_conf_defaults(&sc);

        while ((c = getopt_long(argc, argv,
                                ":b:t:n:r:s:T:R:S:e:d:g:Eu:w:B:YFf:i:p:h",
                                longopts, NULL)) != -1) {
                int rc = 0;

                switch (c) {
                case 'b':
                        brokers = optarg;
                        break;
                case 't':
                        topic = optarg;
                        break;
                case 'n':
                        rc = rumctl_parse_i64(CMD, "--count", optarg, 0,
                                              INT64_MAX / 2, &count);
                        break;
                case 'r':
                        rc = rumctl_parse_double(CMD, "--rate", optarg, 0, 1e9,
                                                 &rate);
                        break;
                case 's':
                        rc = rumctl_parse_i64(CMD, "--seed", optarg, 0,
                                              INT64_MAX, &seed);
                        break;
                case 'T':
                        rc = rumctl_parse_i64(CMD, "--tenants", optarg, 1,
                                              100000, &tenants);
                        break;
                case 'R':
                        rc = rumctl_parse_i64(CMD, "--routes", optarg, 1, 10000,
                                              &routes);
                        break;
                case 'S':
                        rc = rumctl_parse_i64(CMD, "--start-ms", optarg, 0,
                                              INT64_MAX / 2, &start_ms);
                        have_start = 1;
                        break;
                case 'e':
                        rc = rumctl_parse_double(CMD, "--event-rate", optarg,
                                                 1e-3, 1e9, &event_rate);
                        have_event_rate = 1;
                        break;
                case 'd':
                        rc = rumctl_parse_i64(CMD, "--disorder-ms", optarg, 0,
                                              INT32_MAX, &disorder);
                        break;
                case 'g':
                        regression = optarg;
                        break;
                case 'E':
                        pr.errors = 1;
                        break;
                case 'u':
                        burst = optarg;
                        break;
                case 'w':
                        new_group = optarg;
                        break;
                case 'B':
                        rc = rumctl_parse_i64(CMD, "--bad", optarg, 0,
                                              INT64_MAX / 2, &bad);
                        break;
                case 'Y':
                        pr.synthetic = 1;
                        break;
                case 'F':
                        field_only = 1;
                        syn_opts   = 1;
                        break;
                case 'f':
                        failing  = optarg;
                        syn_opts = 1;
                        break;
                case 'i':
                        rc = rumctl_parse_double(CMD, "--interval-min", optarg,
                                                 1.0 / 60, 7 * 24 * 60,
                                                 &interval_min);
                        syn_opts = 1;
                        break;
                case 'p':
                        rc = rumctl_parse_double(CMD, "--failure-rate", optarg,
                                                 0, 1, &failure_rate);
                        syn_opts = 1;
                        break;
                case 'h':
                        usage(stdout);
                        return RUMCTL_EXIT_OK;
                default:
                        return rumctl_bad_option(CMD, c, argv, usage);
                }
                if (rc == -1)
                        goto usage;
        }
        if (rumctl_no_more_args(CMD, argc, argv) == -1 ||
            rumctl_required(CMD, "--brokers", brokers,
                            "RUMSTREAM_KAFKA_BROKERS") == -1)
                goto usage;
        if (pr.errors && regression) {
                fprintf(stderr, "rumctl produce: --regression is for page "
                                "views, not --errors\n");
                goto usage;
        }
        if (!pr.errors && (burst || new_group)) {
                fprintf(stderr, "rumctl produce: --burst and --new-group "
                                "need --errors\n");
                goto usage;
        }
        if (pr.errors && pr.synthetic) {
                fprintf(stderr, "rumctl produce: --errors or --synthetic, "
                                "not both\n");
                goto usage;
        }
        if (!pr.synthetic && syn_opts) {
                fprintf(stderr, "rumctl produce: --field-only, --failing, "
                                "--interval-min and --failure-rate need "
                                "--synthetic\n");
                goto usage;
        }
        if (field_only && !regression) {
                fprintf(stderr, "rumctl produce: --field-only needs the "
                                "--regression the lab should not see\n");
                goto usage;
        }
        if ((regression && parse_regression(regression, &tc, &from_minute,
                                            &to_minute) == -1) ||
            (burst && parse_burst(burst, &ec, burst_minutes) == -1) ||
            (new_group && parse_new_group(new_group, &ec, &new_minute) == -1) ||
            (failing && parse_failing(failing, &sc, &failing_minute) == -1))
                goto usage;
        pr.topic             = topic          ? topic
                               : pr.synthetic ? "synthetic.events"
                               : pr.errors    ? "error.events"
                                              : "rum.events";
        sc.seed              = (uint64_t)seed;
        sc.tenants           = (int)tenants;
        sc.routes_per_tenant = (int)routes;
        sc.interval_ms       = (int64_t)(interval_min * 60000.0);
        sc.failure_rate      = failure_rate;
        sc.regression_tenant = tc.regression_tenant;
        sc.regression_route  = tc.regression_route;
        sc.regression_factor = tc.regression_factor;
        sc.field_only        = field_only;
        if (pr.synthetic && !have_start && !(rate > 0 && !have_event_rate)) {
                /* The span of --count results depends on how many checks
                 * the tenants run per interval. */
                rs_synthetic_traffic_t *probe =
                    rs_synthetic_traffic_new(&sc, pr.errstr, sizeof(pr.errstr));

                if (!probe) {
                        fprintf(stderr, "rumctl produce: %s\n", pr.errstr);
                        goto usage;
                }
                /* The same span as that many events at this rate. */
                have_event_rate = 1;
                event_rate = (double)rs_synthetic_traffic_check_count(probe) *
                             1000.0 / (double)sc.interval_ms;
                rs_synthetic_traffic_destroy(probe);
        }

        /* Live traffic: event time follows the wall clock. */
        if (!have_event_rate)
                event_rate = rate > 0 ? rate : DEFAULT_EVENT_RATE;
        if (!have_start) {
                int64_t now = rumctl_now_ms();

                if (rate > 0 && !have_event_rate)
                        start_ms = now;
                else
                        start_ms = (now - (int64_t)((double)count * 1000.0 /
                                                    event_rate)) /
                                   60000 * 60000;
        }

        if (pr.synthetic) {
                sc.start_ms = start_ms;
                sc.regression_from_ms =
                    start_ms + (int64_t)(from_minute * 60000.0);
                sc.regression_to_ms =
                    to_minute > 0 ? start_ms + (int64_t)(to_minute * 60000.0)
                                  : 0;
                sc.failing_from_ms =
                    start_ms + (int64_t)(failing_minute * 60000.0);
                sgen =
                    rs_synthetic_traffic_new(&sc, pr.errstr, sizeof(pr.errstr));
                if (!sgen) {
                        /* Most likely a --failing route the tenant does
                         * not test. */
                        fprintf(stderr, "rumctl produce: %s\n", pr.errstr);
                        goto usage;
                }
                sc.seed           = (uint64_t)seed ^ 0xbadbadbadULL;
                sc.failing_tenant = NULL;
                sc.failing_route  = NULL;
                bad_sgen =
                    rs_synthetic_traffic_new(&sc, pr.errstr, sizeof(pr.errstr));
        } else if (pr.errors) {
                ec.seed              = (uint64_t)seed;
                ec.tenants           = (int)tenants;
                ec.routes_per_tenant = (int)routes;
                ec.start_ms          = start_ms;
                ec.errors_per_sec    = event_rate;
                ec.max_disorder_ms   = disorder;
                ec.burst_from_ms =
                    start_ms + (int64_t)(burst_minutes[0] * 60000.0);
                ec.burst_to_ms =
                    start_ms + (int64_t)(burst_minutes[1] * 60000.0);
                ec.new_group_from_ms =
                    start_ms + (int64_t)(new_minute * 60000.0);
                egen = rs_error_traffic_new(&ec, pr.errstr, sizeof(pr.errstr));
                if (!egen) {
                        /* Most likely a tenant or route of --burst or
                         * --new-group that the generator does not have. */
                        fprintf(stderr, "rumctl produce: %s\n", pr.errstr);
                        goto usage;
                }
                ec.seed             = (uint64_t)seed ^ 0xbadbadbadULL;
                ec.burst_tenant     = NULL;
                ec.new_group_tenant = NULL;
                bad_egen =
                    rs_error_traffic_new(&ec, pr.errstr, sizeof(pr.errstr));
        } else {
                tc.seed              = (uint64_t)seed;
                tc.tenants           = (int)tenants;
                tc.routes_per_tenant = (int)routes;
                tc.start_ms          = start_ms;
                tc.events_per_sec    = event_rate;
                tc.max_disorder_ms   = disorder;
                tc.regression_from_ms =
                    start_ms + (int64_t)(from_minute * 60000.0);
                tc.regression_to_ms =
                    to_minute > 0 ? start_ms + (int64_t)(to_minute * 60000.0)
                                  : 0;
                gen                  = rs_traffic_new(&tc);
                tc.seed              = (uint64_t)seed ^ 0xbadbadbadULL;
                tc.regression_tenant = NULL;
                bad_gen              = rs_traffic_new(&tc);
        }
        if (pr.synthetic ? !bad_sgen
            : pr.errors  ? !bad_egen
                         : !gen || !bad_gen) {
                rs_log_error("cannot create the traffic generator");
                goto out;
        }
        pr.rng = (uint64_t)seed ^ 0x6761726261676555ULL;

        if (rs_event_check_schemas(pr.errstr, sizeof(pr.errstr)) == -1) {
                rs_log_error("schemas: %s", pr.errstr);
                goto out;
        }
        reg = rs_avro_registry_new(pr.errstr, sizeof(pr.errstr));
        if (!reg) {
                rs_log_error("%s", pr.errstr);
                goto out;
        }
        pr.enc =
            rs_avro_encoder_new(reg,
                                pr.synthetic ? RS_SCHEMA_ID_SYNTHETIC_RESULT
                                : pr.errors  ? RS_SCHEMA_ID_ERROR_EVENT
                                             : RS_SCHEMA_ID_RUM_EVENT,
                                pr.errstr, sizeof(pr.errstr));
        if (!pr.enc) {
                rs_log_error("%s", pr.errstr);
                goto out;
        }
        pr.producer =
            rs_kafka_producer_new(brokers, NULL, pr.errstr, sizeof(pr.errstr));
        if (!pr.producer) {
                rs_log_error("%s", pr.errstr);
                goto out;
        }

        rumctl_catch_signals();
        rs_log_info("producing %" PRId64 " %s and %" PRId64
                    " bad message(s) to %s, event time from %" PRId64
                    " at %g/s",
                    count,
                    pr.synthetic ? "synthetic result(s)"
                    : pr.errors  ? "error event(s)"
                                 : "page view(s)",
                    bad, pr.topic, start_ms, event_rate);

        /* Bad message j goes at index (2j + 1) * total / (2 bad): evenly
         * spread, none first or last. */
        total    = count + bad;
        next_bad = bad > 0 ? total / (2 * bad) : INT64_MAX;
        prev_ts  = start_ms;
        t0       = rumctl_mono_s();
        for (i = 0; i < total && !rumctl_stop; i++) {
                if (rate > 0) {
                        double due = t0 + (double)i / rate;
                        double now = rumctl_mono_s();

                        if (due > now)
                                rumctl_sleep_ms(
                                    (int64_t)ceil((due - now) * 1000.0));
                        if (rumctl_stop)
                                break;
                }

                if (i == next_bad && bad_done < bad) {
                        bad_kind_t kind =
                            (pr.synthetic ? synthetic_bad
                             : pr.errors
                                 ? error_bad
                                 : rum_bad)[bad_done % (int64_t)BAD_CYCLE];

                        if (pr.synthetic)
                                rs_synthetic_traffic_next(bad_sgen, &ev.syn);
                        else if (pr.errors)
                                rs_error_traffic_next(bad_egen, &ev.err);
                        else
                                rs_traffic_next(bad_gen, &ev.rum);
                        if (send_bad(&pr, kind, &ev, prev_ts) == -1)
                                goto out;
                        rs_log_debug("bad message %" PRId64 " (%s) at %" PRId64,
                                     bad_done, bad_names[kind], i);
                        bad_done++;
                        next_bad =
                            bad_done < bad
                                ? ((2 * bad_done + 1) * total) / (2 * bad)
                                : INT64_MAX;
                        if (next_bad <= i) /* bad > count: back to back */
                                next_bad = i + 1;
                        continue;
                }
                if (produced >= count) /* only bad ones left */
                        continue;

                {
                        const void *buf;
                        size_t      len;

                        if (pr.synthetic)
                                rs_synthetic_traffic_next(sgen, &ev.syn);
                        else if (pr.errors)
                                rs_error_traffic_next(egen, &ev.err);
                        else
                                rs_traffic_next(gen, &ev.rum);
                        if (encode(&pr, &ev, &buf, &len) == -1 ||
                            send_msg(&pr, event_tenant(&pr, &ev), buf, len) ==
                                -1)
                                goto out;
                }
                prev_ts = event_ts(&pr, &ev);
                if (prev_ts < first_ts)
                        first_ts = prev_ts;
                if (prev_ts > last_ts)
                        last_ts = prev_ts;
                produced++;
        }

        if (rs_kafka_producer_sync(pr.producer, SYNC_TIMEOUT_MS, pr.errstr,
                                   sizeof(pr.errstr)) == -1) {
                rs_log_error("not every message was delivered: %s", pr.errstr);
                goto out;
        }
        elapsed = rumctl_mono_s() - t0;
        warn_dropped(rs_kafka_producer_handle(pr.producer), pr.topic);

        printf("produced=%" PRId64 " bad=%" PRId64 " topic=%s elapsed_s=%.3f "
               "msg_per_s=%.0f event_time_ms=%" PRId64 "..%" PRId64 "\n",
               produced, bad_done, pr.topic, elapsed,
               elapsed > 0 ? (double)(produced + bad_done) / elapsed : 0.0,
               produced ? first_ts : start_ms, produced ? last_ts : start_ms);
        fflush(stdout);
        if (rumctl_stop)
                rs_log_warn("interrupted after %" PRId64 " of %" PRId64
                            " message(s)",
                            produced + bad_done, total);
        ret = RUMCTL_EXIT_OK;
out:
        rs_kafka_producer_destroy(pr.producer);
        rs_avro_encoder_destroy(pr.enc);
        rs_avro_registry_destroy(reg);
        rs_traffic_destroy(gen);
        rs_traffic_destroy(bad_gen);
        rs_error_traffic_destroy(egen);
        rs_error_traffic_destroy(bad_egen);
        rs_synthetic_traffic_destroy(sgen);
        rs_synthetic_traffic_destroy(bad_sgen);
        return ret;

usage:
        usage(stderr);
        return RUMCTL_EXIT_USAGE;
}
