/*
 * test_grouping: the error tracker's grouping, end to end. "Two events of the
 * same bug from different users, builds or lines in a message must group
 * together; different bugs must not."
 *
 * The seeded error generator says which catalogue bug each event comes from
 * (rs_error_traffic_last_bug()). Its events go through exactly what the
 * error-tracker processor does before grouping: message, stack and request
 * URL scrubbed with the default sensitive keys into 8192-byte buffers, then
 * rs_fp_compute(). Within each tenant the mapping bug -> group id must be a
 * bijection: every bug one group id, no group id for two bugs. A failure
 * prints each bug's distinct groups with their normalized message and
 * frames, which is what tells a fingerprint rule from a generator mistake.
 */
#include <stdio.h>
#include <string.h>

#include "rs_test.h"
#include "rumstream/event.h"
#include "rumstream/fingerprint.h"
#include "rumstream/pii.h"
#include "rumstream/traffic.h"

#define SEEDS          3
#define EVENTS         20000
#define TENANTS        5
#define TEXT_MAX       8192 /* the processor's scrub buffers */
#define BUGS_MAX       32   /* per tenant: catalogue and the new group */
#define GROUPS_MAX     64   /* distinct group ids remembered per bug */
#define SHOWN_MAX      8    /* of which described */
#define ARRAY_CNT(a)   (sizeof(a) / sizeof((a)[0]))
#define GROUP_DESC_MAX (RS_FP_MESSAGE_MAX + RS_FP_FRAMES * RS_FP_FRAME_MAX + 64)

/* One group id a bug was seen with. */
typedef struct seen_group_s {
        char     id[33];
        unsigned events;
} seen_group_t;

typedef struct seen_bug_s {
        const char  *bug; /* static storage of the generator */
        seen_group_t groups[GROUPS_MAX];
        size_t       group_cnt;
        /* what the first SHOWN_MAX groups were made of: kind, type,
         * message, frames */
        char     desc[SHOWN_MAX][GROUP_DESC_MAX];
        unsigned groups_dropped; /* distinct ones beyond GROUPS_MAX */
        unsigned events;
} seen_bug_t;

typedef struct seen_tenant_s {
        seen_bug_t bugs[BUGS_MAX];
        size_t     bug_cnt;
} seen_tenant_t;

/* Scrub buffers, as the processor has them. */
static char msg_buf[TEXT_MAX], stack_buf[TEXT_MAX], url_buf[TEXT_MAX];

/* Distinct scrubbed messages of non-error-rejection that had personal data,
 * over all seeds: the JSON objects that must be one group. */
#define JSON_SEEN_MAX 8
static char   json_seen[JSON_SEEN_MAX][256];
static size_t json_seen_cnt;


/* A text cut to fit is NUL-terminated too, as in the processor. */
static void scrub(const rs_pii_t *pii, const char *s, char *out, size_t size) {
        (void)rs_pii_scrub(pii, s, strlen(s), out, size, NULL);
}

static void describe(const rs_error_event_t *ev, const rs_fp_t *fp, char *out,
                     size_t size) {
        size_t off, i;
        int    n;

        n   = snprintf(out, size, "%s %s \"%s\"", ev->kind,
                     ev->error_type ? ev->error_type : "", fp->message);
        off = n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
        if (fp->frame_cnt == 0 && off < size) {
                n = snprintf(out + off, size - off, " [%s]", fp->title);
                off += n < 0 ? 0 : (size_t)n;
        }
        for (i = 0; i < fp->frame_cnt && off < size; i++) {
                n = snprintf(out + off, size - off, " %s", fp->frames[i]);
                off += n < 0 ? 0 : (size_t)n;
        }
}

static seen_bug_t *bug_of(seen_tenant_t *tn, const char *bug) {
        size_t i;

        for (i = 0; i < tn->bug_cnt; i++)
                if (!strcmp(tn->bugs[i].bug, bug))
                        return &tn->bugs[i];
        if (tn->bug_cnt == BUGS_MAX)
                return NULL;
        tn->bugs[tn->bug_cnt].bug = bug;
        return &tn->bugs[tn->bug_cnt++];
}

static void add_group(seen_bug_t *b, const rs_error_event_t *ev,
                      const rs_fp_t *fp) {
        seen_group_t *g;
        size_t        i;

        b->events++;
        for (i = 0; i < b->group_cnt; i++) {
                if (!strcmp(b->groups[i].id, fp->group_id)) {
                        b->groups[i].events++;
                        return;
                }
        }
        if (b->group_cnt == GROUPS_MAX) {
                b->groups_dropped++; /* may count one twice: only reported */
                return;
        }
        if (b->group_cnt < SHOWN_MAX)
                describe(ev, fp, b->desc[b->group_cnt],
                         sizeof(b->desc[b->group_cnt]));
        g = &b->groups[b->group_cnt++];
        memcpy(g->id, fp->group_id, sizeof(g->id));
        g->events = 1;
}

static void print_bug(const char *tenant, const seen_bug_t *b) {
        size_t i;

        fprintf(stderr, "  %s/%s: %u events, %zu%s groups\n", tenant, b->bug,
                b->events, b->group_cnt, b->groups_dropped ? "+" : "");
        for (i = 0; i < b->group_cnt && i < SHOWN_MAX; i++)
                fprintf(stderr, "    %s x%u: %s\n", b->groups[i].id,
                        b->groups[i].events, b->desc[i]);
        if (b->group_cnt > SHOWN_MAX)
                fprintf(stderr, "    ...\n");
}

static int share_group(const seen_bug_t *a, const seen_bug_t *b) {
        size_t g, h;

        for (g = 0; g < a->group_cnt; g++)
                for (h = 0; h < b->group_cnt; h++)
                        if (!strcmp(a->groups[g].id, b->groups[h].id))
                                return 1;
        return 0;
}

/* Every bug one group, and no group shared by two bugs of a tenant.
 * @returns the number of bugs found in one group. */
static int check_bijection(uint64_t seed, const rs_error_traffic_t *t,
                           const seen_tenant_t *tenants) {
        size_t j, k;
        int    i, whole = 0;

        for (i = 0; i < TENANTS; i++) {
                const seen_tenant_t *tn   = &tenants[i];
                const char          *name = rs_error_traffic_tenant(t, i);

                for (j = 0; j < tn->bug_cnt; j++) {
                        const seen_bug_t *b = &tn->bugs[j];
                        int one = b->group_cnt == 1 && !b->groups_dropped;

                        whole += one;
                        RS_CHECK_MSG(one,
                                     "seed %llu: bug %s/%s split into "
                                     "%zu%s groups",
                                     (unsigned long long)seed, name, b->bug,
                                     b->group_cnt,
                                     b->groups_dropped ? "+" : "");
                        if (!one)
                                print_bug(name, b);
                }
                for (j = 0; j < tn->bug_cnt; j++) {
                        for (k = j + 1; k < tn->bug_cnt; k++) {
                                const seen_bug_t *a = &tn->bugs[j];
                                const seen_bug_t *b = &tn->bugs[k];
                                int               shared;

                                shared = share_group(a, b);
                                RS_CHECK_MSG(!shared,
                                             "seed %llu: bugs %s/%s and %s "
                                             "share a group",
                                             (unsigned long long)seed, name,
                                             a->bug, b->bug);
                                if (shared) {
                                        print_bug(name, a);
                                        print_bug(name, b);
                                }
                        }
                }
        }
        return whole;
}

static int tenant_index(const rs_error_traffic_t *t, const char *tenant) {
        int i;

        for (i = 0; i < TENANTS; i++)
                if (!strcmp(rs_error_traffic_tenant(t, i), tenant))
                        return i;
        return -1;
}

/* Whether \p bug is in tenant \p i's catalogue. */
static int in_catalogue(const rs_error_traffic_t *t, int i, const char *bug) {
        int k;

        for (k = 0; k < rs_error_traffic_bug_count(t, i); k++)
                if (!strcmp(rs_error_traffic_bug(t, i, k), bug))
                        return 1;
        return 0;
}

static void note_json(const char *bug, const char *scrubbed) {
        size_t i;

        if (strcmp(bug, "non-error-rejection") != 0)
                return;
        for (i = 0; i < json_seen_cnt; i++)
                if (!strncmp(json_seen[i], scrubbed, 200))
                        return;
        if (json_seen_cnt < JSON_SEEN_MAX)
                snprintf(json_seen[json_seen_cnt++], sizeof(json_seen[0]),
                         "%.200s", scrubbed);
}

static void run_seed(const rs_pii_t *pii, uint64_t seed) {
        static seen_tenant_t    tenants[TENANTS];
        rs_error_traffic_conf_t c;
        rs_error_traffic_t     *t;
        rs_error_event_t        ev;
        rs_fp_input_t           in;
        rs_fp_t                 fp;
        char                    errstr[256];
        unsigned                pii_events = 0, new_group = 0, burst = 0;
        int                     n, i, lost = 0, foreign = 0, bugs = 0, whole;

        memset(tenants, 0, sizeof(tenants));
        rs_error_traffic_conf_defaults(&c);
        c.seed              = seed;
        c.tenants           = TENANTS;
        c.pii_ratio         = 0.2;
        c.burst_tenant      = "acme-shop";
        c.burst_route       = "/cart";
        c.burst_from_ms     = c.start_ms + 5 * 60 * 1000;
        c.burst_to_ms       = c.start_ms + 10 * 60 * 1000;
        c.burst_factor      = 10;
        c.new_group_tenant  = "initech-app";
        c.new_group_from_ms = c.start_ms + 15 * 60 * 1000;
        t                   = rs_error_traffic_new(&c, errstr, sizeof(errstr));
        RS_CHECK_MSG(t != NULL, "%s", errstr);
        if (!t)
                return;
        RS_CHECK_INT(rs_error_traffic_tenant_count(t), TENANTS);

        for (n = 0; n < EVENTS; n++) {
                const char *bug;
                seen_bug_t *b;
                int         ti;

                rs_error_traffic_next(t, &ev);
                bug = rs_error_traffic_last_bug(t);
                pii_events += (unsigned)rs_error_traffic_last_has_pii(t);
                new_group += (unsigned)rs_error_traffic_last_is_new_group(t);
                burst += (unsigned)rs_error_traffic_last_is_burst(t);

                /* What the error-tracker processor does. */
                scrub(pii, ev.message ? ev.message : "", msg_buf,
                      sizeof(msg_buf));
                if (ev.stack)
                        scrub(pii, ev.stack, stack_buf, sizeof(stack_buf));
                if (ev.request_url)
                        scrub(pii, ev.request_url, url_buf, sizeof(url_buf));
                memset(&in, 0, sizeof(in));
                in.tenant_id   = ev.tenant_id;
                in.kind        = ev.kind;
                in.error_type  = ev.error_type;
                in.message     = msg_buf;
                in.stack       = ev.stack ? stack_buf : NULL;
                in.file        = ev.file;
                in.http_method = ev.http_method;
                in.request_url = ev.request_url ? url_buf : NULL;
                in.http_status = ev.http_status > 0 ? ev.http_status : 0;
                rs_fp_compute(&in, &fp);

                if (strcmp(msg_buf, ev.message) != 0)
                        note_json(bug, msg_buf);
                ti = tenant_index(t, ev.tenant_id);
                if (ti >= 0 && !rs_error_traffic_last_is_new_group(t))
                        foreign += !in_catalogue(t, ti, bug);
                b = ti >= 0 ? bug_of(&tenants[ti], bug) : NULL;
                if (!b) {
                        lost++;
                        continue;
                }
                add_group(b, &ev, &fp);
        }
        RS_CHECK_INT(lost, 0);
        RS_CHECK_INT(foreign, 0);
        /* the run exercises what it is meant to */
        RS_CHECK_MSG(pii_events > EVENTS / 10, "%u events with PII",
                     pii_events);
        RS_CHECK_MSG(new_group > 0, "no event of the new group");
        RS_CHECK_MSG(burst > 0, "no burst event");
        for (i = 0; i < TENANTS; i++) {
                RS_CHECK(tenants[i].bug_cnt > 0);
                bugs += (int)tenants[i].bug_cnt;
        }
        whole = check_bijection(seed, t, tenants);
        printf("seed %llu: %d events, %d bugs, %d of them "
               "one group each\n",
               (unsigned long long)seed, EVENTS, bugs, whole);
        rs_error_traffic_destroy(t);
}

int main(void) {
        static const uint64_t seeds[SEEDS] = {1, 42, 20260101};
        rs_pii_t             *pii;
        char                  errstr[256];
        size_t                i;

        pii = rs_pii_new(NULL, errstr, sizeof(errstr));
        RS_CHECK_MSG(pii != NULL, "%s", errstr);
        if (!pii)
                return RS_TEST_DONE();
        for (i = 0; i < SEEDS; i++)
                run_seed(pii, seeds[i]);
        rs_pii_destroy(pii);

        /* different JSON objects were there to be grouped */
        RS_CHECK_MSG(json_seen_cnt >= 2,
                     "%zu distinct JSON values of non-error-rejection",
                     json_seen_cnt);
        for (i = 0; i < json_seen_cnt; i++)
                printf("grouped as one: %s\n", json_seen[i]);
        return RS_TEST_DONE();
}
