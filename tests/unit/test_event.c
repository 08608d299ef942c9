/*
 * test_event: the field positions agree with the schemas, and RumEvent,
 * RumAggregate, SyntheticResult, ErrorEvent, Issue and ErrorAggregate
 * survive write -> encode -> decode -> read unchanged (within the
 * documented limits: 32 custom timings, 32 breadcrumbs and 16 evidence
 * entries kept, NaN = null, -1 = null for ints and longs).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rumstream/avro.h"
#include "rumstream/event.h"
#include "rumstream/traffic.h"
#include "rs_test.h"

#define CUSTOM_SENT 40

struct codec {
        rs_avro_registry_t *reg;
        rs_avro_encoder_t  *enc;
        rs_avro_decoder_t  *dec;
};

static int codec_init(struct codec *c, int32_t id) {
        char errstr[512];

        memset(c, 0, sizeof(*c));
        c->reg = rs_avro_registry_new(errstr, sizeof(errstr));
        RS_CHECK_MSG(c->reg != NULL, "%s", errstr);
        if (!c->reg)
                return -1;
        c->enc = rs_avro_encoder_new(c->reg, id, errstr, sizeof(errstr));
        c->dec = rs_avro_decoder_new(c->reg, id, errstr, sizeof(errstr));
        RS_CHECK(c->enc && c->dec);
        return c->enc && c->dec ? 0 : -1;
}

static void codec_destroy(struct codec *c) {
        rs_avro_encoder_destroy(c->enc);
        rs_avro_decoder_destroy(c->dec);
        rs_avro_registry_destroy(c->reg);
}

/* Encodes the encoder's value and decodes it again. */
static avro_value_t *round_trip(struct codec *c) {
        char          errstr[512];
        const void   *buf;
        avro_value_t *out = NULL;
        size_t        len;
        int           rc;

        rc = rs_avro_encoder_encode(c->enc, &buf, &len, errstr, sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        if (rc)
                return NULL;
        rc = rs_avro_decoder_decode(c->dec, buf, len, &out, errstr,
                                    sizeof(errstr));
        RS_CHECK_MSG(rc == 0, "%s", errstr);
        return rc ? NULL : out;
}

static void fill_event(rs_rum_event_t *ev, char names[][16]) {
        size_t i;

        memset(ev, 0, sizeof(*ev));
        ev->event_id        = "ev-0001";
        ev->tenant_id       = "tenant-a";
        ev->session_id      = "s-7f3a";
        ev->user_id         = "user-42";
        ev->timestamp_ms    = 1717171717171LL;
        ev->url             = "https://shop.example/product/123?ref=\xc3\xa9";
        ev->navigation_type = "navigate";
        ev->device_type     = "mobile";
        ev->country         = "DE";
        ev->connection_type = "4g";
        ev->browser         = "chrome";
        ev->consent         = 1;
        ev->sample_rate     = 0.25;
        for (i = 0; i < RS_METRIC_CNT; i++)
                ev->metrics[i] = 100.5 + (double)i;
        ev->metrics[RS_METRIC_INP]     = NAN;
        ev->metrics[RS_METRIC_CLS]     = 0.07;
        ev->metrics[RS_METRIC_NAV_TLS] = NAN;

        /* More than the reader keeps. The struct holds at most 32, so the
         * extra ones are written straight into the value by the caller. */
        for (i = 0; i < RS_EVENT_MAX_CUSTOM_TIMINGS; i++) {
                snprintf(names[i], 16, "t.%02zu", i);
                ev->custom[i].name  = names[i];
                ev->custom[i].value = 10.0 * (double)i + 0.5;
        }
        ev->custom_cnt = RS_EVENT_MAX_CUSTOM_TIMINGS;
}

static void check_same_event(const rs_rum_event_t *a, const rs_rum_event_t *b) {
        size_t i;

        RS_CHECK_STR(a->event_id, b->event_id);
        RS_CHECK_STR(a->tenant_id, b->tenant_id);
        RS_CHECK_STR(a->session_id, b->session_id);
        if (b->user_id)
                RS_CHECK_STR(a->user_id, b->user_id);
        else
                RS_CHECK(a->user_id == NULL);
        RS_CHECK_INT(a->timestamp_ms, b->timestamp_ms);
        RS_CHECK_STR(a->url, b->url);
        RS_CHECK_STR(a->navigation_type, b->navigation_type);
        RS_CHECK_STR(a->device_type, b->device_type);
        RS_CHECK_STR(a->country, b->country);
        RS_CHECK_STR(a->connection_type, b->connection_type);
        RS_CHECK_STR(a->browser, b->browser);
        RS_CHECK_INT(a->consent, b->consent);
        RS_CHECK(a->sample_rate == b->sample_rate);
        for (i = 0; i < RS_METRIC_CNT; i++) {
                if (isnan(b->metrics[i]))
                        RS_CHECK_MSG(isnan(a->metrics[i]), "metric %zu", i);
                else
                        RS_CHECK_MSG(a->metrics[i] == b->metrics[i],
                                     "metric %zu: %g, expected %g", i,
                                     a->metrics[i], b->metrics[i]);
        }
}

static void test_rum_event(void) {
        char names[RS_EVENT_MAX_CUSTOM_TIMINGS][16], extra[16], errstr[512];
        rs_rum_event_t ev, got;
        struct codec   c;
        avro_value_t  *in, *out, f, b, child;
        size_t         i;
        int            disc;

        if (codec_init(&c, RS_SCHEMA_ID_RUM_EVENT) == -1)
                goto out;

        /* All fields, some vitals and one phase absent, 40 timings. */
        fill_event(&ev, names);
        in = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_rum_event_write(in, &ev) == 0);
        avro_value_get_by_name(in, "custom_timings", &f, NULL);
        avro_value_get_current_branch(&f, &b);
        for (i = RS_EVENT_MAX_CUSTOM_TIMINGS; i < CUSTOM_SENT; i++) {
                snprintf(extra, sizeof(extra), "t.%02zu", i);
                avro_value_add(&b, extra, &child, NULL, NULL);
                avro_value_set_double(&child, 10.0 * (double)i + 0.5);
        }
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK_MSG(
                    rs_rum_event_read(out, &got, errstr, sizeof(errstr)) == 0,
                    "%s", errstr);
                check_same_event(&got, &ev);
                RS_CHECK_INT(got.custom_cnt, RS_EVENT_MAX_CUSTOM_TIMINGS);
                RS_CHECK_INT(got.custom_dropped,
                             CUSTOM_SENT - RS_EVENT_MAX_CUSTOM_TIMINGS);
                for (i = 0; i < got.custom_cnt; i++) {
                        RS_CHECK_STR(got.custom[i].name, names[i]);
                        RS_CHECK(got.custom[i].value == 10.0 * (double)i + 0.5);
                }
        }

        /* No user id, no navigation timing, no custom timings; the value
         * is reused, so this also shows that nothing of the first event
         * is left over. */
        fill_event(&ev, names);
        ev.user_id = NULL;
        for (i = RS_METRIC_NAV_DNS; i <= RS_METRIC_NAV_LOAD; i++)
                ev.metrics[i] = NAN;
        ev.metrics[RS_METRIC_LCP] = NAN;
        ev.custom_cnt             = 0;
        ev.consent                = 0;
        ev.country                = "";
        in                        = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_rum_event_write(in, &ev) == 0);
        /* all phases absent: no record at all */
        avro_value_get_by_name(in, "navigation_timing", &f, NULL);
        RS_CHECK(avro_value_get_discriminant(&f, &disc) == 0 && disc == 0);
        out = round_trip(&c);
        if (out) {
                RS_CHECK(rs_rum_event_read(out, &got, errstr, sizeof(errstr)) ==
                         0);
                check_same_event(&got, &ev);
                RS_CHECK(got.user_id == NULL);
                RS_CHECK_STR(got.country, "");
                RS_CHECK_INT(got.custom_cnt, 0);
                RS_CHECK_INT(got.custom_dropped, 0);
        }

        /* A single phase present still carries the record. */
        ev.metrics[RS_METRIC_NAV_LOAD] = 0;
        in                             = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_rum_event_write(in, &ev) == 0);
        out = round_trip(&c);
        if (out) {
                RS_CHECK(rs_rum_event_read(out, &got, errstr, sizeof(errstr)) ==
                         0);
                RS_CHECK(got.metrics[RS_METRIC_NAV_LOAD] == 0);
                RS_CHECK(isnan(got.metrics[RS_METRIC_NAV_DNS]));
        }

        /* Writing a value twice replaces the custom timings. */
        fill_event(&ev, names);
        in = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_rum_event_write(in, &ev) == 0);
        ev.custom_cnt = 2;
        RS_CHECK(rs_rum_event_write(in, &ev) == 0);
        out = round_trip(&c);
        if (out) {
                RS_CHECK(rs_rum_event_read(out, &got, errstr, sizeof(errstr)) ==
                         0);
                RS_CHECK_INT(got.custom_cnt, 2);
        }

        /* A required string missing is refused. */
        ev.url = NULL;
        RS_CHECK(rs_rum_event_write(rs_avro_encoder_value(c.enc), &ev) == -1);

out:
        codec_destroy(&c);
}

/* The direct RumEvent reader against the generic path: the same result,
 * or the same error code and text, whatever the bytes. */
static long direct_checked;

static void decode_both(struct codec *c, rs_rum_event_decoder_t *d,
                        const void *buf, size_t len) {
        char           e1[512] = "", e2[512] = "";
        rs_rum_event_t a, b;
        avro_value_t  *v;
        int            r1, r2;
        size_t         i;

        r1 = rs_rum_event_decode(d, buf, len, &a, e1, sizeof(e1));
        r2 = rs_avro_decoder_decode(c->dec, buf, len, &v, e2, sizeof(e2));
        if (r2 == 0 && rs_rum_event_read(v, &b, e2, sizeof(e2)) == -1)
                r2 = RS_EVENT_ERR_INVALID;
        RS_CHECK_INT(r1, r2);
        if (r1 != r2)
                return;
        direct_checked++;
        if (r1) {
                RS_CHECK_STR(e1, e2);
                return;
        }
        check_same_event(&a, &b);
        RS_CHECK_INT(a.custom_cnt, b.custom_cnt);
        RS_CHECK_INT(a.custom_dropped, b.custom_dropped);
        for (i = 0; i < a.custom_cnt && i < b.custom_cnt; i++) {
                RS_CHECK_STR(a.custom[i].name, b.custom[i].name);
                RS_CHECK(memcmp(&a.custom[i].value, &b.custom[i].value,
                                sizeof(double)) == 0);
        }
}

static const void *encode_event(struct codec *c, const rs_rum_event_t *ev,
                                size_t *lenp) {
        char        errstr[512];
        const void *buf = NULL;

        RS_CHECK(rs_rum_event_write(rs_avro_encoder_value(c->enc), ev) == 0);
        RS_CHECK_MSG(rs_avro_encoder_encode(c->enc, &buf, lenp, errstr,
                                            sizeof(errstr)) == 0,
                     "%s", errstr);
        return buf;
}

static void test_rum_event_direct(void) {
        char                    names[RS_EVENT_MAX_CUSTOM_TIMINGS][16];
        char                    errstr[512], extra[16];
        unsigned char           copy[4096];
        rs_rum_event_t          ev;
        rs_rum_event_decoder_t *d;
        rs_traffic_conf_t       tc;
        rs_traffic_t           *t;
        struct codec            c;
        avro_value_t           *in, f, b, child;
        const void             *buf;
        uint64_t                direct, generic, d0, g0;
        uint64_t                rnd = 0x9e3779b97f4a7c15ULL;
        size_t                  len, i, k;

        if (codec_init(&c, RS_SCHEMA_ID_RUM_EVENT) == -1)
                goto out;
        d = rs_rum_event_decoder_new(c.reg, errstr, sizeof(errstr));
        RS_CHECK_MSG(d != NULL, "%s", errstr);
        if (!d)
                goto out;

        /* Generated page views: every one read directly, as generic. */
        rs_traffic_conf_defaults(&tc);
        tc.tenants = 5;
        t          = rs_traffic_new(&tc);
        RS_CHECK(t != NULL);
        for (i = 0; t && i < 3000; i++) {
                rs_traffic_next(t, &ev);
                if (i % 7 == 0)
                        ev.user_id = NULL;
                buf = encode_event(&c, &ev, &len);
                if (buf)
                        decode_both(&c, d, buf, len);
        }
        rs_traffic_destroy(t);
        rs_rum_event_decoder_counts(d, &direct, &generic);
        RS_CHECK_INT(direct, 3000);
        RS_CHECK_INT(generic, 0);

        /* 32 timings: direct; 40: the generic path counts what it drops. */
        fill_event(&ev, names);
        buf = encode_event(&c, &ev, &len);
        decode_both(&c, d, buf, len);
        in = rs_avro_encoder_value(c.enc); /* a fresh value each call */
        RS_CHECK(rs_rum_event_write(in, &ev) == 0);
        avro_value_get_by_name(in, "custom_timings", &f, NULL);
        avro_value_get_current_branch(&f, &b);
        for (i = RS_EVENT_MAX_CUSTOM_TIMINGS; i < CUSTOM_SENT; i++) {
                snprintf(extra, sizeof(extra), "t.%02zu", i);
                avro_value_add(&b, extra, &child, NULL, NULL);
                avro_value_set_double(&child, (double)i);
        }
        RS_CHECK(rs_avro_encoder_encode(c.enc, &buf, &len, errstr,
                                        sizeof(errstr)) == 0);
        decode_both(&c, d, buf, len);
        rs_rum_event_decoder_counts(d, &direct, &generic);
        RS_CHECK_INT(direct, 3001);
        RS_CHECK_INT(generic, 1);

        /* Every truncation and random damage: the generic verdict. */
        fill_event(&ev, names);
        ev.custom_cnt = 3;
        buf           = encode_event(&c, &ev, &len);
        RS_CHECK(buf && len < sizeof(copy));
        if (!buf || len >= sizeof(copy))
                goto done;
        memcpy(copy, buf, len);
        rs_rum_event_decoder_counts(d, &d0, &g0);
        for (k = 0; k < len; k++)
                decode_both(&c, d, copy, k);
        for (i = 0; i < 20000; i++) {
                unsigned char dmg[4096];
                rnd ^= rnd << 13;
                rnd ^= rnd >> 7;
                rnd ^= rnd << 17;
                memcpy(dmg, copy, len);
                k      = RS_AVRO_HEADER_SIZE + (size_t)(rnd % (len - 5));
                dmg[k] = (unsigned char)(rnd >> 32);
                if (i % 2)
                        dmg[(k * 7 + 3) % len] ^= (unsigned char)(rnd >> 40);
                decode_both(&c, d, dmg, len);
        }
        rs_rum_event_decoder_counts(d, &direct, &generic);
        /* Some damage still makes a valid event (a letter for a letter):
         * read directly; the rest went to the generic path. */
        RS_CHECK(direct > d0 && generic > g0);
        printf("damaged: %llu read directly, %llu through the generic path\n",
               (unsigned long long)(direct - d0),
               (unsigned long long)(generic - g0));
done:
        rs_rum_event_decoder_destroy(d);
out:
        codec_destroy(&c);
}

static void test_rum_aggregate(void) {
        static const unsigned char sketch[5][12] = {
            {0x01, 0x00, 0x10, 0xff, 0x00},
            {0x01, 0x02},
            {0},
            {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7f,
             0x80},
            {0xde, 0xad, 0xbe, 0xef},
        };
        static const size_t sketch_len[5] = {5, 2, 0, 12, 4};
        static const char  *names[5]      = {"lcp", "inp", "cls", "nav.dns",
                                             "api.latency"};
        rs_metric_summary_t sums[5], got_sums[8];
        rs_rum_aggregate_t  agg, got;
        char                errstr[512];
        struct codec        c;
        avro_value_t       *out;
        size_t              i;

        if (codec_init(&c, RS_SCHEMA_ID_RUM_AGGREGATE) == -1)
                goto out;

        for (i = 0; i < 5; i++) {
                sums[i] = (rs_metric_summary_t){
                    .name              = names[i],
                    .unit              = i == 2 ? "score" : "ms",
                    .samples           = 100 + (int64_t)i,
                    .weight            = 400.0 + (double)i,
                    .mean              = 1.5 * (double)i,
                    .p50               = 2.5 * (double)i,
                    .p75               = 3.5 * (double)i,
                    .p95               = 4.5 * (double)i,
                    .p99               = 5.5 * (double)i,
                    .good              = i < 3 ? 300 : 0,
                    .needs_improvement = i < 3 ? 80 : 0,
                    .poor              = i < 3 ? 20 : 0,
                    .sketch            = i == 2 ? NULL : sketch[i],
                    .sketch_len        = sketch_len[i],
                };
        }
        agg = (rs_rum_aggregate_t){
            .aggregate_id    = "agg-9c1e",
            .tenant_id       = "tenant-a",
            .route           = "/product/:id",
            .segment_type    = "device",
            .segment_value   = "mobile",
            .window_start_ms = 1717171680000LL,
            .window_end_ms   = 1717171740000LL,
            .events          = 105,
            .page_views      = 420.5,
            .metrics         = sums,
            .metric_cnt      = 5,
        };

        RS_CHECK(rs_rum_aggregate_write(rs_avro_encoder_value(c.enc), &agg) ==
                 0);
        out = round_trip(&c);
        if (out) {
                RS_CHECK_MSG(rs_rum_aggregate_read(out, &got, got_sums, 8,
                                                   errstr, sizeof(errstr)) == 0,
                             "%s", errstr);
                RS_CHECK_STR(got.aggregate_id, agg.aggregate_id);
                RS_CHECK_STR(got.tenant_id, agg.tenant_id);
                RS_CHECK_STR(got.route, agg.route);
                RS_CHECK_STR(got.segment_type, agg.segment_type);
                RS_CHECK_STR(got.segment_value, agg.segment_value);
                RS_CHECK_INT(got.window_start_ms, agg.window_start_ms);
                RS_CHECK_INT(got.window_end_ms, agg.window_end_ms);
                RS_CHECK_INT(got.events, agg.events);
                RS_CHECK(got.page_views == agg.page_views);
                RS_CHECK(got.metrics == got_sums);
                RS_CHECK_INT(got.metric_cnt, 5);
                for (i = 0; i < got.metric_cnt && i < 5; i++) {
                        const rs_metric_summary_t *g = &got.metrics[i],
                                                  *w = &sums[i];
                        RS_CHECK_STR(g->name, w->name);
                        RS_CHECK_STR(g->unit, w->unit);
                        RS_CHECK_INT(g->samples, w->samples);
                        RS_CHECK(g->weight == w->weight);
                        RS_CHECK(g->mean == w->mean);
                        RS_CHECK(g->p50 == w->p50);
                        RS_CHECK(g->p75 == w->p75);
                        RS_CHECK(g->p95 == w->p95);
                        RS_CHECK(g->p99 == w->p99);
                        RS_CHECK(g->good == w->good);
                        RS_CHECK(g->needs_improvement == w->needs_improvement);
                        RS_CHECK(g->poor == w->poor);
                        RS_CHECK_INT(g->sketch_len, w->sketch_len);
                        RS_CHECK(g->sketch_len == 0 ||
                                 !memcmp(g->sketch, w->sketch, g->sketch_len));
                }

                /* Too little room is an error, not a silent cut. */
                errstr[0] = '\0';
                RS_CHECK(rs_rum_aggregate_read(out, &got, got_sums, 4, errstr,
                                               sizeof(errstr)) == -1);
                RS_CHECK_STR(errstr, "field metrics: 5 summaries, room for 4");

                /* A RumAggregate is not a RumEvent. */
                {
                        rs_rum_event_t ev;
                        errstr[0] = '\0';
                        RS_CHECK(rs_rum_event_read(out, &ev, errstr,
                                                   sizeof(errstr)) == -1);
                        RS_CHECK(errstr[0] != '\0');
                }
        }

        /* The direct encoder writes exactly the generic encoder's bytes,
         * with 5, 1 and 0 metrics. */
        {
                size_t cnts[] = {5, 1, 0}, k;
                for (k = 0; k < 3; k++) {
                        const void   *gen;
                        size_t        gen_len, need;
                        unsigned char direct[4096];
                        agg.metric_cnt = cnts[k];
                        RS_CHECK(rs_rum_aggregate_write(
                                     rs_avro_encoder_value(c.enc), &agg) == 0);
                        RS_CHECK(rs_avro_encoder_encode(c.enc, &gen, &gen_len,
                                                        errstr,
                                                        sizeof(errstr)) == 0);
                        need = rs_rum_aggregate_encode(
                            &agg, RS_SCHEMA_ID_RUM_AGGREGATE, direct,
                            sizeof(direct));
                        RS_CHECK_INT(need, gen_len);
                        RS_CHECK(need == gen_len &&
                                 !memcmp(direct, gen, gen_len));
                        /* Too small a buffer: the length, nothing past it. */
                        direct[10] = 0xa5;
                        RS_CHECK_INT(
                            rs_rum_aggregate_encode(
                                &agg, RS_SCHEMA_ID_RUM_AGGREGATE, direct, 10),
                            gen_len);
                        RS_CHECK(direct[10] == 0xa5);
                }
                agg.metric_cnt = 5;
        }

        /* Rewriting with fewer metrics replaces the array. */
        {
                avro_value_t *in = rs_avro_encoder_value(c.enc);
                RS_CHECK(rs_rum_aggregate_write(in, &agg) == 0);
                agg.metric_cnt = 2;
                RS_CHECK(rs_rum_aggregate_write(in, &agg) == 0);
                out = round_trip(&c);
                RS_CHECK(out &&
                         rs_rum_aggregate_read(out, &got, got_sums, 8, errstr,
                                               sizeof(errstr)) == 0 &&
                         got.metric_cnt == 2);
        }

out:
        codec_destroy(&c);
}

/* Strings equal, or both absent. */
static void check_opt_str(const char *what, const char *got, const char *want) {
        if (want)
                RS_CHECK_MSG(got && !strcmp(got, want),
                             "%s = \"%s\", expected \"%s\"", what,
                             got ? got : "(null)", want);
        else
                RS_CHECK_MSG(got == NULL, "%s = \"%s\", expected NULL", what,
                             got);
}

/* Equal, or both NAN (absent). */
static void check_opt_double(const char *what, double got, double want) {
        if (isnan(want))
                RS_CHECK_MSG(isnan(got), "%s = %g, expected NAN", what, got);
        else
                RS_CHECK_MSG(got == want, "%s = %.17g, expected %.17g", what,
                             got, want);
}

#define CRUMBS_SENT 40

static void fill_error_event(rs_error_event_t *ev, char msgs[][24]) {
        size_t i;

        memset(ev, 0, sizeof(*ev));
        ev->event_id     = "err-0001";
        ev->tenant_id    = "tenant-a";
        ev->session_id   = "s-7f3a";
        ev->user_id      = "user-42";
        ev->timestamp_ms = 1717171717171LL;
        ev->kind         = "js_error";
        ev->error_type   = "TypeError";
        ev->message      = "Cannot read properties of undefined (reading "
                           "'price') \xe2\x80\x94 \"quoted\"";
        ev->stack        = "TypeError: Cannot read properties of undefined\n"
                           "    at renderCartLine (https://shop.example/static/js/"
                           "cart.1a2b3c4d.js:1:48213)\n";
        ev->file         = "https://shop.example/static/js/cart.1a2b3c4d.js";
        ev->line         = 1;
        ev->column       = 48213;
        ev->http_status  = 503;
        ev->http_method  = "POST";
        ev->request_url  = "https://shop.example/api/cart/items?x=1";
        ev->duration_ms  = 1234.5;
        ev->url          = "https://shop.example/cart?ref=mail#top";
        ev->route        = "/cart";
        ev->browser      = "firefox";
        ev->device_type  = "desktop";
        ev->release      = "4.12.3";
        ev->consent      = 1;
        ev->sample_rate  = 0.25;
        for (i = 0; i < RS_EVENT_MAX_BREADCRUMBS; i++) {
                snprintf(msgs[i], 24, "crumb %02zu", i);
                ev->breadcrumbs[i].timestamp_ms =
                    ev->timestamp_ms - 1000 + (int64_t)i;
                ev->breadcrumbs[i].category = i % 2 ? "ui.click" : "xhr";
                ev->breadcrumbs[i].message  = msgs[i];
        }
        ev->breadcrumb_cnt = RS_EVENT_MAX_BREADCRUMBS;
}

static void check_same_error_event(const rs_error_event_t *a,
                                   const rs_error_event_t *b) {
        size_t i;

        RS_CHECK_STR(a->event_id, b->event_id);
        RS_CHECK_STR(a->tenant_id, b->tenant_id);
        RS_CHECK_STR(a->session_id, b->session_id);
        check_opt_str("user_id", a->user_id, b->user_id);
        RS_CHECK_INT(a->timestamp_ms, b->timestamp_ms);
        RS_CHECK_STR(a->kind, b->kind);
        RS_CHECK_STR(a->error_type, b->error_type);
        RS_CHECK_STR(a->message, b->message);
        check_opt_str("stack", a->stack, b->stack);
        check_opt_str("file", a->file, b->file);
        RS_CHECK_INT(a->line, b->line);
        RS_CHECK_INT(a->column, b->column);
        RS_CHECK_INT(a->http_status, b->http_status);
        check_opt_str("http_method", a->http_method, b->http_method);
        check_opt_str("request_url", a->request_url, b->request_url);
        check_opt_double("duration_ms", a->duration_ms, b->duration_ms);
        RS_CHECK_STR(a->url, b->url);
        check_opt_str("route", a->route, b->route);
        RS_CHECK_STR(a->browser, b->browser);
        RS_CHECK_STR(a->device_type, b->device_type);
        check_opt_str("release", a->release, b->release);
        RS_CHECK_INT(a->consent, b->consent);
        RS_CHECK(a->sample_rate == b->sample_rate);
        RS_CHECK_INT(a->breadcrumb_cnt, b->breadcrumb_cnt);
        for (i = 0; i < a->breadcrumb_cnt && i < b->breadcrumb_cnt; i++) {
                RS_CHECK_INT(a->breadcrumbs[i].timestamp_ms,
                             b->breadcrumbs[i].timestamp_ms);
                RS_CHECK_STR(a->breadcrumbs[i].category,
                             b->breadcrumbs[i].category);
                RS_CHECK_STR(a->breadcrumbs[i].message,
                             b->breadcrumbs[i].message);
        }
}

static void test_error_event(void) {
        char msgs[RS_EVENT_MAX_BREADCRUMBS][24], extra[24], errstr[512];
        rs_error_event_t ev, got;
        struct codec     c;
        avro_value_t    *in, *out, arr, item, f;
        size_t           i;

        if (codec_init(&c, RS_SCHEMA_ID_ERROR_EVENT) == -1)
                goto out;

        /* Every optional field present, more breadcrumbs than the reader
         * keeps: the extra ones go straight into the value. */
        fill_error_event(&ev, msgs);
        in = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_error_event_write(in, &ev) == 0);
        avro_value_get_by_name(in, "breadcrumbs", &arr, NULL);
        for (i = RS_EVENT_MAX_BREADCRUMBS; i < CRUMBS_SENT; i++) {
                snprintf(extra, sizeof(extra), "crumb %02zu", i);
                avro_value_append(&arr, &item, NULL);
                avro_value_get_by_name(&item, "timestamp", &f, NULL);
                avro_value_set_long(&f, (int64_t)i);
                avro_value_get_by_name(&item, "category", &f, NULL);
                avro_value_set_string(&f, "console");
                avro_value_get_by_name(&item, "message", &f, NULL);
                avro_value_set_string(&f, extra);
        }
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK_MSG(
                    rs_error_event_read(out, &got, errstr, sizeof(errstr)) == 0,
                    "%s", errstr);
                check_same_error_event(&got, &ev);
                RS_CHECK_INT(got.breadcrumbs_dropped,
                             CRUMBS_SENT - RS_EVENT_MAX_BREADCRUMBS);
        }

        /* Every optional field absent, no breadcrumbs; the value is
         * reused, so nothing of the first event may be left over. */
        ev.user_id        = NULL;
        ev.stack          = NULL;
        ev.file           = NULL;
        ev.line           = -1;
        ev.column         = -1;
        ev.http_status    = -1;
        ev.http_method    = NULL;
        ev.request_url    = NULL;
        ev.duration_ms    = NAN;
        ev.route          = NULL;
        ev.release        = NULL;
        ev.breadcrumb_cnt = 0;
        ev.consent        = 0;
        ev.message        = "";
        in                = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_error_event_write(in, &ev) == 0);
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK(rs_error_event_read(out, &got, errstr,
                                             sizeof(errstr)) == 0);
                check_same_error_event(&got, &ev);
                RS_CHECK(got.user_id == NULL && got.stack == NULL &&
                         got.file == NULL && got.http_method == NULL &&
                         got.request_url == NULL && got.route == NULL &&
                         got.release == NULL);
                RS_CHECK_INT(got.line, -1);
                RS_CHECK_INT(got.column, -1);
                RS_CHECK_INT(got.http_status, -1);
                RS_CHECK(isnan(got.duration_ms));
                RS_CHECK_INT(got.breadcrumb_cnt, 0);
                RS_CHECK_INT(got.breadcrumbs_dropped, 0);
        }

        /* Zero is a value, not absence ("Script error." is at line 0);
         * any negative number is absent. Rewriting a value with fewer
         * breadcrumbs replaces the array. */
        fill_error_event(&ev, msgs);
        ev.line        = 0;
        ev.column      = 0;
        ev.http_status = -7;
        ev.duration_ms = 0;
        in             = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_error_event_write(in, &ev) == 0);
        ev.breadcrumb_cnt = 3;
        RS_CHECK(rs_error_event_write(in, &ev) == 0);
        out = round_trip(&c);
        if (out) {
                RS_CHECK(rs_error_event_read(out, &got, errstr,
                                             sizeof(errstr)) == 0);
                RS_CHECK_INT(got.line, 0);
                RS_CHECK_INT(got.column, 0);
                RS_CHECK_INT(got.http_status, -1);
                RS_CHECK(got.duration_ms == 0);
                RS_CHECK_INT(got.breadcrumb_cnt, 3);
                RS_CHECK_STR(got.breadcrumbs[2].message, "crumb 02");

                /* An ErrorEvent is not a RumEvent. */
                {
                        rs_rum_event_t rum;
                        errstr[0] = '\0';
                        RS_CHECK(rs_rum_event_read(out, &rum, errstr,
                                                   sizeof(errstr)) == -1);
                        RS_CHECK(errstr[0] != '\0');
                }
        }

        /* A required string missing, or too many breadcrumbs, is refused.*/
        ev.kind = NULL;
        RS_CHECK(rs_error_event_write(rs_avro_encoder_value(c.enc), &ev) == -1);
        ev.kind           = "js_error";
        ev.breadcrumb_cnt = RS_EVENT_MAX_BREADCRUMBS + 1;
        RS_CHECK(rs_error_event_write(rs_avro_encoder_value(c.enc), &ev) == -1);
        ev.breadcrumb_cnt         = 1;
        ev.breadcrumbs[0].message = NULL;
        RS_CHECK(rs_error_event_write(rs_avro_encoder_value(c.enc), &ev) == -1);

out:
        codec_destroy(&c);
}

static void check_same_synthetic(const rs_synthetic_result_t *a,
                                 const rs_synthetic_result_t *b) {
        RS_CHECK_STR(a->run_id, b->run_id);
        RS_CHECK_STR(a->tenant_id, b->tenant_id);
        RS_CHECK_STR(a->test_id, b->test_id);
        RS_CHECK_STR(a->route, b->route);
        RS_CHECK_STR(a->url, b->url);
        RS_CHECK_INT(a->timestamp_ms, b->timestamp_ms);
        RS_CHECK_STR(a->location, b->location);
        RS_CHECK_STR(a->device_profile, b->device_profile);
        RS_CHECK_STR(a->network_profile, b->network_profile);
        RS_CHECK_INT(a->success, b->success);
        check_opt_str("error", a->error, b->error);
        check_opt_double("lcp", a->lcp, b->lcp);
        check_opt_double("fcp", a->fcp, b->fcp);
        check_opt_double("cls", a->cls, b->cls);
        check_opt_double("ttfb", a->ttfb, b->ttfb);
        check_opt_double("tbt", a->tbt, b->tbt);
        check_opt_double("load_time", a->load_time, b->load_time);
}

static void test_synthetic_result(void) {
        rs_synthetic_result_t r, got;
        char                  errstr[512];
        struct codec          c;
        avro_value_t         *out;

        if (codec_init(&c, RS_SCHEMA_ID_SYNTHETIC_RESULT) == -1)
                goto out;

        /* A failed run that still measured everything: every optional
         * field present. */
        r = (rs_synthetic_result_t){
            .run_id          = "run-5e1f",
            .tenant_id       = "tenant-a",
            .test_id         = "tenant-a-t05",
            .route           = "/products/:id",
            .url             = "https://shop.example/products/12345?q=\xc3\xa9",
            .timestamp_ms    = 1717171717171LL,
            .location        = "eu-west-1",
            .device_profile  = "mobile",
            .network_profile = "4g",
            .success         = 0,
            .error     = "Assertion failed: '#add-to-cart' is not visible",
            .lcp       = 2512.5,
            .fcp       = 1200.1,
            .cls       = 0.0,
            .ttfb      = 310.2,
            .tbt       = 0.0,
            .load_time = 3100.7,
        };
        RS_CHECK(rs_synthetic_result_write(rs_avro_encoder_value(c.enc), &r) ==
                 0);
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK_MSG(rs_synthetic_result_read(out, &got, errstr,
                                                      sizeof(errstr)) == 0,
                             "%s", errstr);
                check_same_synthetic(&got, &r);
        }

        /* A successful run with every optional field absent; the value is
         * reused, so nothing of the first run may be left over. */
        r.success   = 1;
        r.error     = NULL;
        r.lcp       = NAN;
        r.fcp       = NAN;
        r.cls       = NAN;
        r.ttfb      = NAN;
        r.tbt       = NAN;
        r.load_time = NAN;
        RS_CHECK(rs_synthetic_result_write(rs_avro_encoder_value(c.enc), &r) ==
                 0);
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK(rs_synthetic_result_read(out, &got, errstr,
                                                  sizeof(errstr)) == 0);
                check_same_synthetic(&got, &r);
                RS_CHECK(got.error == NULL);
                RS_CHECK(isnan(got.lcp) && isnan(got.fcp) && isnan(got.cls) &&
                         isnan(got.ttfb) && isnan(got.tbt) &&
                         isnan(got.load_time));

                /* A SyntheticResult is not an ErrorEvent. */
                {
                        rs_error_event_t ev;
                        errstr[0] = '\0';
                        RS_CHECK(rs_error_event_read(out, &ev, errstr,
                                                     sizeof(errstr)) == -1);
                        RS_CHECK(errstr[0] != '\0');
                }
        }

        /* Nor is a RumEvent a SyntheticResult. */
        {
                char           names[RS_EVENT_MAX_CUSTOM_TIMINGS][16];
                rs_rum_event_t ev;
                struct codec   rc;

                if (codec_init(&rc, RS_SCHEMA_ID_RUM_EVENT) == 0) {
                        fill_event(&ev, names);
                        RS_CHECK(rs_rum_event_write(
                                     rs_avro_encoder_value(rc.enc), &ev) == 0);
                        out       = round_trip(&rc);
                        errstr[0] = '\0';
                        RS_CHECK(out &&
                                 rs_synthetic_result_read(
                                     out, &got, errstr, sizeof(errstr)) == -1);
                        RS_CHECK(errstr[0] != '\0');
                }
                codec_destroy(&rc);
        }

        /* Each required string missing is refused. */
        r.location = NULL;
        RS_CHECK(rs_synthetic_result_write(rs_avro_encoder_value(c.enc), &r) ==
                 -1);
        r.location = "eu-west-1";
        r.run_id   = NULL;
        RS_CHECK(rs_synthetic_result_write(rs_avro_encoder_value(c.enc), &r) ==
                 -1);

out:
        codec_destroy(&c);
}

#define EVIDENCE_SENT 20

static void fill_issue(rs_issue_t *is, char keys[][16], char vals[][24]) {
        size_t i;

        memset(is, 0, sizeof(*is));
        is->issue_id       = "iss-5e1f";
        is->tenant_id      = "tenant-a";
        is->kind           = "error_spike";
        is->state          = "resolved";
        is->severity       = "high";
        is->title          = "TypeError in renderCartLine x20 on /cart";
        is->source         = "error-tracker";
        is->route          = "/cart";
        is->segment_type   = "device";
        is->segment_value  = "mobile";
        is->metric         = "error_rate";
        is->observed       = 0.0421;
        is->baseline       = 0.0019;
        is->threshold      = 0.01;
        is->sample_size    = 18234;
        is->opened_at_ms   = 1717171680000LL;
        is->updated_at_ms  = 1717171740000LL;
        is->resolved_at_ms = 1717172040000LL;
        is->version        = 3;
        for (i = 0; i < RS_EVENT_MAX_EVIDENCE; i++) {
                snprintf(keys[i], 16, "k%02zu", i);
                snprintf(vals[i], 24, "value \xc3\xa9 %zu", i);
                is->evidence[i].key   = keys[i];
                is->evidence[i].value = vals[i];
        }
        is->evidence_cnt = RS_EVENT_MAX_EVIDENCE;
}

static void check_same_issue(const rs_issue_t *a, const rs_issue_t *b) {
        size_t i;

        RS_CHECK_STR(a->issue_id, b->issue_id);
        RS_CHECK_STR(a->tenant_id, b->tenant_id);
        RS_CHECK_STR(a->kind, b->kind);
        RS_CHECK_STR(a->state, b->state);
        RS_CHECK_STR(a->severity, b->severity);
        RS_CHECK_STR(a->title, b->title);
        RS_CHECK_STR(a->source, b->source);
        check_opt_str("route", a->route, b->route);
        check_opt_str("segment_type", a->segment_type, b->segment_type);
        check_opt_str("segment_value", a->segment_value, b->segment_value);
        check_opt_str("metric", a->metric, b->metric);
        check_opt_double("observed", a->observed, b->observed);
        check_opt_double("baseline", a->baseline, b->baseline);
        check_opt_double("threshold", a->threshold, b->threshold);
        RS_CHECK_INT(a->sample_size, b->sample_size);
        RS_CHECK_INT(a->opened_at_ms, b->opened_at_ms);
        RS_CHECK_INT(a->updated_at_ms, b->updated_at_ms);
        RS_CHECK_INT(a->resolved_at_ms, b->resolved_at_ms);
        RS_CHECK_INT(a->version, b->version);
        RS_CHECK_INT(a->evidence_cnt, b->evidence_cnt);
        for (i = 0; i < a->evidence_cnt && i < b->evidence_cnt; i++) {
                RS_CHECK_STR(a->evidence[i].key, b->evidence[i].key);
                RS_CHECK_STR(a->evidence[i].value, b->evidence[i].value);
        }
}

static void test_issue(void) {
        char keys[RS_EVENT_MAX_EVIDENCE][16], vals[RS_EVENT_MAX_EVIDENCE][24];
        char extra[16], errstr[512];
        rs_issue_t    is, got;
        struct codec  c;
        avro_value_t *in, *out, map, val;
        size_t        i;

        if (codec_init(&c, RS_SCHEMA_ID_ISSUE) == -1)
                goto out;

        /* Everything present; more evidence than the reader keeps. */
        fill_issue(&is, keys, vals);
        in = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_issue_write(in, &is) == 0);
        avro_value_get_by_name(in, "evidence", &map, NULL);
        for (i = RS_EVENT_MAX_EVIDENCE; i < EVIDENCE_SENT; i++) {
                snprintf(extra, sizeof(extra), "k%02zu", i);
                avro_value_add(&map, extra, &val, NULL, NULL);
                avro_value_set_string(&val, "more");
        }
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK_MSG(rs_issue_read(out, &got, errstr, sizeof(errstr)) ==
                                 0,
                             "%s", errstr);
                check_same_issue(&got, &is);
                RS_CHECK_INT(got.evidence_dropped,
                             EVIDENCE_SENT - RS_EVENT_MAX_EVIDENCE);
        }

        /* Everything optional absent, an open issue without evidence. */
        is.route          = NULL;
        is.segment_type   = NULL;
        is.segment_value  = NULL;
        is.metric         = NULL;
        is.observed       = NAN;
        is.baseline       = NAN;
        is.threshold      = NAN;
        is.sample_size    = -1;
        is.resolved_at_ms = -1;
        is.state          = "open";
        is.evidence_cnt   = 0;
        in                = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_issue_write(in, &is) == 0);
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK(rs_issue_read(out, &got, errstr, sizeof(errstr)) == 0);
                check_same_issue(&got, &is);
                RS_CHECK(got.route == NULL && got.metric == NULL);
                RS_CHECK(isnan(got.observed) && isnan(got.threshold));
                RS_CHECK_INT(got.sample_size, -1);
                RS_CHECK_INT(got.resolved_at_ms, -1);
                RS_CHECK_INT(got.evidence_cnt, 0);
                RS_CHECK_INT(got.evidence_dropped, 0);
        }

        /* Zero values are present; rewriting replaces the evidence; of a
         * repeated key the last value stays. */
        fill_issue(&is, keys, vals);
        is.sample_size = 0;
        is.observed    = 0;
        in             = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_issue_write(in, &is) == 0);
        is.evidence_cnt      = 3;
        is.evidence[2].key   = "k00";
        is.evidence[2].value = "last";
        RS_CHECK(rs_issue_write(in, &is) == 0);
        out = round_trip(&c);
        if (out) {
                RS_CHECK(rs_issue_read(out, &got, errstr, sizeof(errstr)) == 0);
                RS_CHECK_INT(got.sample_size, 0);
                RS_CHECK(got.observed == 0);
                RS_CHECK_INT(got.evidence_cnt, 2);
                RS_CHECK_STR(got.evidence[0].key, "k00");
                RS_CHECK_STR(got.evidence[0].value, "last");
                RS_CHECK_STR(got.evidence[1].key, "k01");
        }

        is.evidence_cnt = RS_EVENT_MAX_EVIDENCE + 1;
        RS_CHECK(rs_issue_write(rs_avro_encoder_value(c.enc), &is) == -1);
        is.evidence_cnt    = 1;
        is.evidence[0].key = NULL;
        RS_CHECK(rs_issue_write(rs_avro_encoder_value(c.enc), &is) == -1);
        is.evidence_cnt = 0;
        is.title        = NULL;
        RS_CHECK(rs_issue_write(rs_avro_encoder_value(c.enc), &is) == -1);

out:
        codec_destroy(&c);
}

static void check_same_error_aggregate(const rs_error_aggregate_t *a,
                                       const rs_error_aggregate_t *b) {
        RS_CHECK_STR(a->aggregate_id, b->aggregate_id);
        RS_CHECK_STR(a->tenant_id, b->tenant_id);
        RS_CHECK_STR(a->group_id, b->group_id);
        RS_CHECK_STR(a->route, b->route);
        RS_CHECK_INT(a->window_start_ms, b->window_start_ms);
        RS_CHECK_INT(a->window_end_ms, b->window_end_ms);
        RS_CHECK_INT(a->errors, b->errors);
        RS_CHECK(a->weighted_errors == b->weighted_errors);
        RS_CHECK_INT(a->sessions, b->sessions);
        RS_CHECK_INT(a->sessions_estimated, b->sessions_estimated);
        check_opt_double("page_views", a->page_views, b->page_views);
        check_opt_double("error_rate", a->error_rate, b->error_rate);
        RS_CHECK_STR(a->category, b->category);
        RS_CHECK_STR(a->severity, b->severity);
}

static void test_error_aggregate(void) {
        rs_error_aggregate_t agg, got;
        char                 errstr[512];
        struct codec         c;
        avro_value_t        *out;

        if (codec_init(&c, RS_SCHEMA_ID_ERROR_AGGREGATE) == -1)
                goto out;

        agg = (rs_error_aggregate_t){
            .aggregate_id       = "eagg-77d0",
            .tenant_id          = "tenant-a",
            .group_id           = "3f9a1c2b8e7d6a5f",
            .route              = "/products/:id",
            .window_start_ms    = 1717171680000LL,
            .window_end_ms      = 1717171740000LL,
            .errors             = 42,
            .weighted_errors    = 168.0,
            .sessions           = 37,
            .sessions_estimated = 1,
            .page_views         = 5120.25,
            .error_rate         = 168.0 / 5120.25,
            .category           = "js_error",
            .severity           = "medium",
        };
        RS_CHECK(rs_error_aggregate_write(rs_avro_encoder_value(c.enc), &agg) ==
                 0);
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK_MSG(rs_error_aggregate_read(out, &got, errstr,
                                                     sizeof(errstr)) == 0,
                             "%s", errstr);
                check_same_error_aggregate(&got, &agg);
        }

        /* Page views not known (yet): no rate either; exact counts. */
        agg.page_views         = NAN;
        agg.error_rate         = NAN;
        agg.sessions_estimated = 0;
        RS_CHECK(rs_error_aggregate_write(rs_avro_encoder_value(c.enc), &agg) ==
                 0);
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK(rs_error_aggregate_read(out, &got, errstr,
                                                 sizeof(errstr)) == 0);
                check_same_error_aggregate(&got, &agg);
                RS_CHECK(isnan(got.page_views) && isnan(got.error_rate));
                RS_CHECK_INT(got.sessions_estimated, 0);

                /* An ErrorAggregate is not an Issue. */
                {
                        rs_issue_t is;
                        errstr[0] = '\0';
                        RS_CHECK(rs_issue_read(out, &is, errstr,
                                               sizeof(errstr)) == -1);
                        RS_CHECK(errstr[0] != '\0');
                }
        }

        agg.group_id = NULL;
        RS_CHECK(rs_error_aggregate_write(rs_avro_encoder_value(c.enc), &agg) ==
                 -1);

out:
        codec_destroy(&c);
}

/* The checks every input event passes, with their reasons. */
static void test_checks(void) {
        char          d[256], long_tenant[RS_EVENT_MAX_TENANT_LEN + 2];
        const int64_t t = 1795430000000LL; /* 2026 */

        memset(long_tenant, 'a', sizeof(long_tenant) - 1);
        long_tenant[sizeof(long_tenant) - 1] = '\0';
        RS_CHECK(rs_event_check_tenant("acme-shop", d, sizeof(d)) == NULL);
        RS_CHECK(rs_event_check_tenant("a.b:c_d-9", d, sizeof(d)) == NULL);
        RS_CHECK_STR(rs_event_check_tenant("", d, sizeof(d)), "invalid_tenant");
        RS_CHECK_STR(rs_event_check_tenant("acme shop", d, sizeof(d)),
                     "invalid_tenant");
        RS_CHECK(strstr(d, "1-128 characters") != NULL);
        RS_CHECK_STR(rs_event_check_tenant(long_tenant, d, sizeof(d)),
                     "invalid_tenant");
        long_tenant[RS_EVENT_MAX_TENANT_LEN] = '\0'; /* exactly the limit */
        RS_CHECK(rs_event_check_tenant(long_tenant, d, sizeof(d)) == NULL);

        RS_CHECK(rs_event_check_time_rate(t, t, 1000, 0.5, d, sizeof(d)) ==
                 NULL);
        RS_CHECK(rs_event_check_time_rate(t, 0, 1000, 1.0, d, sizeof(d)) ==
                 NULL); /* no Kafka timestamp: no skew check */
        RS_CHECK(rs_event_check_time_rate(t + 1000, t, 1000, 1, d, sizeof(d)) ==
                 NULL);
        RS_CHECK_STR(
            rs_event_check_time_rate(t + 1001, t, 1000, 1, d, sizeof(d)),
            "clock_skew");
        RS_CHECK(strstr(d, "1001 ms ahead") != NULL);
        RS_CHECK_STR(rs_event_check_time_rate(RS_EVENT_MIN_TIME_MS - 1, 0, 1000,
                                              1, d, sizeof(d)),
                     "invalid_timestamp");
        RS_CHECK_STR(rs_event_check_time_rate(t, t, 1000, 0, d, sizeof(d)),
                     "invalid_sample_rate");
        RS_CHECK_STR(rs_event_check_time_rate(t, t, 1000, 1.5, d, sizeof(d)),
                     "invalid_sample_rate");
        RS_CHECK_STR(rs_event_check_time_rate(t, t, 1000, NAN, d, sizeof(d)),
                     "invalid_sample_rate");
}

#define ALERT_ISSUES_SENT (RS_EVENT_MAX_ALERT_ISSUES + 3)

static void test_alert(void) {
        static char   ids[ALERT_ISSUES_SENT][16];
        char          errstr[512];
        rs_alert_t    al, got;
        struct codec  c;
        avro_value_t *in, *out, arr, item;
        size_t        i;

        if (codec_init(&c, RS_SCHEMA_ID_ALERT) == -1)
                goto out;
        memset(&al, 0, sizeof(al));
        al.alert_id      = "0f3c";
        al.issue_id      = "iss-1";
        al.tenant_id     = "acme-shop";
        al.channel       = "pager";
        al.kind          = "firing";
        al.severity      = "critical";
        al.title         = "[CRITICAL] LCP regression on /checkout";
        al.summary       = "firing [critical] LCP regression on /checkout";
        al.group_key     = "acme-shop /checkout";
        al.created_at_ms = 1767322800000LL;
        al.issue_ids[0]  = "iss-1";
        al.issue_ids[1]  = "iss-2";
        al.issue_id_cnt  = 2;
        in               = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_alert_write(in, &al) == 0);
        out = round_trip(&c);
        if (out) {
                memset(&got, 0xa5, sizeof(got));
                RS_CHECK_MSG(rs_alert_read(out, &got, errstr, sizeof(errstr)) ==
                                 0,
                             "%s", errstr);
                RS_CHECK_STR(got.alert_id, al.alert_id);
                RS_CHECK_STR(got.issue_id, al.issue_id);
                RS_CHECK_STR(got.tenant_id, al.tenant_id);
                RS_CHECK_STR(got.channel, al.channel);
                RS_CHECK_STR(got.kind, al.kind);
                RS_CHECK_STR(got.severity, al.severity);
                RS_CHECK_STR(got.title, al.title);
                RS_CHECK_STR(got.summary, al.summary);
                RS_CHECK_STR(got.group_key, al.group_key);
                RS_CHECK(got.created_at_ms == al.created_at_ms);
                RS_CHECK_INT(got.issue_id_cnt, 2);
                RS_CHECK_INT(got.issue_ids_dropped, 0);
                RS_CHECK_STR(got.issue_ids[0], "iss-1");
                RS_CHECK_STR(got.issue_ids[1], "iss-2");
        }

        /* Rewriting replaces the array; more ids than the reader keeps. */
        in = rs_avro_encoder_value(c.enc);
        RS_CHECK(rs_alert_write(in, &al) == 0);
        al.issue_id_cnt = 1;
        RS_CHECK(rs_alert_write(in, &al) == 0);
        avro_value_get_by_name(in, "issue_ids", &arr, NULL);
        for (i = 1; i < ALERT_ISSUES_SENT; i++) {
                snprintf(ids[i], sizeof(ids[i]), "iss-%zu", i + 10);
                avro_value_append(&arr, &item, NULL);
                avro_value_set_string(&item, ids[i]);
        }
        out = round_trip(&c);
        if (out) {
                RS_CHECK(rs_alert_read(out, &got, errstr, sizeof(errstr)) == 0);
                RS_CHECK_INT(got.issue_id_cnt, RS_EVENT_MAX_ALERT_ISSUES);
                RS_CHECK_INT(got.issue_ids_dropped,
                             ALERT_ISSUES_SENT - RS_EVENT_MAX_ALERT_ISSUES);
                RS_CHECK_STR(got.issue_ids[0], "iss-1");
                RS_CHECK_STR(got.issue_ids[1], "iss-11");
        }

        al.issue_id_cnt = RS_EVENT_MAX_ALERT_ISSUES + 1;
        RS_CHECK(rs_alert_write(rs_avro_encoder_value(c.enc), &al) == -1);
        al.issue_id_cnt = 1;
        al.issue_ids[0] = NULL;
        RS_CHECK(rs_alert_write(rs_avro_encoder_value(c.enc), &al) == -1);
        al.issue_ids[0] = "iss-1";
        al.summary      = NULL;
        RS_CHECK(rs_alert_write(rs_avro_encoder_value(c.enc), &al) == -1);

out:
        codec_destroy(&c);
}

int main(void) {
        char errstr[512] = "";

        RS_CHECK_MSG(rs_event_check_schemas(errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        test_rum_event();
        test_rum_event_direct();
        test_rum_aggregate();
        test_synthetic_result();
        test_error_event();
        test_issue();
        test_alert();
        test_error_aggregate();
        test_checks();
        return RS_TEST_DONE();
}
