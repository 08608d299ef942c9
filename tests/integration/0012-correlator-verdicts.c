/*
 * synthetic-correlator verdicts, coverage and issues on streams built to
 * have a known answer. Real-user aggregates (as the rum-aggregator writes
 * them, one per route, segment and minute, with sketches) and synthetic
 * runs (3 a minute per route, from 3 US regions, desktop/cable) for 30
 * minutes; buckets of 1 minute, a correlation window of 12 and a gap
 * history of 24. The level of a route moves as a sine of period 12
 * minutes, L(b) = 2000 (1 + 0.2 sin(2 pi b / 12)) ms:
 *   /corr       lab L, field L               aligned, tracks (rho > 0.9)
 *   /anti       lab 2 L(0) - L, field L      aligned, does not track
 *                                            (rho < -0.9, significant)
 *   /unrelated  lab L, field the cosine      does not track (p > 0.05)
 *   /slow       lab L, field 1.6 L           field_slower, tracks
 *   /labslow    lab 2 L, field L             lab_slower, tracks
 *   /gap        flat; the field x1.6 from minute 24 (lab flat):
 *               a lab_field_gap issue, cause field_only, per metric
 *   /early      flat; the lab x1.6 from minute 24 (field flat):
 *               a lab_field_gap issue, cause lab_first, per metric
 *   /fail       every run of minutes 10-14 fails: one synthetic_failure
 *               issue opened, updated and resolved by the next success
 * FCP, TTFB and CLS follow LCP scaled. A second tenant tests /corr on a
 * mobile profile: its keys stay apart. Coverage: page views are 30%
 * desktop, 64% mobile and 6% tablet, and the lab is desktop only.
 * Checked: verdicts and flags of every route's last evaluation, its lab
 * median (the exact median of the runs) and points, the issues with their
 * versions, the coverage rows, and rumctl correlate's report.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/kafka.h"
#include "rumstream/sketch.h"

#include "itest.h"
#include "pgtmp.h"
#include "rs_test.h"

#define PARTITIONS 4
#define MINUTES    30
#define T0         RS_IT_TRAFFIC_START_MS
#define MIN_MS     60000LL

enum {
        R_CORR,
        R_ANTI,
        R_UNREL,
        R_SLOW,
        R_LABSLOW,
        R_GAP,
        R_EARLY,
        R_FAIL,
        R_CNT
};
static const char *const routes[R_CNT] = {"/corr",  "/anti",    "/unrelated",
                                          "/slow",  "/labslow", "/gap",
                                          "/early", "/fail"};
static const char *const metrics[4]    = {"lcp", "fcp", "ttfb", "cls"};
static const double      scale[4]      = {1.0, 0.6, 0.2, 0.2 / 2000};

/* A small deterministic noise in [-1, 1]. */
static double noise(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ULL;
        x ^= x >> 33;
        return (double)(x >> 11) / (double)(1ULL << 52) - 1.0;
}

static double level(int b) {
        return 2000.0 * (1 + 0.2 * sin(2 * M_PI * b / 12.0));
}

/* The LCP level of the lab and of the field of route r in minute b. */
static double lab_level(int r, int b) {
        switch (r) {
        case R_ANTI:
                return 2 * level(0) - level(b);
        case R_LABSLOW:
                return 2 * level(b);
        case R_GAP:
                return 2000;
        case R_EARLY:
                return b >= 24 ? 3200 : 2000;
        default:
                return level(b);
        }
}

static double field_level(int r, int b) {
        switch (r) {
        case R_UNREL:
                return 2000.0 * (1 + 0.2 * cos(2 * M_PI * b / 12.0));
        case R_SLOW:
                return 1.6 * level(b);
        case R_GAP:
                return b >= 24 ? 3200 : 2000;
        case R_EARLY:
                return 2000;
        default:
                return level(b);
        }
}

static void produce_minute(rs_kafka_producer_t *p, const char *tenant, int b,
                           int mobile_lab) {
        static const char *const locs[3]   = {"us-east-1", "us-west-2",
                                              "us-east-2"};
        static const char *const conns[3]  = {"wifi", "4g", "3g"};
        static const double      cshare[3] = {0.5, 0.4, 0.1};
        static const char *const ctrs[2]   = {"US", "IN"};
        static const double      kshare[2] = {0.7, 0.3};
        int64_t                  ws        = T0 + b * MIN_MS;
        int                      r, m, i, l;

        for (r = 0; r < R_CNT; r++) {
                rs_metric_summary_t ms[4];
                unsigned char       skb[4][4096];
                rs_rum_aggregate_t  agg = {0};
                char                id[128];
                if (mobile_lab && r != R_CORR)
                        continue;
                memset(ms, 0, sizeof(ms));
                for (m = 0; m < 4; m++) {
                        rs_sketch_t *sk = rs_sketch_new(0.01);
                        double       f  = field_level(r, b) * scale[m];
                        for (i = 0; i < 40; i++)
                                rs_sketch_add(sk, f * (0.97 + 0.06 * i / 39.0),
                                              1.0);
                        ms[m].name    = metrics[m];
                        ms[m].unit    = m == 3 ? "score" : "ms";
                        ms[m].samples = 40;
                        ms[m].weight  = 40;
                        ms[m].mean    = f;
                        ms[m].p50     = f;
                        ms[m].p75     = f;
                        ms[m].p95     = f;
                        ms[m].p99     = f;
                        ms[m].sketch_len =
                            rs_sketch_serialize(sk, skb[m], sizeof(skb[m]));
                        ms[m].sketch = skb[m];
                        rs_sketch_destroy(sk);
                }
                snprintf(id, sizeof(id), "%s-%d-%d", tenant, r, b);
                agg.aggregate_id    = id;
                agg.tenant_id       = tenant;
                agg.route           = routes[r];
                agg.window_start_ms = ws;
                agg.window_end_ms   = ws + MIN_MS;
                /* The lab's device class carries the field sketches. */
                agg.segment_type  = "device";
                agg.segment_value = mobile_lab ? "mobile" : "desktop";
                agg.events        = 40;
                agg.page_views    = mobile_lab ? 64 : 30;
                agg.metrics       = ms;
                agg.metric_cnt    = 4;
                rs_it_produce_aggregate(p, "rum.aggregates", &agg);
                agg.metrics       = NULL;
                agg.metric_cnt    = 0;
                agg.segment_value = mobile_lab ? "desktop" : "mobile";
                agg.page_views    = mobile_lab ? 30 : 64;
                rs_it_produce_aggregate(p, "rum.aggregates", &agg);
                agg.segment_value = "tablet";
                agg.page_views    = 6;
                rs_it_produce_aggregate(p, "rum.aggregates", &agg);
                agg.segment_type = "connection";
                for (i = 0; i < 3; i++) {
                        agg.segment_value = conns[i];
                        agg.page_views    = 100 * cshare[i];
                        rs_it_produce_aggregate(p, "rum.aggregates", &agg);
                }
                agg.segment_type = "country";
                for (i = 0; i < 2; i++) {
                        agg.segment_value = ctrs[i];
                        agg.page_views    = 100 * kshare[i];
                        rs_it_produce_aggregate(p, "rum.aggregates", &agg);
                }
                /* The synthetic runs of the minute. */
                for (l = 0; l < 3; l++) {
                        rs_synthetic_result_t res = {0};
                        char                  run[128], test[64], url[128];
                        double                lab =
                            lab_level(r, b) *
                            (1 +
                             0.005 * noise((uint64_t)(b * 1000 + r * 10 + l)));
                        snprintf(run, sizeof(run), "%s-run-%d-%d-%d", tenant, r,
                                 b, l);
                        snprintf(test, sizeof(test), "%s-t%02d", tenant, r);
                        snprintf(url, sizeof(url), "https://%s.example%s",
                                 tenant, routes[r]);
                        res.run_id          = run;
                        res.tenant_id       = tenant;
                        res.test_id         = test;
                        res.route           = routes[r];
                        res.url             = url;
                        res.timestamp_ms    = ws + 10000 * (l + 1);
                        res.location        = locs[l];
                        res.device_profile  = mobile_lab ? "mobile" : "desktop";
                        res.network_profile = mobile_lab ? "4g" : "cable";
                        res.success   = !(r == R_FAIL && b >= 10 && b <= 14);
                        res.error     = res.success
                                            ? NULL
                                            : "HTTP 500 Internal Server Error on "
                                              "the main document";
                        res.lcp       = res.success ? lab * scale[0] : NAN;
                        res.fcp       = res.success ? lab * scale[1] : NAN;
                        res.ttfb      = res.success ? lab * scale[2] : NAN;
                        res.cls       = res.success ? lab * scale[3] : NAN;
                        res.tbt       = res.success ? 150 : NAN;
                        res.load_time = res.success ? lab * 1.3 : NAN;
                        rs_it_produce_synthetic(p, "synthetic.events", &res);
                }
        }
}

static int cmp_dbl(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* The median of the lab LCPs of route r over the 12 minutes before
 * minute \p end, as the runs carry them. */
static double lab_median(int r, int end) {
        double v[36];
        int    n = 0, b, l;

        for (b = end - 12; b < end; b++)
                for (l = 0; l < 3; l++)
                        v[n++] =
                            lab_level(r, b) *
                            (1 +
                             0.005 * noise((uint64_t)(b * 1000 + r * 10 + l)));
        qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
        return (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *row(const char *dsn, const char *sql) {
        static char buf[4][1024];
        static int  k;
        char       *out = buf[k++ % 4];
        char        cmd[2048];
        FILE       *f;
        size_t      n;

        snprintf(cmd, sizeof(cmd), "psql -X -A -t -F '|' '%s' -c \"%s\"", dsn,
                 sql);
        if (!(f = popen(cmd, "r")))
                rs_it_die("psql");
        n      = fread(out, 1, sizeof(buf[0]) - 1, f);
        out[n] = '\0';
        pclose(f);
        while (n && (out[n - 1] == '\n'))
                out[--n] = '\0';
        return out;
}

int main(void) {
        rs_test_pg_t        *pg;
        rs_kafka_mock_t     *mock;
        rs_kafka_producer_t *prod;
        char                 err[512], q[1024], cmd[2048];
        const char          *brokers, *dsn;
        const char          *extra[] = {
                     "window.idle_close_ms=0", "correlation.bucket_ms=60000",
                     "correlation.window_ms=720000", "gap.history_ms=1440000", NULL};
        const char *last = "evaluated_at = '2025-11-20 00:30:00+00'";
        int         b, r, status;
        double      got;
        FILE       *f;
        long        hits;

        rs_it_clean_logs("0012");
        if (!(pg = rs_test_pg_start(err, sizeof(err))))
                rs_it_die("postgres: %s", err);
        dsn = rs_test_pg_dsn(pg);
        if (!(mock = rs_kafka_mock_new(1, err, sizeof(err))))
                rs_it_die("kafka: %s", err);
        brokers = rs_kafka_mock_bootstraps(mock);
        if (rs_kafka_mock_topic(mock, "synthetic.events", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "rum.aggregates", PARTITIONS, err,
                                sizeof(err)) ||
            rs_kafka_mock_topic(mock, "issues", PARTITIONS, err, sizeof(err)))
                rs_it_die("%s", err);
        if (!(prod = rs_kafka_producer_new(brokers, NULL, err, sizeof(err))))
                rs_it_die("producer: %s", err);
        for (b = 0; b < MINUTES; b++) {
                produce_minute(prod, "acme-shop", b, 0);
                produce_minute(prod, "globex-news", b, 1);
        }
        /* Bad input, each with its reason on the dead-letter topic: bytes
         * that are no Avro, an unknown tenant id shape, an absurd LCP
         * (the lab value of a 3-hour page), and a run of minute 0 after
         * minute 29 was seen (its bucket is closed). The secret in the URL
         * must not reach any table. */
        rs_it_produce_raw(prod, "synthetic.events", "acme-shop", "\x00\x00", 2);
        {
                rs_synthetic_result_t bad = {0};
                bad.run_id                = "bad-1";
                bad.tenant_id             = "acme shop!";
                bad.test_id               = "acme-shop-t00";
                bad.route                 = "/corr";
                bad.url                   = "https://acme-shop.example/corr";
                bad.timestamp_ms          = T0 + 29 * MIN_MS + 50000;
                bad.location              = "us-east-1";
                bad.device_profile        = "desktop";
                bad.network_profile       = "cable";
                bad.success               = 1;
                bad.lcp = bad.fcp = bad.ttfb = 100;
                bad.cls = bad.tbt = bad.load_time = 0;
                rs_it_produce_synthetic(prod, "synthetic.events", &bad);
                bad.tenant_id = "acme-shop";
                bad.run_id    = "bad-2";
                bad.lcp       = 3 * 3600 * 1000.0;
                rs_it_produce_synthetic(prod, "synthetic.events", &bad);
                bad.run_id       = "bad-3";
                bad.lcp          = 100;
                bad.timestamp_ms = T0 + 5000;
                bad.url = "https://acme-shop.example/corr?token=s3cr3t-t0k3n";
                rs_it_produce_synthetic(prod, "synthetic.events", &bad);
        }
        if (rs_kafka_producer_sync(prod, 60000, err, sizeof(err)) == -1)
                rs_it_die("produce: %s", err);

        status = rs_it_wait_exit(
            rs_it_start_processor("synthetic-correlator", brokers, dsn, "cor",
                                  1, extra, "0012-correlator.log"),
            600 * 1000);
        RS_CHECK_INT(status, 0);

        /* Every run stored; one evaluation per key, metric and minute from
         * the first bucket's end. */
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM synthetic_tests"),
                     (R_CNT + 1) * MINUTES * 3);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                      "rum_synthetic_correlations"),
                     (R_CNT + 1) * 4 * MINUTES);

        /* Verdicts at the last evaluation, for every metric. */
        {
                static const struct {
                        int         r;
                        const char *verdict;
                        int         correlated;
                        int         rho_sign; /* +1 > 0.9, -1 < -0.9, 0 */
                } want[] = {
                    {R_CORR, "aligned", 1, 1},
                    {R_ANTI, "aligned", 0, -1},
                    {R_UNREL, "aligned", 0, 0},
                    {R_SLOW, "field_slower", 1, 1},
                    {R_LABSLOW, "lab_slower", 1, 1},
                };
                size_t i;
                int    m;
                for (i = 0; i < sizeof(want) / sizeof(*want); i++) {
                        for (m = 0; m < 4; m++) {
                                const char *v;
                                double      rho, p;
                                int         points, runs, corr;
                                char        verdict[64];
                                snprintf(q, sizeof(q),
                                         "SELECT points, lab_runs, "
                                         "spearman_rho, spearman_p, verdict, "
                                         "correlated::int FROM "
                                         "rum_synthetic_correlations WHERE "
                                         "tenant_id = 'acme-shop' AND route "
                                         "= '%s' AND device = 'desktop' AND "
                                         "metric = '%s' AND %s",
                                         routes[want[i].r], metrics[m], last);
                                v = row(dsn, q);
                                RS_CHECK_MSG(sscanf(v,
                                                    "%d|%d|%lf|%lf|%63[^|]|%d",
                                                    &points, &runs, &rho, &p,
                                                    verdict, &corr) == 6,
                                             "%s %s: '%s'", routes[want[i].r],
                                             metrics[m], v);
                                printf("%-10s %-4s points %d runs %d rho "
                                       "%+.3f p %.3g %s %s\n",
                                       routes[want[i].r], metrics[m], points,
                                       runs, rho, p, verdict,
                                       corr ? "tracks" : "does not track");
                                RS_CHECK_INT(points, 12);
                                RS_CHECK_INT(runs, 36);
                                RS_CHECK_STR(verdict, want[i].verdict);
                                RS_CHECK_INT(corr, want[i].correlated);
                                if (want[i].rho_sign > 0)
                                        RS_CHECK_MSG(rho > 0.9 && p < 0.001,
                                                     "rho %g p %g", rho, p);
                                else if (want[i].rho_sign < 0)
                                        RS_CHECK_MSG(rho < -0.9 && p < 0.001,
                                                     "rho %g p %g", rho, p);
                                else
                                        RS_CHECK_MSG(fabs(rho) < 0.5 &&
                                                         p > 0.05,
                                                     "rho %g p %g", rho, p);
                        }
                }
        }
        /* The lab level is the median of every run of the window. */
        for (r = 0; r < R_CNT; r++) {
                if (r == R_FAIL)
                        continue;
                snprintf(q, sizeof(q),
                         "SELECT lab_median FROM rum_synthetic_correlations "
                         "WHERE tenant_id = 'acme-shop' AND route = '%s' AND "
                         "metric = 'lcp' AND %s",
                         routes[r], last);
                got = strtod(row(dsn, q), NULL);
                RS_CHECK_REL(got, lab_median(r, MINUTES), 1e-12);
        }
        /* The other tenant's mobile test stays its own. */
        RS_CHECK_STR(row(dsn, "SELECT string_agg(DISTINCT route || ' ' || "
                              "device || ' ' || verdict || ' ' || "
                              "correlated::text, ',') FROM "
                              "rum_synthetic_correlations WHERE tenant_id = "
                              "'globex-news' AND evaluated_at = "
                              "'2025-11-20 00:30:00+00'"),
                     "/corr mobile aligned true");

        /* Lab-field gap issues: field_only on /gap, lab_first on /early,
         * one per metric, nothing elsewhere. */
        RS_CHECK_STR(row(dsn, "SELECT string_agg(route || ' ' || metric || "
                              "' ' || severity || ' ' || (evidence->>'cause') "
                              "|| ' ' || to_char(opened_at AT TIME ZONE "
                              "'UTC', 'HH24:MI'), ',' ORDER BY route, "
                              "metric) FROM issues WHERE kind = "
                              "'lab_field_gap'"),
                     "/early cls medium lab_first 00:26,"
                     "/early fcp medium lab_first 00:26,"
                     "/early lcp medium lab_first 00:26,"
                     "/early ttfb medium lab_first 00:26,"
                     "/gap cls high field_only 00:26,"
                     "/gap fcp high field_only 00:26,"
                     "/gap lcp high field_only 00:26,"
                     "/gap ttfb high field_only 00:26");
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM issues WHERE kind "
                                      "= 'lab_field_gap' AND state = "
                                      "'updated' AND version = 5"),
                     8);
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                      "performance_baselines WHERE issue_id "
                                      "IS NOT NULL"),
                     8);

        /* The failing route: opened by the third failure in minute 10,
         * updated each failing minute, resolved by the first success. */
        RS_CHECK_STR(row(dsn, "SELECT string_agg(v.version || ' ' || v.state "
                              "|| ' ' || v.severity || ' ' || "
                              "to_char(v.updated_at AT TIME ZONE 'UTC', "
                              "'HH24:MI:SS'), ',' ORDER BY v.version) FROM "
                              "issues i JOIN issue_versions v USING "
                              "(issue_id) WHERE i.kind = "
                              "'synthetic_failure'"),
                     "1 open high 00:11:00,2 updated high 00:12:00,"
                     "3 updated critical 00:13:00,"
                     "4 updated critical 00:14:00,"
                     "5 updated critical 00:15:00,"
                     "6 resolved critical 00:15:10");
        RS_CHECK_STR(row(dsn, "SELECT route || ' ' || to_char(opened_at AT "
                              "TIME ZONE 'UTC', 'HH24:MI:SS') || ' ' || "
                              "observed FROM issues WHERE kind = "
                              "'synthetic_failure'"),
                     "/fail 00:10:10 15");

        /* Coverage: the lab is desktop-only in the US on cable. */
        RS_CHECK_STR(row(dsn, "SELECT string_agg(segment_type || ' ' || "
                              "segment_value || ' ' || round(share::numeric, "
                              "2) || ' ' || covered, ',' ORDER BY "
                              "segment_type, segment_value) FROM "
                              "synthetic_coverage WHERE tenant_id = "
                              "'acme-shop' AND evaluated_at = '2025-11-20 "
                              "00:30:00+00'"),
                     "connection 3g 0.10 false,connection 4g 0.40 false,"
                     "connection wifi 0.50 true,country IN 0.30 false,"
                     "country US 0.70 true,device desktop 0.30 true,"
                     "device mobile 0.64 false,device tablet 0.06 false");

        /* Dead letters. */
        {
                static const char *const want[] = {
                    "truncated", "invalid_tenant", "implausible_value", "late"};
                rs_it_msg_t *msgs;
                long   n = rs_it_read_topic(brokers, "synthetic.events.dlq",
                                            &msgs, 60000);
                size_t k;
                long   i;
                RS_CHECK_INT(n, 4);
                for (k = 0; k < 4; k++) {
                        int found = 0;
                        for (i = 0; i < n; i++)
                                found += !strcmp(msgs[i].reason, want[k]);
                        RS_CHECK_MSG(found == 1, "dead letters for %s: %d",
                                     want[k], found);
                }
                rs_it_msgs_free(msgs, n);
                /* Every issue version went to the topic too. */
                n = rs_it_read_topic(brokers, "issues", &msgs, 60000);
                RS_CHECK_INT(n, rs_it_pg_ll(dsn, "SELECT count(*) FROM "
                                                 "issue_versions"));
                rs_it_msgs_free(msgs, n);
        }
        RS_CHECK_INT(rs_it_pg_ll(dsn, "SELECT count(*) FROM synthetic_tests "
                                      "WHERE url LIKE '%s3cr3t%' OR run_id "
                                      "LIKE 'bad-%'"),
                     0);

        /* rumctl's report says it in words. */
        snprintf(cmd, sizeof(cmd),
                 "%s correlate --tenant-id acme-shop --dsn '%s' > "
                 "0012-report.txt 2>&1",
                 rs_it_bin("rumctl"), dsn);
        RS_CHECK_INT(system(cmd), 0);
        if ((f = fopen("0012-report.txt", "r"))) {
                char line[1024];
                while (fgets(line, sizeof(line), f))
                        fputs(line, stdout);
                fclose(f);
        }
        hits = rs_it_grep_count("0012-report.txt",
                                "mobile traffic is 64% of page views but no "
                                "synthetic profile is mobile");
        RS_CHECK(hits >= 1);
        RS_CHECK(rs_it_grep_count("0012-report.txt", "field_slower") >= 1);
        RS_CHECK(rs_it_grep_count("0012-report.txt", "lab_slower") >= 1);

        /* The same as JSON, parsed back by PostgreSQL (psql reads the
         * file itself: it is larger than a command-line argument). */
        if (!(f = fopen("0012-json.sql", "w")))
                rs_it_die("0012-json.sql");
        fprintf(f, "\\set j `cat 0012-report.json`\n"
                   "SELECT jsonb_array_length(:'j'::jsonb -> 'correlations') "
                   "|| ' ' || (SELECT count(*) FROM "
                   "jsonb_array_elements_text(:'j'::jsonb -> "
                   "'recommendations') r WHERE r LIKE 'mobile traffic is "
                   "64%%') || ' ' || (:'j'::jsonb #>> "
                   "'{coverage,device,uncovered_share}');\n");
        fclose(f);
        snprintf(cmd, sizeof(cmd),
                 "%s correlate --tenant-id acme-shop --json --detailed "
                 "--dsn '%s' > 0012-report.json 2>/dev/null && psql -X -A -t "
                 "'%s' -f 0012-json.sql > 0012-json.txt",
                 rs_it_bin("rumctl"), dsn, dsn);
        RS_CHECK_INT(system(cmd), 0);
        if ((f = fopen("0012-json.txt", "r"))) {
                char line[256] = "";
                if (!fgets(line, sizeof(line), f))
                        line[0] = '\0';
                fclose(f);
                line[strcspn(line, "\n")] = '\0';
                /* 8 routes x 4 metrics; mobile and tablet uncovered. */
                RS_CHECK_STR(line, "32 1 0.7");
        }

        rs_kafka_producer_destroy(prod);
        rs_kafka_mock_destroy(mock);
        rs_test_pg_stop(pg);
        return RS_TEST_DONE();
}
