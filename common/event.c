/*
 * event: C views of RumEvent, RumAggregate, SyntheticResult, ErrorEvent,
 * Issue and ErrorAggregate values.
 *
 * Fields are reached by index (an array lookup in avro-c's generic record)
 * rather than by name (a hash lookup per field per record). The enums below
 * give the indices in schema order, and rs_event_check_schemas() compares
 * them, with each field's type, to the compiled-in schemas once at start,
 * so a schema edit that moves a field fails loudly instead of mixing up
 * fields. Optional fields are unions ["null", T]; the check also pins that
 * layout, so branch 0 is null and branch 1 the value.
 *
 * NaN and null mean the same thing, "not measured": the reader turns null
 * into NAN, and the writer writes NAN as null. The navigation-timing
 * record has no optional phases, so a phase that is absent while others
 * are present travels as NaN inside the record and reads back as NAN.
 * Optional ints and longs (line numbers, statuses, sizes, timestamps)
 * are never negative: -1 stands for null both ways, and any negative
 * value is written as null.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rumstream/avro.h"
#include "rumstream/event.h"

enum rum_field {
        RUM_EVENT_ID,
        RUM_TENANT_ID,
        RUM_SESSION_ID,
        RUM_USER_ID,
        RUM_TIMESTAMP,
        RUM_URL,
        RUM_NAVIGATION_TYPE,
        RUM_DEVICE_TYPE,
        RUM_COUNTRY,
        RUM_CONNECTION_TYPE,
        RUM_BROWSER,
        RUM_CONSENT,
        RUM_SAMPLE_RATE,
        RUM_LCP,
        RUM_INP,
        RUM_CLS,
        RUM_FCP,
        RUM_TTFB,
        RUM_NAVIGATION_TIMING,
        RUM_CUSTOM_TIMINGS,
        RUM__CNT
};

enum nav_field {
        NAV_DNS,
        NAV_CONNECT,
        NAV_TLS,
        NAV_REQUEST,
        NAV_RESPONSE,
        NAV_DOM_PROCESSING,
        NAV_LOAD,
        NAV__CNT
};

enum agg_field {
        AGG_AGGREGATE_ID,
        AGG_TENANT_ID,
        AGG_ROUTE,
        AGG_SEGMENT_TYPE,
        AGG_SEGMENT_VALUE,
        AGG_WINDOW_START,
        AGG_WINDOW_END,
        AGG_EVENTS,
        AGG_PAGE_VIEWS,
        AGG_METRICS,
        AGG__CNT
};

enum summary_field {
        SUM_NAME,
        SUM_UNIT,
        SUM_SAMPLES,
        SUM_WEIGHT,
        SUM_MEAN,
        SUM_P50,
        SUM_P75,
        SUM_P95,
        SUM_P99,
        SUM_GOOD,
        SUM_NEEDS_IMPROVEMENT,
        SUM_POOR,
        SUM_SKETCH,
        SUM__CNT
};

enum err_field {
        ERR_EVENT_ID,
        ERR_TENANT_ID,
        ERR_SESSION_ID,
        ERR_USER_ID,
        ERR_TIMESTAMP,
        ERR_KIND,
        ERR_ERROR_TYPE,
        ERR_MESSAGE,
        ERR_STACK,
        ERR_FILE,
        ERR_LINE,
        ERR_COLUMN,
        ERR_HTTP_STATUS,
        ERR_HTTP_METHOD,
        ERR_REQUEST_URL,
        ERR_DURATION,
        ERR_URL,
        ERR_ROUTE,
        ERR_BROWSER,
        ERR_DEVICE_TYPE,
        ERR_RELEASE,
        ERR_BREADCRUMBS,
        ERR_CONSENT,
        ERR_SAMPLE_RATE,
        ERR__CNT
};

enum syn_field {
        SYN_RUN_ID,
        SYN_TENANT_ID,
        SYN_TEST_ID,
        SYN_ROUTE,
        SYN_URL,
        SYN_TIMESTAMP,
        SYN_LOCATION,
        SYN_DEVICE_PROFILE,
        SYN_NETWORK_PROFILE,
        SYN_SUCCESS,
        SYN_ERROR,
        SYN_LCP,
        SYN_FCP,
        SYN_CLS,
        SYN_TTFB,
        SYN_TBT,
        SYN_LOAD_TIME,
        SYN__CNT
};

enum crumb_field { CRUMB_TIMESTAMP, CRUMB_CATEGORY, CRUMB_MESSAGE, CRUMB__CNT };

enum issue_field {
        ISSUE_ID,
        ISSUE_TENANT_ID,
        ISSUE_KIND,
        ISSUE_STATE,
        ISSUE_SEVERITY,
        ISSUE_TITLE,
        ISSUE_SOURCE,
        ISSUE_ROUTE,
        ISSUE_SEGMENT_TYPE,
        ISSUE_SEGMENT_VALUE,
        ISSUE_METRIC,
        ISSUE_OBSERVED,
        ISSUE_BASELINE,
        ISSUE_THRESHOLD,
        ISSUE_SAMPLE_SIZE,
        ISSUE_OPENED_AT,
        ISSUE_UPDATED_AT,
        ISSUE_RESOLVED_AT,
        ISSUE_VERSION,
        ISSUE_EVIDENCE,
        ISSUE__CNT
};

enum alert_field {
        ALERT_ID,
        ALERT_ISSUE_ID,
        ALERT_TENANT_ID,
        ALERT_CHANNEL,
        ALERT_KIND,
        ALERT_SEVERITY,
        ALERT_TITLE,
        ALERT_SUMMARY,
        ALERT_GROUP_KEY,
        ALERT_CREATED_AT,
        ALERT_ISSUE_IDS,
        ALERT__CNT
};

enum eagg_field {
        EAGG_AGGREGATE_ID,
        EAGG_TENANT_ID,
        EAGG_GROUP_ID,
        EAGG_ROUTE,
        EAGG_WINDOW_START,
        EAGG_WINDOW_END,
        EAGG_ERRORS,
        EAGG_WEIGHTED_ERRORS,
        EAGG_SESSIONS,
        EAGG_SESSIONS_ESTIMATED,
        EAGG_PAGE_VIEWS,
        EAGG_ERROR_RATE,
        EAGG_CATEGORY,
        EAGG_SEVERITY,
        EAGG__CNT
};

/* Expected shape of a field: its type, and for an optional field
 * (OPT) the type of the union's second branch. */
#define OPT 0x100

struct field_spec {
        const char *name;
        int         type;
};

static const struct field_spec rum_fields[RUM__CNT] = {
    [RUM_EVENT_ID]          = {"event_id", AVRO_STRING},
    [RUM_TENANT_ID]         = {"tenant_id", AVRO_STRING},
    [RUM_SESSION_ID]        = {"session_id", AVRO_STRING},
    [RUM_USER_ID]           = {"user_id", OPT | AVRO_STRING},
    [RUM_TIMESTAMP]         = {"timestamp", AVRO_INT64},
    [RUM_URL]               = {"url", AVRO_STRING},
    [RUM_NAVIGATION_TYPE]   = {"navigation_type", AVRO_STRING},
    [RUM_DEVICE_TYPE]       = {"device_type", AVRO_STRING},
    [RUM_COUNTRY]           = {"country", AVRO_STRING},
    [RUM_CONNECTION_TYPE]   = {"connection_type", AVRO_STRING},
    [RUM_BROWSER]           = {"browser", AVRO_STRING},
    [RUM_CONSENT]           = {"consent", AVRO_BOOLEAN},
    [RUM_SAMPLE_RATE]       = {"sample_rate", AVRO_DOUBLE},
    [RUM_LCP]               = {"lcp", OPT | AVRO_DOUBLE},
    [RUM_INP]               = {"inp", OPT | AVRO_DOUBLE},
    [RUM_CLS]               = {"cls", OPT | AVRO_DOUBLE},
    [RUM_FCP]               = {"fcp", OPT | AVRO_DOUBLE},
    [RUM_TTFB]              = {"ttfb", OPT | AVRO_DOUBLE},
    [RUM_NAVIGATION_TIMING] = {"navigation_timing", OPT | AVRO_RECORD},
    [RUM_CUSTOM_TIMINGS]    = {"custom_timings", OPT | AVRO_MAP},
};

static const struct field_spec nav_fields[NAV__CNT] = {
    [NAV_DNS]            = {"dns", AVRO_DOUBLE},
    [NAV_CONNECT]        = {"connect", AVRO_DOUBLE},
    [NAV_TLS]            = {"tls", AVRO_DOUBLE},
    [NAV_REQUEST]        = {"request", AVRO_DOUBLE},
    [NAV_RESPONSE]       = {"response", AVRO_DOUBLE},
    [NAV_DOM_PROCESSING] = {"dom_processing", AVRO_DOUBLE},
    [NAV_LOAD]           = {"load", AVRO_DOUBLE},
};

static const struct field_spec agg_fields[AGG__CNT] = {
    [AGG_AGGREGATE_ID]  = {"aggregate_id", AVRO_STRING},
    [AGG_TENANT_ID]     = {"tenant_id", AVRO_STRING},
    [AGG_ROUTE]         = {"route", AVRO_STRING},
    [AGG_SEGMENT_TYPE]  = {"segment_type", AVRO_STRING},
    [AGG_SEGMENT_VALUE] = {"segment_value", AVRO_STRING},
    [AGG_WINDOW_START]  = {"window_start", AVRO_INT64},
    [AGG_WINDOW_END]    = {"window_end", AVRO_INT64},
    [AGG_EVENTS]        = {"events", AVRO_INT64},
    [AGG_PAGE_VIEWS]    = {"page_views", AVRO_DOUBLE},
    [AGG_METRICS]       = {"metrics", AVRO_ARRAY},
};

static const struct field_spec summary_fields[SUM__CNT] = {
    [SUM_NAME]              = {"name", AVRO_STRING},
    [SUM_UNIT]              = {"unit", AVRO_STRING},
    [SUM_SAMPLES]           = {"samples", AVRO_INT64},
    [SUM_WEIGHT]            = {"weight", AVRO_DOUBLE},
    [SUM_MEAN]              = {"mean", AVRO_DOUBLE},
    [SUM_P50]               = {"p50", AVRO_DOUBLE},
    [SUM_P75]               = {"p75", AVRO_DOUBLE},
    [SUM_P95]               = {"p95", AVRO_DOUBLE},
    [SUM_P99]               = {"p99", AVRO_DOUBLE},
    [SUM_GOOD]              = {"good", AVRO_DOUBLE},
    [SUM_NEEDS_IMPROVEMENT] = {"needs_improvement", AVRO_DOUBLE},
    [SUM_POOR]              = {"poor", AVRO_DOUBLE},
    [SUM_SKETCH]            = {"sketch", AVRO_BYTES},
};

static const struct field_spec err_fields[ERR__CNT] = {
    [ERR_EVENT_ID]    = {"event_id", AVRO_STRING},
    [ERR_TENANT_ID]   = {"tenant_id", AVRO_STRING},
    [ERR_SESSION_ID]  = {"session_id", AVRO_STRING},
    [ERR_USER_ID]     = {"user_id", OPT | AVRO_STRING},
    [ERR_TIMESTAMP]   = {"timestamp", AVRO_INT64},
    [ERR_KIND]        = {"kind", AVRO_STRING},
    [ERR_ERROR_TYPE]  = {"error_type", AVRO_STRING},
    [ERR_MESSAGE]     = {"message", AVRO_STRING},
    [ERR_STACK]       = {"stack", OPT | AVRO_STRING},
    [ERR_FILE]        = {"file", OPT | AVRO_STRING},
    [ERR_LINE]        = {"line", OPT | AVRO_INT32},
    [ERR_COLUMN]      = {"column", OPT | AVRO_INT32},
    [ERR_HTTP_STATUS] = {"http_status", OPT | AVRO_INT32},
    [ERR_HTTP_METHOD] = {"http_method", OPT | AVRO_STRING},
    [ERR_REQUEST_URL] = {"request_url", OPT | AVRO_STRING},
    [ERR_DURATION]    = {"duration_ms", OPT | AVRO_DOUBLE},
    [ERR_URL]         = {"url", AVRO_STRING},
    [ERR_ROUTE]       = {"route", OPT | AVRO_STRING},
    [ERR_BROWSER]     = {"browser", AVRO_STRING},
    [ERR_DEVICE_TYPE] = {"device_type", AVRO_STRING},
    [ERR_RELEASE]     = {"release", OPT | AVRO_STRING},
    [ERR_BREADCRUMBS] = {"breadcrumbs", AVRO_ARRAY},
    [ERR_CONSENT]     = {"consent", AVRO_BOOLEAN},
    [ERR_SAMPLE_RATE] = {"sample_rate", AVRO_DOUBLE},
};

static const struct field_spec syn_fields[SYN__CNT] = {
    [SYN_RUN_ID]          = {"run_id", AVRO_STRING},
    [SYN_TENANT_ID]       = {"tenant_id", AVRO_STRING},
    [SYN_TEST_ID]         = {"test_id", AVRO_STRING},
    [SYN_ROUTE]           = {"route", AVRO_STRING},
    [SYN_URL]             = {"url", AVRO_STRING},
    [SYN_TIMESTAMP]       = {"timestamp", AVRO_INT64},
    [SYN_LOCATION]        = {"location", AVRO_STRING},
    [SYN_DEVICE_PROFILE]  = {"device_profile", AVRO_STRING},
    [SYN_NETWORK_PROFILE] = {"network_profile", AVRO_STRING},
    [SYN_SUCCESS]         = {"success", AVRO_BOOLEAN},
    [SYN_ERROR]           = {"error", OPT | AVRO_STRING},
    [SYN_LCP]             = {"lcp", OPT | AVRO_DOUBLE},
    [SYN_FCP]             = {"fcp", OPT | AVRO_DOUBLE},
    [SYN_CLS]             = {"cls", OPT | AVRO_DOUBLE},
    [SYN_TTFB]            = {"ttfb", OPT | AVRO_DOUBLE},
    [SYN_TBT]             = {"tbt", OPT | AVRO_DOUBLE},
    [SYN_LOAD_TIME]       = {"load_time", OPT | AVRO_DOUBLE},
};

static const struct field_spec crumb_fields[CRUMB__CNT] = {
    [CRUMB_TIMESTAMP] = {"timestamp", AVRO_INT64},
    [CRUMB_CATEGORY]  = {"category", AVRO_STRING},
    [CRUMB_MESSAGE]   = {"message", AVRO_STRING},
};

static const struct field_spec issue_fields[ISSUE__CNT] = {
    [ISSUE_ID]            = {"issue_id", AVRO_STRING},
    [ISSUE_TENANT_ID]     = {"tenant_id", AVRO_STRING},
    [ISSUE_KIND]          = {"kind", AVRO_STRING},
    [ISSUE_STATE]         = {"state", AVRO_STRING},
    [ISSUE_SEVERITY]      = {"severity", AVRO_STRING},
    [ISSUE_TITLE]         = {"title", AVRO_STRING},
    [ISSUE_SOURCE]        = {"source", AVRO_STRING},
    [ISSUE_ROUTE]         = {"route", OPT | AVRO_STRING},
    [ISSUE_SEGMENT_TYPE]  = {"segment_type", OPT | AVRO_STRING},
    [ISSUE_SEGMENT_VALUE] = {"segment_value", OPT | AVRO_STRING},
    [ISSUE_METRIC]        = {"metric", OPT | AVRO_STRING},
    [ISSUE_OBSERVED]      = {"observed", OPT | AVRO_DOUBLE},
    [ISSUE_BASELINE]      = {"baseline", OPT | AVRO_DOUBLE},
    [ISSUE_THRESHOLD]     = {"threshold", OPT | AVRO_DOUBLE},
    [ISSUE_SAMPLE_SIZE]   = {"sample_size", OPT | AVRO_INT64},
    [ISSUE_OPENED_AT]     = {"opened_at", AVRO_INT64},
    [ISSUE_UPDATED_AT]    = {"updated_at", AVRO_INT64},
    [ISSUE_RESOLVED_AT]   = {"resolved_at", OPT | AVRO_INT64},
    [ISSUE_VERSION]       = {"version", AVRO_INT64},
    [ISSUE_EVIDENCE]      = {"evidence", AVRO_MAP},
};

static const struct field_spec alert_fields[ALERT__CNT] = {
    [ALERT_ID]         = {"alert_id", AVRO_STRING},
    [ALERT_ISSUE_ID]   = {"issue_id", AVRO_STRING},
    [ALERT_TENANT_ID]  = {"tenant_id", AVRO_STRING},
    [ALERT_CHANNEL]    = {"channel", AVRO_STRING},
    [ALERT_KIND]       = {"kind", AVRO_STRING},
    [ALERT_SEVERITY]   = {"severity", AVRO_STRING},
    [ALERT_TITLE]      = {"title", AVRO_STRING},
    [ALERT_SUMMARY]    = {"summary", AVRO_STRING},
    [ALERT_GROUP_KEY]  = {"group_key", AVRO_STRING},
    [ALERT_CREATED_AT] = {"created_at", AVRO_INT64},
    [ALERT_ISSUE_IDS]  = {"issue_ids", AVRO_ARRAY},
};

static const struct field_spec eagg_fields[EAGG__CNT] = {
    [EAGG_AGGREGATE_ID]       = {"aggregate_id", AVRO_STRING},
    [EAGG_TENANT_ID]          = {"tenant_id", AVRO_STRING},
    [EAGG_GROUP_ID]           = {"group_id", AVRO_STRING},
    [EAGG_ROUTE]              = {"route", AVRO_STRING},
    [EAGG_WINDOW_START]       = {"window_start", AVRO_INT64},
    [EAGG_WINDOW_END]         = {"window_end", AVRO_INT64},
    [EAGG_ERRORS]             = {"errors", AVRO_INT64},
    [EAGG_WEIGHTED_ERRORS]    = {"weighted_errors", AVRO_DOUBLE},
    [EAGG_SESSIONS]           = {"sessions", AVRO_INT64},
    [EAGG_SESSIONS_ESTIMATED] = {"sessions_estimated", AVRO_BOOLEAN},
    [EAGG_PAGE_VIEWS]         = {"page_views", OPT | AVRO_DOUBLE},
    [EAGG_ERROR_RATE]         = {"error_rate", OPT | AVRO_DOUBLE},
    [EAGG_CATEGORY]           = {"category", AVRO_STRING},
    [EAGG_SEVERITY]           = {"severity", AVRO_STRING},
};

/* The metric each optional vital field carries. */
static const struct {
        enum rum_field field;
        rs_metric_t    metric;
} vital_fields[] = {
    {RUM_LCP, RS_METRIC_LCP},   {RUM_INP, RS_METRIC_INP},
    {RUM_CLS, RS_METRIC_CLS},   {RUM_FCP, RS_METRIC_FCP},
    {RUM_TTFB, RS_METRIC_TTFB},
};

#define VITAL_FIELD_CNT (sizeof(vital_fields) / sizeof(vital_fields[0]))

static const rs_metric_t nav_metrics[NAV__CNT] = {
    [NAV_DNS]            = RS_METRIC_NAV_DNS,
    [NAV_CONNECT]        = RS_METRIC_NAV_CONNECT,
    [NAV_TLS]            = RS_METRIC_NAV_TLS,
    [NAV_REQUEST]        = RS_METRIC_NAV_REQUEST,
    [NAV_RESPONSE]       = RS_METRIC_NAV_RESPONSE,
    [NAV_DOM_PROCESSING] = RS_METRIC_NAV_DOM,
    [NAV_LOAD]           = RS_METRIC_NAV_LOAD,
};


static avro_schema_t deref(avro_schema_t s) {
        while (s && is_avro_link(s))
                s = avro_schema_link_target(s);
        return s;
}

/*
 * Compares record schema s with specs. Returns 0, or -1 with the first
 * mismatch in errstr. *innerp (if given) gets the schema of the record,
 * map or array inside field inner_idx, for the caller to check further.
 */
static int check_record(avro_schema_t s, const char *what,
                        const struct field_spec *specs, size_t cnt,
                        size_t inner_idx, avro_schema_t *innerp, char *errstr,
                        size_t errstr_size) {
        size_t i;

        s = deref(s);
        if (!is_avro_record(s)) {
                snprintf(errstr, errstr_size, "%s is not a record", what);
                return -1;
        }
        if (avro_schema_record_size(s) != cnt) {
                snprintf(errstr, errstr_size, "%s has %zu fields, expected %zu",
                         what, avro_schema_record_size(s), cnt);
                return -1;
        }
        for (i = 0; i < cnt; i++) {
                const char   *name = avro_schema_record_field_name(s, (int)i);
                avro_schema_t f =
                    deref(avro_schema_record_field_get_by_index(s, (int)i));
                int want = specs[i].type & ~OPT;

                if (strcmp(name, specs[i].name)) {
                        snprintf(errstr, errstr_size,
                                 "%s field %zu is %s, expected %s", what, i,
                                 name, specs[i].name);
                        return -1;
                }
                if (specs[i].type & OPT) {
                        if (!is_avro_union(f) ||
                            avro_schema_union_size(f) != 2 ||
                            !is_avro_null(
                                deref(avro_schema_union_branch(f, 0)))) {
                                snprintf(errstr, errstr_size,
                                         "%s.%s is not [\"null\", ...]", what,
                                         name);
                                return -1;
                        }
                        f = deref(avro_schema_union_branch(f, 1));
                }
                if ((int)avro_typeof(f) != want) {
                        snprintf(errstr, errstr_size,
                                 "%s.%s is a %s, expected type %d", what, name,
                                 avro_schema_type_name(f), want);
                        return -1;
                }
                if (innerp && i == inner_idx)
                        *innerp = f;
        }
        return 0;
}

static avro_schema_t parse_builtin(const char *name, char *errstr,
                                   size_t errstr_size) {
        const char   *json = rs_avro_builtin_json(name);
        avro_schema_t s;

        if (!json) {
                snprintf(errstr, errstr_size, "schema %s is not compiled in",
                         name);
                return NULL;
        }
        if (avro_schema_from_json_length(json, strlen(json), &s)) {
                snprintf(errstr, errstr_size, "schema %s: %s", name,
                         avro_strerror());
                return NULL;
        }
        return s;
}

/* The records of the error path: ErrorEvent (with Breadcrumb), Issue and
 * ErrorAggregate. */
static int check_error_schemas(char *errstr, size_t errstr_size) {
        avro_schema_t err = NULL, issue = NULL, eagg = NULL, inner = NULL;
        int           r = -1;

        if (!(err = parse_builtin("error_event", errstr, errstr_size)) ||
            !(issue = parse_builtin("issue", errstr, errstr_size)) ||
            !(eagg = parse_builtin("error_aggregate", errstr, errstr_size)))
                goto out;

        if (check_record(err, "ErrorEvent", err_fields, ERR__CNT,
                         ERR_BREADCRUMBS, &inner, errstr, errstr_size) == -1 ||
            check_record(avro_schema_array_items(inner), "Breadcrumb",
                         crumb_fields, CRUMB__CNT, 0, NULL, errstr,
                         errstr_size) == -1)
                goto out;

        if (check_record(issue, "Issue", issue_fields, ISSUE__CNT,
                         ISSUE_EVIDENCE, &inner, errstr, errstr_size) == -1)
                goto out;
        if (!is_avro_string(deref(avro_schema_map_values(inner)))) {
                snprintf(errstr, errstr_size,
                         "Issue.evidence is not a map of string");
                goto out;
        }

        if (check_record(eagg, "ErrorAggregate", eagg_fields, EAGG__CNT, 0,
                         NULL, errstr, errstr_size) == -1)
                goto out;
        r = 0;

out:
        if (err)
                avro_schema_decref(err);
        if (issue)
                avro_schema_decref(issue);
        if (eagg)
                avro_schema_decref(eagg);
        return r;
}

static int check_alert_schema(char *errstr, size_t errstr_size) {
        avro_schema_t alert = parse_builtin("alert", errstr, errstr_size);
        avro_schema_t inner = NULL;
        int           r;

        if (!alert)
                return -1;
        r = check_record(alert, "Alert", alert_fields, ALERT__CNT,
                         ALERT_ISSUE_IDS, &inner, errstr, errstr_size);
        if (r == 0 && !is_avro_string(deref(avro_schema_array_items(inner)))) {
                snprintf(errstr, errstr_size,
                         "Alert.issue_ids is not an array of string");
                r = -1;
        }
        avro_schema_decref(alert);
        return r;
}

static int check_synthetic_schema(char *errstr, size_t errstr_size) {
        avro_schema_t syn =
            parse_builtin("synthetic_result", errstr, errstr_size);
        int r;

        if (!syn)
                return -1;
        r = check_record(syn, "SyntheticResult", syn_fields, SYN__CNT, 0, NULL,
                         errstr, errstr_size);
        avro_schema_decref(syn);
        return r;
}

int rs_event_check_schemas(char *errstr, size_t errstr_size) {
        avro_schema_t rum = NULL, agg = NULL, inner = NULL;
        int           r = -1;

        if (!(rum = parse_builtin("rum_event", errstr, errstr_size)) ||
            !(agg = parse_builtin("rum_aggregate", errstr, errstr_size)))
                goto out;

        if (check_record(rum, "RumEvent", rum_fields, RUM__CNT,
                         RUM_NAVIGATION_TIMING, &inner, errstr,
                         errstr_size) == -1 ||
            check_record(inner, "NavigationTiming", nav_fields, NAV__CNT, 0,
                         NULL, errstr, errstr_size) == -1)
                goto out;
        inner = avro_schema_union_branch(
            avro_schema_record_field_get_by_index(rum, RUM_CUSTOM_TIMINGS), 1);
        if (!is_avro_double(deref(avro_schema_map_values(deref(inner))))) {
                snprintf(errstr, errstr_size,
                         "RumEvent.custom_timings is not a map of double");
                goto out;
        }

        if (check_record(agg, "RumAggregate", agg_fields, AGG__CNT, AGG_METRICS,
                         &inner, errstr, errstr_size) == -1 ||
            check_record(avro_schema_array_items(inner), "MetricSummary",
                         summary_fields, SUM__CNT, 0, NULL, errstr,
                         errstr_size) == -1)
                goto out;
        if (check_error_schemas(errstr, errstr_size) == -1 ||
            check_synthetic_schema(errstr, errstr_size) == -1 ||
            check_alert_schema(errstr, errstr_size) == -1)
                goto out;
        r = 0;

out:
        if (rum)
                avro_schema_decref(rum);
        if (agg)
                avro_schema_decref(agg);
        return r;
}


/*
 * Readers. Each helper fails with the field named in errstr; avro-c's own
 * message adds nothing when a value simply has another shape.
 */
static int fail(const struct field_spec *spec, const char *problem,
                char *errstr, size_t errstr_size) {
        snprintf(errstr, errstr_size, "field %s: %s", spec->name, problem);
        return -1;
}

static int get_field(avro_value_t *rec, const struct field_spec *specs,
                     size_t idx, avro_value_t *f, char *errstr,
                     size_t errstr_size) {
        if (avro_value_get_by_index(rec, idx, f, NULL))
                return fail(&specs[idx], "missing", errstr, errstr_size);
        return 0;
}

static int get_str(avro_value_t *rec, const struct field_spec *specs,
                   size_t idx, const char **out, char *errstr,
                   size_t errstr_size) {
        avro_value_t f;
        size_t       size;

        if (get_field(rec, specs, idx, &f, errstr, errstr_size) == -1)
                return -1;
        if (avro_value_get_string(&f, out, &size))
                return fail(&specs[idx], "not a string", errstr, errstr_size);
        return 0;
}

static int get_long(avro_value_t *rec, const struct field_spec *specs,
                    size_t idx, int64_t *out, char *errstr,
                    size_t errstr_size) {
        avro_value_t f;

        if (get_field(rec, specs, idx, &f, errstr, errstr_size) == -1)
                return -1;
        if (avro_value_get_long(&f, out))
                return fail(&specs[idx], "not a long", errstr, errstr_size);
        return 0;
}

static int get_double(avro_value_t *rec, const struct field_spec *specs,
                      size_t idx, double *out, char *errstr,
                      size_t errstr_size) {
        avro_value_t f;

        if (get_field(rec, specs, idx, &f, errstr, errstr_size) == -1)
                return -1;
        if (avro_value_get_double(&f, out))
                return fail(&specs[idx], "not a double", errstr, errstr_size);
        return 0;
}

/* The value of an optional field, or *presentp = 0 if it is null. */
static int get_opt(avro_value_t *rec, const struct field_spec *specs,
                   size_t idx, avro_value_t *branch, int *presentp,
                   char *errstr, size_t errstr_size) {
        avro_value_t f;
        int          disc;

        if (get_field(rec, specs, idx, &f, errstr, errstr_size) == -1)
                return -1;
        if (avro_value_get_discriminant(&f, &disc) || disc < 0 || disc > 1 ||
            avro_value_get_current_branch(&f, branch))
                return fail(&specs[idx], "not an optional value", errstr,
                            errstr_size);
        *presentp = disc == 1;
        return 0;
}

static int get_opt_double(avro_value_t *rec, const struct field_spec *specs,
                          size_t idx, double *out, char *errstr,
                          size_t errstr_size) {
        avro_value_t b;
        int          present;

        if (get_opt(rec, specs, idx, &b, &present, errstr, errstr_size) == -1)
                return -1;
        *out = NAN;
        if (present && avro_value_get_double(&b, out))
                return fail(&specs[idx], "not a double", errstr, errstr_size);
        return 0;
}

/* An optional string: NULL if null. */
static int get_opt_str(avro_value_t *rec, const struct field_spec *specs,
                       size_t idx, const char **out, char *errstr,
                       size_t errstr_size) {
        avro_value_t b;
        int          present;

        if (get_opt(rec, specs, idx, &b, &present, errstr, errstr_size) == -1)
                return -1;
        *out = NULL;
        if (present && avro_value_get_string(&b, out, NULL))
                return fail(&specs[idx], "not a string", errstr, errstr_size);
        return 0;
}

/* An optional int: -1 if null. */
static int get_opt_int(avro_value_t *rec, const struct field_spec *specs,
                       size_t idx, int32_t *out, char *errstr,
                       size_t errstr_size) {
        avro_value_t b;
        int          present;

        if (get_opt(rec, specs, idx, &b, &present, errstr, errstr_size) == -1)
                return -1;
        *out = -1;
        if (present && avro_value_get_int(&b, out))
                return fail(&specs[idx], "not an int", errstr, errstr_size);
        return 0;
}

/* An optional long: -1 if null. */
static int get_opt_long(avro_value_t *rec, const struct field_spec *specs,
                        size_t idx, int64_t *out, char *errstr,
                        size_t errstr_size) {
        avro_value_t b;
        int          present;

        if (get_opt(rec, specs, idx, &b, &present, errstr, errstr_size) == -1)
                return -1;
        *out = -1;
        if (present && avro_value_get_long(&b, out))
                return fail(&specs[idx], "not a long", errstr, errstr_size);
        return 0;
}

static int get_bool(avro_value_t *rec, const struct field_spec *specs,
                    size_t idx, int *out, char *errstr, size_t errstr_size) {
        avro_value_t f;

        if (get_field(rec, specs, idx, &f, errstr, errstr_size) == -1)
                return -1;
        if (avro_value_get_boolean(&f, out))
                return fail(&specs[idx], "not a boolean", errstr, errstr_size);
        return 0;
}

static int read_custom(avro_value_t *map, rs_rum_event_t *ev, char *errstr,
                       size_t errstr_size) {
        const struct field_spec *spec = &rum_fields[RUM_CUSTOM_TIMINGS];
        avro_value_t             v;
        size_t                   i, cnt;

        if (avro_value_get_size(map, &cnt))
                return fail(spec, "not a map", errstr, errstr_size);
        for (i = 0; i < cnt; i++) {
                rs_custom_timing_t *ct;

                if (ev->custom_cnt == RS_EVENT_MAX_CUSTOM_TIMINGS) {
                        ev->custom_dropped = cnt - i;
                        break;
                }
                ct = &ev->custom[ev->custom_cnt];
                if (avro_value_get_by_index(map, i, &v, &ct->name) ||
                    avro_value_get_double(&v, &ct->value))
                        return fail(spec, "not a map of double", errstr,
                                    errstr_size);
                ev->custom_cnt++;
        }
        return 0;
}

int rs_rum_event_read(avro_value_t *v, rs_rum_event_t *ev, char *errstr,
                      size_t errstr_size) {
        const struct field_spec *s = rum_fields;
        avro_value_t             f, b;
        size_t                   i;
        int                      present;

        for (i = 0; i < RS_METRIC_CNT; i++)
                ev->metrics[i] = NAN;
        ev->custom_cnt     = 0;
        ev->custom_dropped = 0;

        if (get_str(v, s, RUM_EVENT_ID, &ev->event_id, errstr, errstr_size) ||
            get_str(v, s, RUM_TENANT_ID, &ev->tenant_id, errstr, errstr_size) ||
            get_str(v, s, RUM_SESSION_ID, &ev->session_id, errstr,
                    errstr_size) ||
            get_opt(v, s, RUM_USER_ID, &b, &present, errstr, errstr_size))
                return -1;
        ev->user_id = NULL;
        if (present && avro_value_get_string(&b, &ev->user_id, NULL))
                return fail(&s[RUM_USER_ID], "not a string", errstr,
                            errstr_size);

        if (get_long(v, s, RUM_TIMESTAMP, &ev->timestamp_ms, errstr,
                     errstr_size) ||
            get_str(v, s, RUM_URL, &ev->url, errstr, errstr_size) ||
            get_str(v, s, RUM_NAVIGATION_TYPE, &ev->navigation_type, errstr,
                    errstr_size) ||
            get_str(v, s, RUM_DEVICE_TYPE, &ev->device_type, errstr,
                    errstr_size) ||
            get_str(v, s, RUM_COUNTRY, &ev->country, errstr, errstr_size) ||
            get_str(v, s, RUM_CONNECTION_TYPE, &ev->connection_type, errstr,
                    errstr_size) ||
            get_str(v, s, RUM_BROWSER, &ev->browser, errstr, errstr_size) ||
            get_field(v, s, RUM_CONSENT, &f, errstr, errstr_size))
                return -1;
        if (avro_value_get_boolean(&f, &ev->consent))
                return fail(&s[RUM_CONSENT], "not a boolean", errstr,
                            errstr_size);
        if (get_double(v, s, RUM_SAMPLE_RATE, &ev->sample_rate, errstr,
                       errstr_size))
                return -1;

        for (i = 0; i < VITAL_FIELD_CNT; i++)
                if (get_opt_double(v, s, vital_fields[i].field,
                                   &ev->metrics[vital_fields[i].metric], errstr,
                                   errstr_size))
                        return -1;

        if (get_opt(v, s, RUM_NAVIGATION_TIMING, &b, &present, errstr,
                    errstr_size))
                return -1;
        for (i = 0; present && i < NAV__CNT; i++)
                if (get_double(&b, nav_fields, i, &ev->metrics[nav_metrics[i]],
                               errstr, errstr_size))
                        return -1;

        if (get_opt(v, s, RUM_CUSTOM_TIMINGS, &b, &present, errstr,
                    errstr_size))
                return -1;
        if (present && read_custom(&b, ev, errstr, errstr_size) == -1)
                return -1;
        return 0;
}


/* Writers. They fail (-1) only on a NULL where the schema needs a string,
 * or if v does not have the shape. */
static int set_str(avro_value_t *rec, size_t idx, const char *str) {
        avro_value_t f;

        if (!str || avro_value_get_by_index(rec, idx, &f, NULL) ||
            avro_value_set_string(&f, str))
                return -1;
        return 0;
}

static int set_long(avro_value_t *rec, size_t idx, int64_t l) {
        avro_value_t f;

        if (avro_value_get_by_index(rec, idx, &f, NULL) ||
            avro_value_set_long(&f, l))
                return -1;
        return 0;
}

static int set_double(avro_value_t *rec, size_t idx, double d) {
        avro_value_t f;

        if (avro_value_get_by_index(rec, idx, &f, NULL) ||
            avro_value_set_double(&f, d))
                return -1;
        return 0;
}

/* Selects the null (present = 0) or the value branch of an optional
 * field; *branch is the value to set if present. */
static int set_opt(avro_value_t *rec, size_t idx, int present,
                   avro_value_t *branch) {
        avro_value_t f;

        if (avro_value_get_by_index(rec, idx, &f, NULL) ||
            avro_value_set_branch(&f, present ? 1 : 0, branch))
                return -1;
        if (!present && avro_value_set_null(branch))
                return -1;
        return 0;
}

static int set_opt_double(avro_value_t *rec, size_t idx, double d) {
        avro_value_t b;

        if (set_opt(rec, idx, !isnan(d), &b))
                return -1;
        if (!isnan(d) && avro_value_set_double(&b, d))
                return -1;
        return 0;
}

static int set_opt_str(avro_value_t *rec, size_t idx, const char *str) {
        avro_value_t b;

        if (set_opt(rec, idx, str != NULL, &b))
                return -1;
        if (str && avro_value_set_string(&b, str))
                return -1;
        return 0;
}

/* A negative int or long is absent. */
static int set_opt_int(avro_value_t *rec, size_t idx, int32_t i) {
        avro_value_t b;

        if (set_opt(rec, idx, i >= 0, &b))
                return -1;
        if (i >= 0 && avro_value_set_int(&b, i))
                return -1;
        return 0;
}

static int set_opt_long(avro_value_t *rec, size_t idx, int64_t l) {
        avro_value_t b;

        if (set_opt(rec, idx, l >= 0, &b))
                return -1;
        if (l >= 0 && avro_value_set_long(&b, l))
                return -1;
        return 0;
}

static int set_bool(avro_value_t *rec, size_t idx, int flag) {
        avro_value_t f;

        if (avro_value_get_by_index(rec, idx, &f, NULL) ||
            avro_value_set_boolean(&f, flag != 0))
                return -1;
        return 0;
}

int rs_rum_event_write(avro_value_t *v, const rs_rum_event_t *ev) {
        avro_value_t f, b, child;
        size_t       i;
        int          nav = 0;

        if (set_str(v, RUM_EVENT_ID, ev->event_id) ||
            set_str(v, RUM_TENANT_ID, ev->tenant_id) ||
            set_str(v, RUM_SESSION_ID, ev->session_id) ||
            set_opt(v, RUM_USER_ID, ev->user_id != NULL, &b) ||
            (ev->user_id && avro_value_set_string(&b, ev->user_id)) ||
            set_long(v, RUM_TIMESTAMP, ev->timestamp_ms) ||
            set_str(v, RUM_URL, ev->url) ||
            set_str(v, RUM_NAVIGATION_TYPE, ev->navigation_type) ||
            set_str(v, RUM_DEVICE_TYPE, ev->device_type) ||
            set_str(v, RUM_COUNTRY, ev->country) ||
            set_str(v, RUM_CONNECTION_TYPE, ev->connection_type) ||
            set_str(v, RUM_BROWSER, ev->browser) ||
            avro_value_get_by_index(v, RUM_CONSENT, &f, NULL) ||
            avro_value_set_boolean(&f, ev->consent != 0) ||
            set_double(v, RUM_SAMPLE_RATE, ev->sample_rate))
                return -1;

        for (i = 0; i < VITAL_FIELD_CNT; i++)
                if (set_opt_double(v, vital_fields[i].field,
                                   ev->metrics[vital_fields[i].metric]))
                        return -1;

        for (i = 0; i < NAV__CNT; i++)
                if (!isnan(ev->metrics[nav_metrics[i]]))
                        nav = 1;
        if (set_opt(v, RUM_NAVIGATION_TIMING, nav, &b))
                return -1;
        for (i = 0; nav && i < NAV__CNT; i++)
                if (set_double(&b, i, ev->metrics[nav_metrics[i]]))
                        return -1;

        if (set_opt(v, RUM_CUSTOM_TIMINGS, ev->custom_cnt > 0, &b))
                return -1;
        if (ev->custom_cnt > 0) {
                /* The branch may hold a map from an earlier write. */
                if (avro_value_reset(&b))
                        return -1;
                for (i = 0; i < ev->custom_cnt; i++)
                        if (!ev->custom[i].name ||
                            avro_value_add(&b, ev->custom[i].name, &child, NULL,
                                           NULL) ||
                            avro_value_set_double(&child, ev->custom[i].value))
                                return -1;
        }
        return 0;
}


static int read_summary(avro_value_t *item, rs_metric_summary_t *m,
                        char *errstr, size_t errstr_size) {
        const struct field_spec *s = summary_fields;
        avro_value_t             f;
        static const struct {
                enum summary_field field;
                size_t             offset;
        } doubles[] = {
            {SUM_WEIGHT, offsetof(rs_metric_summary_t, weight)},
            {SUM_MEAN, offsetof(rs_metric_summary_t, mean)},
            {SUM_P50, offsetof(rs_metric_summary_t, p50)},
            {SUM_P75, offsetof(rs_metric_summary_t, p75)},
            {SUM_P95, offsetof(rs_metric_summary_t, p95)},
            {SUM_P99, offsetof(rs_metric_summary_t, p99)},
            {SUM_GOOD, offsetof(rs_metric_summary_t, good)},
            {SUM_NEEDS_IMPROVEMENT,
             offsetof(rs_metric_summary_t, needs_improvement)},
            {SUM_POOR, offsetof(rs_metric_summary_t, poor)},
        };
        size_t i;

        if (get_str(item, s, SUM_NAME, &m->name, errstr, errstr_size) ||
            get_str(item, s, SUM_UNIT, &m->unit, errstr, errstr_size) ||
            get_long(item, s, SUM_SAMPLES, &m->samples, errstr, errstr_size))
                return -1;
        for (i = 0; i < sizeof(doubles) / sizeof(doubles[0]); i++)
                if (get_double(item, s, doubles[i].field,
                               (double *)((char *)m + doubles[i].offset),
                               errstr, errstr_size))
                        return -1;
        if (get_field(item, s, SUM_SKETCH, &f, errstr, errstr_size))
                return -1;
        if (avro_value_get_bytes(&f, &m->sketch, &m->sketch_len))
                return fail(&s[SUM_SKETCH], "not bytes", errstr, errstr_size);
        return 0;
}

int rs_rum_aggregate_read(avro_value_t *v, rs_rum_aggregate_t *agg,
                          rs_metric_summary_t *metrics, size_t metrics_cap,
                          char *errstr, size_t errstr_size) {
        const struct field_spec *s = agg_fields;
        avro_value_t             arr, item;
        size_t                   i, cnt;

        agg->metrics    = metrics;
        agg->metric_cnt = 0;
        if (get_str(v, s, AGG_AGGREGATE_ID, &agg->aggregate_id, errstr,
                    errstr_size) ||
            get_str(v, s, AGG_TENANT_ID, &agg->tenant_id, errstr,
                    errstr_size) ||
            get_str(v, s, AGG_ROUTE, &agg->route, errstr, errstr_size) ||
            get_str(v, s, AGG_SEGMENT_TYPE, &agg->segment_type, errstr,
                    errstr_size) ||
            get_str(v, s, AGG_SEGMENT_VALUE, &agg->segment_value, errstr,
                    errstr_size) ||
            get_long(v, s, AGG_WINDOW_START, &agg->window_start_ms, errstr,
                     errstr_size) ||
            get_long(v, s, AGG_WINDOW_END, &agg->window_end_ms, errstr,
                     errstr_size) ||
            get_long(v, s, AGG_EVENTS, &agg->events, errstr, errstr_size) ||
            get_double(v, s, AGG_PAGE_VIEWS, &agg->page_views, errstr,
                       errstr_size) ||
            get_field(v, s, AGG_METRICS, &arr, errstr, errstr_size))
                return -1;

        if (avro_value_get_size(&arr, &cnt))
                return fail(&s[AGG_METRICS], "not an array", errstr,
                            errstr_size);
        /* Dropping summaries would silently lose data downstream. */
        if (cnt > metrics_cap) {
                snprintf(errstr, errstr_size,
                         "field metrics: %zu summaries, room for %zu", cnt,
                         metrics_cap);
                return -1;
        }
        for (i = 0; i < cnt; i++) {
                if (avro_value_get_by_index(&arr, i, &item, NULL))
                        return fail(&s[AGG_METRICS], "missing item", errstr,
                                    errstr_size);
                if (read_summary(&item, &metrics[i], errstr, errstr_size))
                        return -1;
        }
        agg->metric_cnt = cnt;
        return 0;
}

static int write_summary(avro_value_t *item, const rs_metric_summary_t *m) {
        avro_value_t f;

        if (m->sketch_len && !m->sketch)
                return -1;
        if (set_str(item, SUM_NAME, m->name) ||
            set_str(item, SUM_UNIT, m->unit) ||
            set_long(item, SUM_SAMPLES, m->samples) ||
            set_double(item, SUM_WEIGHT, m->weight) ||
            set_double(item, SUM_MEAN, m->mean) ||
            set_double(item, SUM_P50, m->p50) ||
            set_double(item, SUM_P75, m->p75) ||
            set_double(item, SUM_P95, m->p95) ||
            set_double(item, SUM_P99, m->p99) ||
            set_double(item, SUM_GOOD, m->good) ||
            set_double(item, SUM_NEEDS_IMPROVEMENT, m->needs_improvement) ||
            set_double(item, SUM_POOR, m->poor) ||
            avro_value_get_by_index(item, SUM_SKETCH, &f, NULL))
                return -1;
        /* avro-c wants a buffer even for 0 bytes. */
        if (avro_value_set_bytes(&f, m->sketch ? (void *)m->sketch : (void *)"",
                                 m->sketch_len))
                return -1;
        return 0;
}

int rs_rum_aggregate_write(avro_value_t *v, const rs_rum_aggregate_t *agg) {
        avro_value_t arr, item;
        size_t       i;

        if (set_str(v, AGG_AGGREGATE_ID, agg->aggregate_id) ||
            set_str(v, AGG_TENANT_ID, agg->tenant_id) ||
            set_str(v, AGG_ROUTE, agg->route) ||
            set_str(v, AGG_SEGMENT_TYPE, agg->segment_type) ||
            set_str(v, AGG_SEGMENT_VALUE, agg->segment_value) ||
            set_long(v, AGG_WINDOW_START, agg->window_start_ms) ||
            set_long(v, AGG_WINDOW_END, agg->window_end_ms) ||
            set_long(v, AGG_EVENTS, agg->events) ||
            set_double(v, AGG_PAGE_VIEWS, agg->page_views) ||
            avro_value_get_by_index(v, AGG_METRICS, &arr, NULL) ||
            /* the array may hold items from an earlier write */
            avro_value_reset(&arr))
                return -1;
        if (agg->metric_cnt && !agg->metrics)
                return -1;
        for (i = 0; i < agg->metric_cnt; i++)
                if (avro_value_append(&arr, &item, NULL) ||
                    write_summary(&item, &agg->metrics[i]))
                        return -1;
        return 0;
}

/*
 * Direct encoding of RumAggregate (Avro binary: longs as zigzag varints,
 * doubles as 8 little-endian bytes, strings and bytes length-prefixed,
 * arrays as one counted block and a 0 terminator).
 */
typedef struct wbuf_s {
        unsigned char *p;
        size_t         len, size;
} wbuf_t;

static inline void w_raw(wbuf_t *w, const void *src, size_t n) {
        if (n > 0 && w->len + n <= w->size)
                memcpy(w->p + w->len, src, n);
        w->len += n;
}

static void w_long(wbuf_t *w, int64_t v) {
        uint64_t      z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        unsigned char tmp[10], *p;
        size_t        n = 0;

        /* Room for the longest: written in place. */
        if (w->len + sizeof(tmp) <= w->size) {
                p = w->p + w->len;
                while (z > 0x7f) {
                        *p++ = (unsigned char)(z | 0x80);
                        z >>= 7;
                }
                *p++   = (unsigned char)z;
                w->len = (size_t)(p - w->p);
                return;
        }
        while (z > 0x7f) {
                tmp[n++] = (unsigned char)(z | 0x80);
                z >>= 7;
        }
        tmp[n++] = (unsigned char)z;
        w_raw(w, tmp, n);
}

/* Avro's doubles are IEEE 754 little endian: the host's bytes as they
 * are on a little-endian host. */
static inline void w_double(wbuf_t *w, double d) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (w->len + 8 <= w->size)
                memcpy(w->p + w->len, &d, 8);
        w->len += 8;
#else
        unsigned char tmp[8];
        uint64_t      u;
        int           i;

        memcpy(&u, &d, sizeof(u));
        for (i = 0; i < 8; i++)
                tmp[i] = (unsigned char)(u >> (8 * i));
        w_raw(w, tmp, 8);
#endif
}

static void w_bytes(wbuf_t *w, const void *b, size_t n) {
        w_long(w, (int64_t)n);
        w_raw(w, b, n);
}

static void w_str(wbuf_t *w, const char *s) {
        w_bytes(w, s, strlen(s));
}

size_t rs_rum_aggregate_encode(const rs_rum_aggregate_t *agg, int32_t schema_id,
                               void *buf, size_t size) {
        wbuf_t        w                        = {buf, 0, size};
        unsigned char hdr[RS_AVRO_HEADER_SIZE] = {
            0, (unsigned char)((uint32_t)schema_id >> 24),
            (unsigned char)((uint32_t)schema_id >> 16),
            (unsigned char)((uint32_t)schema_id >> 8),
            (unsigned char)schema_id};
        size_t i;

        w_raw(&w, hdr, sizeof(hdr));
        w_str(&w, agg->aggregate_id);
        w_str(&w, agg->tenant_id);
        w_str(&w, agg->route);
        w_str(&w, agg->segment_type);
        w_str(&w, agg->segment_value);
        w_long(&w, agg->window_start_ms);
        w_long(&w, agg->window_end_ms);
        w_long(&w, agg->events);
        w_double(&w, agg->page_views);
        if (agg->metric_cnt > 0) {
                w_long(&w, (int64_t)agg->metric_cnt);
                for (i = 0; i < agg->metric_cnt; i++) {
                        const rs_metric_summary_t *m = &agg->metrics[i];
                        w_str(&w, m->name);
                        w_str(&w, m->unit);
                        w_long(&w, m->samples);
                        w_double(&w, m->weight);
                        w_double(&w, m->mean);
                        w_double(&w, m->p50);
                        w_double(&w, m->p75);
                        w_double(&w, m->p95);
                        w_double(&w, m->p99);
                        w_double(&w, m->good);
                        w_double(&w, m->needs_improvement);
                        w_double(&w, m->poor);
                        w_bytes(&w, m->sketch, m->sketch_len);
                }
        }
        w_long(&w, 0);
        return w.len;
}


/*
 * ErrorEvent, Issue and ErrorAggregate: the error path's records, read and
 * written through Avro values like the ones above. Their volume is that of
 * errors and of (group, route, window) aggregates, far below page views,
 * so they have no direct encoder.
 */
static int read_breadcrumbs(avro_value_t *arr, rs_error_event_t *ev,
                            char *errstr, size_t errstr_size) {
        const struct field_spec *spec = &err_fields[ERR_BREADCRUMBS];
        avro_value_t             item;
        size_t                   i, cnt;

        if (avro_value_get_size(arr, &cnt))
                return fail(spec, "not an array", errstr, errstr_size);
        for (i = 0; i < cnt; i++) {
                rs_breadcrumb_t *bc;

                if (ev->breadcrumb_cnt == RS_EVENT_MAX_BREADCRUMBS) {
                        ev->breadcrumbs_dropped = cnt - i;
                        break;
                }
                bc = &ev->breadcrumbs[ev->breadcrumb_cnt];
                if (avro_value_get_by_index(arr, i, &item, NULL))
                        return fail(spec, "missing item", errstr, errstr_size);
                if (get_long(&item, crumb_fields, CRUMB_TIMESTAMP,
                             &bc->timestamp_ms, errstr, errstr_size) ||
                    get_str(&item, crumb_fields, CRUMB_CATEGORY, &bc->category,
                            errstr, errstr_size) ||
                    get_str(&item, crumb_fields, CRUMB_MESSAGE, &bc->message,
                            errstr, errstr_size))
                        return -1;
                ev->breadcrumb_cnt++;
        }
        return 0;
}

int rs_error_event_read(avro_value_t *v, rs_error_event_t *ev, char *errstr,
                        size_t errstr_size) {
        const struct field_spec *s = err_fields;
        avro_value_t             arr;

        ev->breadcrumb_cnt      = 0;
        ev->breadcrumbs_dropped = 0;
        if (get_str(v, s, ERR_EVENT_ID, &ev->event_id, errstr, errstr_size) ||
            get_str(v, s, ERR_TENANT_ID, &ev->tenant_id, errstr, errstr_size) ||
            get_str(v, s, ERR_SESSION_ID, &ev->session_id, errstr,
                    errstr_size) ||
            get_opt_str(v, s, ERR_USER_ID, &ev->user_id, errstr, errstr_size) ||
            get_long(v, s, ERR_TIMESTAMP, &ev->timestamp_ms, errstr,
                     errstr_size) ||
            get_str(v, s, ERR_KIND, &ev->kind, errstr, errstr_size) ||
            get_str(v, s, ERR_ERROR_TYPE, &ev->error_type, errstr,
                    errstr_size) ||
            get_str(v, s, ERR_MESSAGE, &ev->message, errstr, errstr_size) ||
            get_opt_str(v, s, ERR_STACK, &ev->stack, errstr, errstr_size) ||
            get_opt_str(v, s, ERR_FILE, &ev->file, errstr, errstr_size) ||
            get_opt_int(v, s, ERR_LINE, &ev->line, errstr, errstr_size) ||
            get_opt_int(v, s, ERR_COLUMN, &ev->column, errstr, errstr_size) ||
            get_opt_int(v, s, ERR_HTTP_STATUS, &ev->http_status, errstr,
                        errstr_size) ||
            get_opt_str(v, s, ERR_HTTP_METHOD, &ev->http_method, errstr,
                        errstr_size) ||
            get_opt_str(v, s, ERR_REQUEST_URL, &ev->request_url, errstr,
                        errstr_size) ||
            get_opt_double(v, s, ERR_DURATION, &ev->duration_ms, errstr,
                           errstr_size) ||
            get_str(v, s, ERR_URL, &ev->url, errstr, errstr_size) ||
            get_opt_str(v, s, ERR_ROUTE, &ev->route, errstr, errstr_size) ||
            get_str(v, s, ERR_BROWSER, &ev->browser, errstr, errstr_size) ||
            get_str(v, s, ERR_DEVICE_TYPE, &ev->device_type, errstr,
                    errstr_size) ||
            get_opt_str(v, s, ERR_RELEASE, &ev->release, errstr, errstr_size) ||
            get_field(v, s, ERR_BREADCRUMBS, &arr, errstr, errstr_size) ||
            read_breadcrumbs(&arr, ev, errstr, errstr_size) ||
            get_bool(v, s, ERR_CONSENT, &ev->consent, errstr, errstr_size) ||
            get_double(v, s, ERR_SAMPLE_RATE, &ev->sample_rate, errstr,
                       errstr_size))
                return -1;
        return 0;
}

int rs_error_event_write(avro_value_t *v, const rs_error_event_t *ev) {
        avro_value_t arr, item;
        size_t       i;

        if (ev->breadcrumb_cnt > RS_EVENT_MAX_BREADCRUMBS)
                return -1;
        if (set_str(v, ERR_EVENT_ID, ev->event_id) ||
            set_str(v, ERR_TENANT_ID, ev->tenant_id) ||
            set_str(v, ERR_SESSION_ID, ev->session_id) ||
            set_opt_str(v, ERR_USER_ID, ev->user_id) ||
            set_long(v, ERR_TIMESTAMP, ev->timestamp_ms) ||
            set_str(v, ERR_KIND, ev->kind) ||
            set_str(v, ERR_ERROR_TYPE, ev->error_type) ||
            set_str(v, ERR_MESSAGE, ev->message) ||
            set_opt_str(v, ERR_STACK, ev->stack) ||
            set_opt_str(v, ERR_FILE, ev->file) ||
            set_opt_int(v, ERR_LINE, ev->line) ||
            set_opt_int(v, ERR_COLUMN, ev->column) ||
            set_opt_int(v, ERR_HTTP_STATUS, ev->http_status) ||
            set_opt_str(v, ERR_HTTP_METHOD, ev->http_method) ||
            set_opt_str(v, ERR_REQUEST_URL, ev->request_url) ||
            set_opt_double(v, ERR_DURATION, ev->duration_ms) ||
            set_str(v, ERR_URL, ev->url) ||
            set_opt_str(v, ERR_ROUTE, ev->route) ||
            set_str(v, ERR_BROWSER, ev->browser) ||
            set_str(v, ERR_DEVICE_TYPE, ev->device_type) ||
            set_opt_str(v, ERR_RELEASE, ev->release) ||
            set_bool(v, ERR_CONSENT, ev->consent) ||
            set_double(v, ERR_SAMPLE_RATE, ev->sample_rate) ||
            avro_value_get_by_index(v, ERR_BREADCRUMBS, &arr, NULL) ||
            /* the array may hold items from an earlier write */
            avro_value_reset(&arr))
                return -1;
        for (i = 0; i < ev->breadcrumb_cnt; i++) {
                const rs_breadcrumb_t *bc = &ev->breadcrumbs[i];

                if (avro_value_append(&arr, &item, NULL) ||
                    set_long(&item, CRUMB_TIMESTAMP, bc->timestamp_ms) ||
                    set_str(&item, CRUMB_CATEGORY, bc->category) ||
                    set_str(&item, CRUMB_MESSAGE, bc->message))
                        return -1;
        }
        return 0;
}

/*
 * SyntheticResult: one record per lab run, a few per minute per tenant,
 * so the generic path is plenty.
 */
int rs_synthetic_result_read(avro_value_t *v, rs_synthetic_result_t *r,
                             char *errstr, size_t errstr_size) {
        const struct field_spec *s = syn_fields;

        if (get_str(v, s, SYN_RUN_ID, &r->run_id, errstr, errstr_size) ||
            get_str(v, s, SYN_TENANT_ID, &r->tenant_id, errstr, errstr_size) ||
            get_str(v, s, SYN_TEST_ID, &r->test_id, errstr, errstr_size) ||
            get_str(v, s, SYN_ROUTE, &r->route, errstr, errstr_size) ||
            get_str(v, s, SYN_URL, &r->url, errstr, errstr_size) ||
            get_long(v, s, SYN_TIMESTAMP, &r->timestamp_ms, errstr,
                     errstr_size) ||
            get_str(v, s, SYN_LOCATION, &r->location, errstr, errstr_size) ||
            get_str(v, s, SYN_DEVICE_PROFILE, &r->device_profile, errstr,
                    errstr_size) ||
            get_str(v, s, SYN_NETWORK_PROFILE, &r->network_profile, errstr,
                    errstr_size) ||
            get_bool(v, s, SYN_SUCCESS, &r->success, errstr, errstr_size) ||
            get_opt_str(v, s, SYN_ERROR, &r->error, errstr, errstr_size) ||
            get_opt_double(v, s, SYN_LCP, &r->lcp, errstr, errstr_size) ||
            get_opt_double(v, s, SYN_FCP, &r->fcp, errstr, errstr_size) ||
            get_opt_double(v, s, SYN_CLS, &r->cls, errstr, errstr_size) ||
            get_opt_double(v, s, SYN_TTFB, &r->ttfb, errstr, errstr_size) ||
            get_opt_double(v, s, SYN_TBT, &r->tbt, errstr, errstr_size) ||
            get_opt_double(v, s, SYN_LOAD_TIME, &r->load_time, errstr,
                           errstr_size))
                return -1;
        return 0;
}

int rs_synthetic_result_write(avro_value_t *v, const rs_synthetic_result_t *r) {
        if (set_str(v, SYN_RUN_ID, r->run_id) ||
            set_str(v, SYN_TENANT_ID, r->tenant_id) ||
            set_str(v, SYN_TEST_ID, r->test_id) ||
            set_str(v, SYN_ROUTE, r->route) || set_str(v, SYN_URL, r->url) ||
            set_long(v, SYN_TIMESTAMP, r->timestamp_ms) ||
            set_str(v, SYN_LOCATION, r->location) ||
            set_str(v, SYN_DEVICE_PROFILE, r->device_profile) ||
            set_str(v, SYN_NETWORK_PROFILE, r->network_profile) ||
            set_bool(v, SYN_SUCCESS, r->success) ||
            set_opt_str(v, SYN_ERROR, r->error) ||
            set_opt_double(v, SYN_LCP, r->lcp) ||
            set_opt_double(v, SYN_FCP, r->fcp) ||
            set_opt_double(v, SYN_CLS, r->cls) ||
            set_opt_double(v, SYN_TTFB, r->ttfb) ||
            set_opt_double(v, SYN_TBT, r->tbt) ||
            set_opt_double(v, SYN_LOAD_TIME, r->load_time))
                return -1;
        return 0;
}

static int read_evidence(avro_value_t *map, rs_issue_t *is, char *errstr,
                         size_t errstr_size) {
        const struct field_spec *spec = &issue_fields[ISSUE_EVIDENCE];
        avro_value_t             val;
        size_t                   i, cnt;

        if (avro_value_get_size(map, &cnt))
                return fail(spec, "not a map", errstr, errstr_size);
        for (i = 0; i < cnt; i++) {
                rs_evidence_t *e;

                if (is->evidence_cnt == RS_EVENT_MAX_EVIDENCE) {
                        is->evidence_dropped = cnt - i;
                        break;
                }
                e = &is->evidence[is->evidence_cnt];
                if (avro_value_get_by_index(map, i, &val, &e->key) ||
                    avro_value_get_string(&val, &e->value, NULL))
                        return fail(spec, "not a map of string", errstr,
                                    errstr_size);
                is->evidence_cnt++;
        }
        return 0;
}

int rs_issue_read(avro_value_t *v, rs_issue_t *is, char *errstr,
                  size_t errstr_size) {
        const struct field_spec *s = issue_fields;
        avro_value_t             map;

        is->evidence_cnt     = 0;
        is->evidence_dropped = 0;
        if (get_str(v, s, ISSUE_ID, &is->issue_id, errstr, errstr_size) ||
            get_str(v, s, ISSUE_TENANT_ID, &is->tenant_id, errstr,
                    errstr_size) ||
            get_str(v, s, ISSUE_KIND, &is->kind, errstr, errstr_size) ||
            get_str(v, s, ISSUE_STATE, &is->state, errstr, errstr_size) ||
            get_str(v, s, ISSUE_SEVERITY, &is->severity, errstr, errstr_size) ||
            get_str(v, s, ISSUE_TITLE, &is->title, errstr, errstr_size) ||
            get_str(v, s, ISSUE_SOURCE, &is->source, errstr, errstr_size) ||
            get_opt_str(v, s, ISSUE_ROUTE, &is->route, errstr, errstr_size) ||
            get_opt_str(v, s, ISSUE_SEGMENT_TYPE, &is->segment_type, errstr,
                        errstr_size) ||
            get_opt_str(v, s, ISSUE_SEGMENT_VALUE, &is->segment_value, errstr,
                        errstr_size) ||
            get_opt_str(v, s, ISSUE_METRIC, &is->metric, errstr, errstr_size) ||
            get_opt_double(v, s, ISSUE_OBSERVED, &is->observed, errstr,
                           errstr_size) ||
            get_opt_double(v, s, ISSUE_BASELINE, &is->baseline, errstr,
                           errstr_size) ||
            get_opt_double(v, s, ISSUE_THRESHOLD, &is->threshold, errstr,
                           errstr_size) ||
            get_opt_long(v, s, ISSUE_SAMPLE_SIZE, &is->sample_size, errstr,
                         errstr_size) ||
            get_long(v, s, ISSUE_OPENED_AT, &is->opened_at_ms, errstr,
                     errstr_size) ||
            get_long(v, s, ISSUE_UPDATED_AT, &is->updated_at_ms, errstr,
                     errstr_size) ||
            get_opt_long(v, s, ISSUE_RESOLVED_AT, &is->resolved_at_ms, errstr,
                         errstr_size) ||
            get_long(v, s, ISSUE_VERSION, &is->version, errstr, errstr_size) ||
            get_field(v, s, ISSUE_EVIDENCE, &map, errstr, errstr_size) ||
            read_evidence(&map, is, errstr, errstr_size))
                return -1;
        return 0;
}

int rs_issue_write(avro_value_t *v, const rs_issue_t *is) {
        avro_value_t map, val;
        size_t       i;

        if (is->evidence_cnt > RS_EVENT_MAX_EVIDENCE)
                return -1;
        if (set_str(v, ISSUE_ID, is->issue_id) ||
            set_str(v, ISSUE_TENANT_ID, is->tenant_id) ||
            set_str(v, ISSUE_KIND, is->kind) ||
            set_str(v, ISSUE_STATE, is->state) ||
            set_str(v, ISSUE_SEVERITY, is->severity) ||
            set_str(v, ISSUE_TITLE, is->title) ||
            set_str(v, ISSUE_SOURCE, is->source) ||
            set_opt_str(v, ISSUE_ROUTE, is->route) ||
            set_opt_str(v, ISSUE_SEGMENT_TYPE, is->segment_type) ||
            set_opt_str(v, ISSUE_SEGMENT_VALUE, is->segment_value) ||
            set_opt_str(v, ISSUE_METRIC, is->metric) ||
            set_opt_double(v, ISSUE_OBSERVED, is->observed) ||
            set_opt_double(v, ISSUE_BASELINE, is->baseline) ||
            set_opt_double(v, ISSUE_THRESHOLD, is->threshold) ||
            set_opt_long(v, ISSUE_SAMPLE_SIZE, is->sample_size) ||
            set_long(v, ISSUE_OPENED_AT, is->opened_at_ms) ||
            set_long(v, ISSUE_UPDATED_AT, is->updated_at_ms) ||
            set_opt_long(v, ISSUE_RESOLVED_AT, is->resolved_at_ms) ||
            set_long(v, ISSUE_VERSION, is->version) ||
            avro_value_get_by_index(v, ISSUE_EVIDENCE, &map, NULL) ||
            /* the map may hold entries from an earlier write */
            avro_value_reset(&map))
                return -1;
        for (i = 0; i < is->evidence_cnt; i++) {
                const rs_evidence_t *e = &is->evidence[i];

                if (!e->key || !e->value ||
                    avro_value_add(&map, e->key, &val, NULL, NULL) ||
                    avro_value_set_string(&val, e->value))
                        return -1;
        }
        return 0;
}

int rs_alert_read(avro_value_t *v, rs_alert_t *al, char *errstr,
                  size_t errstr_size) {
        const struct field_spec *s = alert_fields;
        avro_value_t             arr, item;
        size_t                   i, cnt;

        al->issue_id_cnt      = 0;
        al->issue_ids_dropped = 0;
        if (get_str(v, s, ALERT_ID, &al->alert_id, errstr, errstr_size) ||
            get_str(v, s, ALERT_ISSUE_ID, &al->issue_id, errstr, errstr_size) ||
            get_str(v, s, ALERT_TENANT_ID, &al->tenant_id, errstr,
                    errstr_size) ||
            get_str(v, s, ALERT_CHANNEL, &al->channel, errstr, errstr_size) ||
            get_str(v, s, ALERT_KIND, &al->kind, errstr, errstr_size) ||
            get_str(v, s, ALERT_SEVERITY, &al->severity, errstr, errstr_size) ||
            get_str(v, s, ALERT_TITLE, &al->title, errstr, errstr_size) ||
            get_str(v, s, ALERT_SUMMARY, &al->summary, errstr, errstr_size) ||
            get_str(v, s, ALERT_GROUP_KEY, &al->group_key, errstr,
                    errstr_size) ||
            get_long(v, s, ALERT_CREATED_AT, &al->created_at_ms, errstr,
                     errstr_size) ||
            get_field(v, s, ALERT_ISSUE_IDS, &arr, errstr, errstr_size))
                return -1;
        if (avro_value_get_size(&arr, &cnt))
                return fail(&s[ALERT_ISSUE_IDS], "not an array", errstr,
                            errstr_size);
        for (i = 0; i < cnt; i++) {
                if (al->issue_id_cnt == RS_EVENT_MAX_ALERT_ISSUES) {
                        al->issue_ids_dropped = cnt - i;
                        break;
                }
                if (avro_value_get_by_index(&arr, i, &item, NULL) ||
                    avro_value_get_string(
                        &item, &al->issue_ids[al->issue_id_cnt], NULL))
                        return fail(&s[ALERT_ISSUE_IDS],
                                    "not an array of string", errstr,
                                    errstr_size);
                al->issue_id_cnt++;
        }
        return 0;
}

int rs_alert_write(avro_value_t *v, const rs_alert_t *al) {
        avro_value_t arr, item;
        size_t       i;

        if (al->issue_id_cnt > RS_EVENT_MAX_ALERT_ISSUES)
                return -1;
        if (set_str(v, ALERT_ID, al->alert_id) ||
            set_str(v, ALERT_ISSUE_ID, al->issue_id) ||
            set_str(v, ALERT_TENANT_ID, al->tenant_id) ||
            set_str(v, ALERT_CHANNEL, al->channel) ||
            set_str(v, ALERT_KIND, al->kind) ||
            set_str(v, ALERT_SEVERITY, al->severity) ||
            set_str(v, ALERT_TITLE, al->title) ||
            set_str(v, ALERT_SUMMARY, al->summary) ||
            set_str(v, ALERT_GROUP_KEY, al->group_key) ||
            set_long(v, ALERT_CREATED_AT, al->created_at_ms) ||
            avro_value_get_by_index(v, ALERT_ISSUE_IDS, &arr, NULL) ||
            /* the array may hold items from an earlier write */
            avro_value_reset(&arr))
                return -1;
        for (i = 0; i < al->issue_id_cnt; i++)
                if (!al->issue_ids[i] || avro_value_append(&arr, &item, NULL) ||
                    avro_value_set_string(&item, al->issue_ids[i]))
                        return -1;
        return 0;
}

int rs_error_aggregate_read(avro_value_t *v, rs_error_aggregate_t *agg,
                            char *errstr, size_t errstr_size) {
        const struct field_spec *s = eagg_fields;

        if (get_str(v, s, EAGG_AGGREGATE_ID, &agg->aggregate_id, errstr,
                    errstr_size) ||
            get_str(v, s, EAGG_TENANT_ID, &agg->tenant_id, errstr,
                    errstr_size) ||
            get_str(v, s, EAGG_GROUP_ID, &agg->group_id, errstr, errstr_size) ||
            get_str(v, s, EAGG_ROUTE, &agg->route, errstr, errstr_size) ||
            get_long(v, s, EAGG_WINDOW_START, &agg->window_start_ms, errstr,
                     errstr_size) ||
            get_long(v, s, EAGG_WINDOW_END, &agg->window_end_ms, errstr,
                     errstr_size) ||
            get_long(v, s, EAGG_ERRORS, &agg->errors, errstr, errstr_size) ||
            get_double(v, s, EAGG_WEIGHTED_ERRORS, &agg->weighted_errors,
                       errstr, errstr_size) ||
            get_long(v, s, EAGG_SESSIONS, &agg->sessions, errstr,
                     errstr_size) ||
            get_bool(v, s, EAGG_SESSIONS_ESTIMATED, &agg->sessions_estimated,
                     errstr, errstr_size) ||
            get_opt_double(v, s, EAGG_PAGE_VIEWS, &agg->page_views, errstr,
                           errstr_size) ||
            get_opt_double(v, s, EAGG_ERROR_RATE, &agg->error_rate, errstr,
                           errstr_size) ||
            get_str(v, s, EAGG_CATEGORY, &agg->category, errstr, errstr_size) ||
            get_str(v, s, EAGG_SEVERITY, &agg->severity, errstr, errstr_size))
                return -1;
        return 0;
}

int rs_error_aggregate_write(avro_value_t *v, const rs_error_aggregate_t *agg) {
        if (set_str(v, EAGG_AGGREGATE_ID, agg->aggregate_id) ||
            set_str(v, EAGG_TENANT_ID, agg->tenant_id) ||
            set_str(v, EAGG_GROUP_ID, agg->group_id) ||
            set_str(v, EAGG_ROUTE, agg->route) ||
            set_long(v, EAGG_WINDOW_START, agg->window_start_ms) ||
            set_long(v, EAGG_WINDOW_END, agg->window_end_ms) ||
            set_long(v, EAGG_ERRORS, agg->errors) ||
            set_double(v, EAGG_WEIGHTED_ERRORS, agg->weighted_errors) ||
            set_long(v, EAGG_SESSIONS, agg->sessions) ||
            set_bool(v, EAGG_SESSIONS_ESTIMATED, agg->sessions_estimated) ||
            set_opt_double(v, EAGG_PAGE_VIEWS, agg->page_views) ||
            set_opt_double(v, EAGG_ERROR_RATE, agg->error_rate) ||
            set_str(v, EAGG_CATEGORY, agg->category) ||
            set_str(v, EAGG_SEVERITY, agg->severity))
                return -1;
        return 0;
}

const char *rs_event_check_tenant(const char *tenant_id, char *detail,
                                  size_t size) {
        size_t n = 0;

        for (; tenant_id[n]; n++) {
                char c = tenant_id[n];
                if (n == RS_EVENT_MAX_TENANT_LEN ||
                    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      c == '.' || c == ':'))
                        break;
        }
        if (n > 0 && !tenant_id[n])
                return NULL;
        snprintf(detail, size,
                 "tenant_id must be 1-%d characters of [A-Za-z0-9._:-]",
                 RS_EVENT_MAX_TENANT_LEN);
        return "invalid_tenant";
}

const char *rs_event_check_time_rate(int64_t ts_ms, int64_t msg_ts,
                                     int64_t max_skew_ms, double sample_rate,
                                     char *detail, size_t size) {
        if (ts_ms < RS_EVENT_MIN_TIME_MS) {
                snprintf(detail, size, "timestamp %" PRId64 " is before 2000",
                         ts_ms);
                return "invalid_timestamp";
        }
        /* The Kafka timestamp was set by the collector that received the
         * beacon: an event far ahead of it comes from a wrong client clock
         * and would drag the watermark into the future. */
        if (msg_ts > 0 && ts_ms > msg_ts + max_skew_ms) {
                snprintf(detail, size,
                         "event time is %" PRId64 " ms ahead of the message "
                         "time (limit %" PRId64 ")",
                         ts_ms - msg_ts, max_skew_ms);
                return "clock_skew";
        }
        if (!(sample_rate > 0.0 && sample_rate <= 1.0)) {
                snprintf(detail, size, "sample_rate %g is not in (0, 1]",
                         sample_rate);
                return "invalid_sample_rate";
        }
        return NULL;
}

/*
 * RumEvent, read straight from the bytes of the built-in writer schema.
 */
struct rs_rum_event_decoder_s {
        rs_avro_decoder_t *generic;
        int                direct; /* id RS_SCHEMA_ID_RUM_EVENT is ours */
        char              *arena;  /* the strings of one event, NUL-ended */
        size_t             arena_size;
        uint64_t           n_direct, n_generic;
};

/* A cursor over one message body; any problem makes the direct reader
 * give up (ok = 0) and the generic path decide. */
struct dr {
        const unsigned char *p, *end;
        char                *out; /* next free byte of the arena */
        int                  ok;
};

static int64_t dr_long(struct dr *r) {
        uint64_t v     = 0;
        unsigned shift = 0;

        for (;;) {
                unsigned b;

                if (r->p >= r->end || (shift == 63 && *r->p > 1)) {
                        r->ok = 0;
                        return 0;
                }
                b = *r->p++;
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80))
                        break;
                shift += 7;
        }
        return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Avro's doubles are IEEE 754 little endian: on a little-endian host,
 * its bytes as they are (one load, not eight). */
static double dr_double(struct dr *r) {
        double d;

        if (r->end - r->p < 8) {
                r->ok = 0;
                return NAN;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&d, r->p, sizeof(d));
#else
        {
                uint64_t u = 0;
                int      i;

                for (i = 7; i >= 0; i--)
                        u = (u << 8) | r->p[i];
                memcpy(&d, &u, sizeof(d));
        }
#endif
        r->p += 8;
        return d;
}

static const char *dr_str(struct dr *r) {
        int64_t len = dr_long(r);
        char   *s;

        if (!r->ok || len < 0 || (uint64_t)len > (uint64_t)(r->end - r->p) ||
            !rs_avro_utf8_valid(r->p, (size_t)len)) {
                r->ok = 0;
                return NULL;
        }
        s = r->out;
        memcpy(s, r->p, (size_t)len);
        s[len] = '\0';
        r->out += len + 1;
        r->p += len;
        return s;
}

/* The branch of a ["null", T] union: 0 null, 1 a value. */
static int dr_present(struct dr *r) {
        int64_t b = dr_long(r);

        if (b != 0 && b != 1)
                r->ok = 0;
        return r->ok && b == 1;
}

static int dr_custom(struct dr *r, rs_rum_event_t *ev) {
        int64_t cnt, size, i;
        size_t  k;

        for (;;) {
                cnt = dr_long(r);
                if (!r->ok)
                        return -1;
                if (cnt == 0)
                        return 0;
                if (cnt < 0) {
                        if (cnt == INT64_MIN)
                                return -1;
                        cnt  = -cnt;
                        size = dr_long(r);
                        (void)size;
                }
                /* Beyond the cap the generic reader counts the distinct
                 * names dropped; it decides. */
                if (cnt >
                    (int64_t)(RS_EVENT_MAX_CUSTOM_TIMINGS - ev->custom_cnt))
                        return -1;
                for (i = 0; i < cnt; i++) {
                        rs_custom_timing_t *ct = &ev->custom[ev->custom_cnt];
                        ct->name               = dr_str(r);
                        ct->value              = dr_double(r);
                        if (!r->ok)
                                return -1;
                        /* A repeated name is one entry of the map there. */
                        for (k = 0; k < ev->custom_cnt; k++)
                                if (!strcmp(ev->custom[k].name, ct->name))
                                        return -1;
                        ev->custom_cnt++;
                }
        }
}

static int read_direct(rs_rum_event_decoder_t *d, const unsigned char *p,
                       const unsigned char *end, rs_rum_event_t *ev) {
        struct dr r = {p, end, d->arena, 1};
        size_t    i;

        for (i = 0; i < RS_METRIC_CNT; i++)
                ev->metrics[i] = NAN;
        ev->custom_cnt      = 0;
        ev->custom_dropped  = 0;
        ev->event_id        = dr_str(&r);
        ev->tenant_id       = dr_str(&r);
        ev->session_id      = dr_str(&r);
        ev->user_id         = dr_present(&r) ? dr_str(&r) : NULL;
        ev->timestamp_ms    = dr_long(&r);
        ev->url             = dr_str(&r);
        ev->navigation_type = dr_str(&r);
        ev->device_type     = dr_str(&r);
        ev->country         = dr_str(&r);
        ev->connection_type = dr_str(&r);
        ev->browser         = dr_str(&r);
        if (r.p >= r.end || *r.p > 1)
                return -1;
        ev->consent     = *r.p++;
        ev->sample_rate = dr_double(&r);
        for (i = 0; i < VITAL_FIELD_CNT; i++)
                if (dr_present(&r))
                        ev->metrics[vital_fields[i].metric] = dr_double(&r);
        if (dr_present(&r))
                for (i = 0; i < NAV__CNT; i++)
                        ev->metrics[nav_metrics[i]] = dr_double(&r);
        if (dr_present(&r) && dr_custom(&r, ev) == -1)
                return -1;
        return r.ok && r.p == r.end ? 0 : -1;
}

rs_rum_event_decoder_t *rs_rum_event_decoder_new(rs_avro_registry_t *reg,
                                                 char               *errstr,
                                                 size_t errstr_size) {
        rs_rum_event_decoder_t *d = calloc(1, sizeof(*d));
        const char             *mine, *builtin;

        if (!d) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (!(d->generic = rs_avro_decoder_new(reg, RS_SCHEMA_ID_RUM_EVENT,
                                               errstr, errstr_size))) {
                free(d);
                return NULL;
        }
        /* Direct only for the very schema whose field order
         * rs_event_check_schemas() verifies. */
        mine      = rs_avro_registry_json(reg, RS_SCHEMA_ID_RUM_EVENT);
        builtin   = rs_avro_builtin_json("rum_event");
        d->direct = mine && builtin && !strcmp(mine, builtin) &&
                    rs_event_check_schemas(errstr, errstr_size) == 0;
        return d;
}

void rs_rum_event_decoder_destroy(rs_rum_event_decoder_t *d) {
        if (!d)
                return;
        rs_avro_decoder_destroy(d->generic);
        free(d->arena);
        free(d);
}

int rs_rum_event_decode(rs_rum_event_decoder_t *d, const void *buf, size_t len,
                        rs_rum_event_t *ev, char *errstr, size_t errstr_size) {
        const unsigned char *p = buf;
        avro_value_t        *val;
        int                  rc;

        if (d->direct && len > RS_AVRO_HEADER_SIZE && p[0] == 0 && !p[1] &&
            !p[2] && !p[3] && p[4] == RS_SCHEMA_ID_RUM_EVENT) {
                /* Each string takes its bytes and a NUL, at least one
                 * byte of length each: twice the body always holds them. */
                if (d->arena_size < 2 * len) {
                        char *n = realloc(d->arena, 2 * len);
                        if (n) {
                                d->arena      = n;
                                d->arena_size = 2 * len;
                        }
                }
                if (d->arena_size >= 2 * len &&
                    read_direct(d, p + RS_AVRO_HEADER_SIZE, p + len, ev) == 0) {
                        d->n_direct++;
                        return 0;
                }
        }
        d->n_generic++;
        rc = rs_avro_decoder_decode(d->generic, buf, len, &val, errstr,
                                    errstr_size);
        if (rc)
                return rc;
        if (rs_rum_event_read(val, ev, errstr, errstr_size) == -1)
                return RS_EVENT_ERR_INVALID;
        return 0;
}

void rs_rum_event_decoder_counts(const rs_rum_event_decoder_t *d,
                                 uint64_t *direct, uint64_t *generic) {
        *direct  = d->n_direct;
        *generic = d->n_generic;
}
