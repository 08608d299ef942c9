/*
 * test_event: the field positions agree with the schemas, and RumEvent and
 * RumAggregate survive write -> encode -> decode -> read unchanged (within
 * the documented limits: 32 custom timings kept, NaN = null).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rumstream/avro.h"
#include "rumstream/event.h"
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

int main(void) {
        char errstr[512] = "";

        RS_CHECK_MSG(rs_event_check_schemas(errstr, sizeof(errstr)) == 0, "%s",
                     errstr);
        test_rum_event();
        test_rum_aggregate();
        return RS_TEST_DONE();
}
